//! IAM with the credentials of any profile, mfad's or not (static keys, credential_process,
//! a role, SSO), resolved the way the AWS SDKs resolve them: what `mfad audit` and
//! `mfad policy` act with.

use crate::config::{self, CallerEnv};
use crate::failure::Failure;
use crate::iam::Iam;
use crate::messages;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_credential_types::provider::ProvideCredentials;

/// IAM signed with the credentials of `profile`, else of the SDKs' default chain
/// (environment, `AWS_PROFILE`, the default profile); returns the profile's name too.
pub async fn iam(profile: Option<&str>) -> Result<(Iam, String), Failure> {
    let env: CallerEnv = std::env::vars().collect();
    let name = profile
        .map(str::to_owned)
        .or_else(|| env.get("AWS_PROFILE").cloned())
        .unwrap_or_else(|| "default".to_owned());
    let (endpoint, network) = config::iam_service(&name, &env)?;
    let credentials = match profile {
        Some(profile) => {
            ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build()
                .provide_credentials()
                .await
        }
        None => {
            DefaultCredentialsChain::builder()
                .build()
                .await
                .provide_credentials()
                .await
        }
    }
    .map_err(|e| messages::no_credentials(&name, crate::failure::in_words(&e)))?;
    Ok((Iam::new(&endpoint, &network, credentials).await?, name))
}
