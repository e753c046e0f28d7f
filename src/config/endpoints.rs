//! Where a profile's calls go and how: region and endpoint with the precedence of the AWS
//! SDKs (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the `services` section,
//! `endpoint_url`), and the caller's proxy and CA bundle.

use super::files::{AwsFiles, Setting};
use super::plan::{DEFAULT_REGION, StsEndpoint};
use crate::network::Network;
use crate::vocab::CallerEnv;
use std::collections::BTreeMap;

pub(super) fn sts_endpoint(files: &AwsFiles, profile: &str, env: &CallerEnv) -> StsEndpoint {
    service_endpoint(files, profile, env, "sts")
}

/// Where a profile's calls to `service` go: `AWS_ENDPOINT_URL_<SERVICE>`, then
/// `AWS_ENDPOINT_URL`, the profile's `services` section, its `endpoint_url`.
pub(super) fn service_endpoint(
    files: &AwsFiles,
    profile: &str,
    env: &CallerEnv,
    service: &str,
) -> StsEndpoint {
    let settings = files.profile(profile).unwrap_or_default();
    let setting = |key: &str| settings.get(key).map(|s| s.value.clone());
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let region = region(&settings, env).unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let truthy = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ignore_configured = truthy(var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
        || truthy(setting("ignore_configured_endpoint_urls"));
    let url = if ignore_configured {
        None
    } else {
        var(&format!(
            "AWS_ENDPOINT_URL_{}",
            service.to_ascii_uppercase()
        ))
        .or_else(|| var("AWS_ENDPOINT_URL"))
        .or_else(|| {
            setting("services").and_then(|services| {
                files.services_setting(&services, &format!("{service}.endpoint_url"))
            })
        })
        .or_else(|| setting("endpoint_url"))
    };
    StsEndpoint { region, url }
}

/// The region of a profile's calls: the caller's `AWS_REGION`, `AWS_DEFAULT_REGION`, then
/// the profile's `region`, as in the SDKs.
pub(super) fn region(settings: &BTreeMap<String, Setting>, env: &CallerEnv) -> Option<String> {
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| settings.get("region").map(|s| s.value.clone()))
}

/// The proxy and CA bundle for a profile's STS (or IAM) calls.
pub(super) fn sts_network(
    files: &AwsFiles,
    profile: &str,
    env: &CallerEnv,
    sts: &StsEndpoint,
) -> Network {
    let https = !sts
        .url
        .as_deref()
        .is_some_and(|url| url.to_ascii_lowercase().starts_with("http://"));
    network(&files.profile(profile).unwrap_or_default(), env, https)
}

/// The proxy (for the scheme) and the CA bundle, `AWS_CA_BUNDLE` before `ca_bundle`.
pub(super) fn network(
    settings: &BTreeMap<String, Setting>,
    env: &CallerEnv,
    https: bool,
) -> Network {
    let ca_bundle = settings
        .get("ca_bundle")
        .map(|s| crate::paths::expand_home(env, &s.value));
    Network::resolve(env, ca_bundle, https)
}

#[cfg(test)]
mod tests {
    use crate::config::testing::*;

    #[test]
    fn endpoint_and_region_follow_sdk_precedence() {
        let config = format!(
            "[profile dev]\nmfa_serial = {SERIAL}\nregion = eu-west-1\nendpoint_url = http://profile\nservices = local\n[services local]\nsts =\n  endpoint_url = http://services\n"
        );
        let files = Files::new(&config, "");
        let resolve =
            |extra: &[(&str, &str)]| resolve_session("dev", &files.env(extra)).unwrap().sts;
        assert_eq!(resolve(&[]).url.as_deref(), Some("http://services"));
        assert_eq!(resolve(&[]).region, "eu-west-1");
        let env_url = resolve(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_REGION", "ap-south-1"),
        ]);
        assert_eq!(env_url.url.as_deref(), Some("http://all"));
        assert_eq!(env_url.region, "ap-south-1");
        let sts_url = resolve(&[
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_STS", "http://sts"),
        ]);
        assert_eq!(sts_url.url.as_deref(), Some("http://sts"));
        assert_eq!(
            resolve(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]).url,
            None
        );
        assert_eq!(
            resolve(&[("AWS_DEFAULT_REGION", "us-west-2")]).region,
            "us-west-2"
        );
    }
}
