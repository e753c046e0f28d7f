//! `mfad policy [--apply --group NAME | --user NAME]`: print the enforce-MFA policy, or
//! create or update it as a customer managed policy and attach it.

use super::any_profile;
use crate::failure::Failure;
use crate::iam::Iam;
use crate::iam::enforce::{self, POLICY_NAME};

/// IAM keeps at most five versions of a managed policy.
const MAX_VERSIONS: usize = 5;

/// Whom `--apply` attaches the policy to.
pub enum Target {
    Group(String),
    User(String),
}

pub fn run(apply: Option<Target>, profile: Option<&str>) -> Result<(), Failure> {
    let Some(target) = apply else {
        println!("{}", enforce::document());
        return Ok(());
    };
    super::runtime()?.block_on(async {
        let (iam, _) = any_profile::iam(profile).await?;
        let arn = write_policy(&iam).await?;
        match &target {
            Target::Group(group) => iam.attach_to_group(group, &arn).await?,
            Target::User(user) => iam.attach_to_user(user, &arn).await?,
        }
        let whom = match &target {
            Target::Group(group) => format!("group {group}: its members"),
            Target::User(user) => format!("user {user}, who"),
        };
        println!(
            "attached {arn} to {whom} can now do nothing without MFA but set up a device (`mfad mfa enroll PROFILE`), change a password and get an MFA session"
        );
        Ok(())
    })
}

/// Create the policy, or make the current document its default version (pruning the
/// oldest version past five); returns its ARN.
async fn write_policy(iam: &Iam) -> Result<String, Failure> {
    let document = enforce::document();
    let Some(arn) = iam.local_policy_arn(POLICY_NAME).await? else {
        let arn = iam
            .create_policy(
                POLICY_NAME,
                &document,
                "Deny everything but MFA self-service without MFA (written by mfad policy)",
            )
            .await?;
        println!("created the policy {arn}");
        return Ok(arn);
    };
    let current = iam.policy_document(&arn).await?;
    if current.as_deref().map(parse) == Some(parse(&document)) {
        println!("the policy {arn} is up to date");
        return Ok(arn);
    }
    let versions = iam.policy_versions(&arn).await?;
    if versions.len() >= MAX_VERSIONS
        && let Some(oldest) = versions
            .iter()
            .filter(|v| !v.default)
            .min_by(|a, b| a.created.cmp(&b.created))
    {
        iam.delete_policy_version(&arn, &oldest.id).await?;
        println!("deleted its oldest version {} (IAM keeps five)", oldest.id);
    }
    iam.create_default_version(&arn, &document).await?;
    println!("updated the policy {arn}: a new default version");
    Ok(arn)
}

fn parse(document: &str) -> serde_json::Value {
    serde_json::from_str(document).unwrap_or(serde_json::Value::Null)
}
