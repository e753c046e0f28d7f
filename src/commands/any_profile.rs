//! IAM with the credentials of any profile, mfad's or not (static keys, credential_process,
//! a role, SSO), resolved the way the AWS SDKs resolve them: what `mfad audit` and
//! `mfad policy` act with.

use crate::config::{self, CallerEnv};
use crate::failure::Failure;
use crate::iam::Iam;
use crate::messages;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError};
use std::future::Future;
use std::time::Duration;

/// How long a profile's credentials may take: a credential_process may ask a person for
/// an MFA code (mfad's own asks for at most its prompt timeout, 2 min by default).
const CREDENTIALS_WAIT: Duration = Duration::from_secs(150);

/// IAM signed with the credentials of `profile`, else of the SDKs' default chain
/// (environment, `AWS_PROFILE`, the default profile); returns the profile's name too.
pub async fn iam(profile: Option<&str>) -> Result<(Iam, String), Failure> {
    let env: CallerEnv = std::env::vars().collect();
    let name = profile
        .map(str::to_owned)
        .or_else(|| env.get("AWS_PROFILE").cloned())
        .unwrap_or_else(|| "default".to_owned());
    let (endpoint, network) = config::iam_service(&name, &env)?;
    let provided = async {
        match profile {
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
    };
    let credentials = within(CREDENTIALS_WAIT, &name, provided).await?;
    Ok((Iam::new(&endpoint, &network, credentials).await?, name))
}

/// The credentials a provider gives, or a clear error when it fails or takes longer than
/// `bound` (a credential_process that hangs must not hang the command).
async fn within(
    bound: Duration,
    profile: &str,
    provided: impl Future<Output = Result<Credentials, CredentialsError>>,
) -> Result<Credentials, Failure> {
    match tokio::time::timeout(bound, provided).await {
        Ok(Ok(credentials)) => Ok(credentials),
        Ok(Err(error)) => Err(messages::no_credentials(
            profile,
            crate::failure::in_words(&error),
        )),
        Err(_) => Err(messages::no_credentials(
            profile,
            format!("no answer within {}s", bound.as_secs()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_provider_that_never_answers_is_given_up() {
        let never = std::future::pending();
        let given_up = tokio::time::timeout(
            2 * CREDENTIALS_WAIT,
            within(CREDENTIALS_WAIT, "hung", never),
        )
        .await
        .expect("within gives up by itself");
        let failure = given_up.unwrap_err();
        assert!(
            failure
                .message
                .contains("no credentials for profile hung (no answer within 150s)"),
            "{failure}"
        );
    }
}
