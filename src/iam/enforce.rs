//! The enforce-MFA policy: the document `mfad policy` writes, and how `mfad audit` and
//! `mfad mfa remove` tell whether such a policy applies to a user.
//!
//! The document follows AWS's own example ("allows MFA-authenticated IAM users to manage
//! their own MFA device"): a user without MFA may set up a device, change a password and
//! get a session token; everything else is denied unless `aws:MultiFactorAuthPresent`,
//! with `BoolIfExists` so that requests signed with a long-term key (where the key is
//! absent) are denied too.

use crate::iam::{Iam, IamError};
use std::collections::HashMap;
use tokio::sync::Mutex;

/// The customer managed policy's name.
pub const POLICY_NAME: &str = "mfad-enforce-mfa";

/// The actions a user without MFA keeps: enough to enrol a device and sign in.
const SELF_SERVICE: [&str; 12] = [
    "iam:ChangePassword",
    "iam:CreateVirtualMFADevice",
    "iam:DeleteVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetAccountPasswordPolicy",
    "iam:GetMFADevice",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "sts:GetCallerIdentity",
    "sts:GetSessionToken",
];

/// The enforce-MFA policy document, pretty-printed JSON.
pub fn document() -> String {
    let own_user = "arn:aws:iam::*:user/${aws:username}";
    let own_device = "arn:aws:iam::*:mfa/*";
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowViewAccountInfo",
                "Effect": "Allow",
                "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
                "Resource": "*"
            },
            {
                "Sid": "AllowManageOwnPasswordAndUser",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword", "iam:GetUser"],
                "Resource": own_user
            },
            {
                "Sid": "AllowManageOwnVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
                "Resource": own_device
            },
            {
                "Sid": "AllowManageOwnUserMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:DeactivateMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetMFADevice",
                    "iam:ListMFADevices",
                    "iam:ResyncMFADevice"
                ],
                "Resource": own_user
            },
            {
                "Sid": "DenyAllExceptListedIfNoMFA",
                "Effect": "Deny",
                "NotAction": SELF_SERVICE,
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
            }
        ]
    });
    serde_json::to_string_pretty(&policy).expect("a literal serializes")
}

/// Whether a policy document denies requests made without MFA: a Deny statement
/// conditioned on `aws:MultiFactorAuthPresent` being false (`Bool` or `BoolIfExists`).
pub fn denies_without_mfa(document: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(document) else {
        return false;
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    statements.iter().any(|statement| {
        statement["Effect"] == "Deny"
            && ["Bool", "BoolIfExists"].iter().any(|operator| {
                statement["Condition"][operator]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(key, value)| {
                        key.eq_ignore_ascii_case("aws:MultiFactorAuthPresent") && is_false(value)
                    })
            })
    })
}

fn is_false(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.eq_ignore_ascii_case("false"),
        serde_json::Value::Bool(flag) => !flag,
        serde_json::Value::Array(values) => values.iter().any(is_false),
        _ => false,
    }
}

/// Finds the deny-without-MFA policy that applies to a user, reading each group's
/// attachments and each policy's document once however many users share them.
#[derive(Default)]
pub struct Enforcement {
    group_policies: Mutex<HashMap<String, Vec<String>>>,
    denies: Mutex<HashMap<String, bool>>,
}

impl Enforcement {
    /// How the policy reaches the user ("arn" or "arn through group G"), or `None`.
    pub async fn applying_to(&self, iam: &Iam, user: &str) -> Result<Option<String>, IamError> {
        for arn in iam.user_policies(user).await? {
            if self.denies(iam, &arn).await? {
                return Ok(Some(arn));
            }
        }
        for group in iam.groups_of(user).await? {
            for arn in self.policies_of_group(iam, &group).await? {
                if self.denies(iam, &arn).await? {
                    return Ok(Some(format!("{arn} through group {group}")));
                }
            }
        }
        Ok(None)
    }

    async fn policies_of_group(&self, iam: &Iam, group: &str) -> Result<Vec<String>, IamError> {
        if let Some(known) = self.group_policies.lock().await.get(group) {
            return Ok(known.clone());
        }
        let arns = iam.group_policies(group).await?;
        self.group_policies
            .lock()
            .await
            .insert(group.to_owned(), arns.clone());
        Ok(arns)
    }

    async fn denies(&self, iam: &Iam, arn: &str) -> Result<bool, IamError> {
        if let Some(known) = self.denies.lock().await.get(arn) {
            return Ok(*known);
        }
        let denies = iam
            .policy_document(arn)
            .await?
            .is_some_and(|document| denies_without_mfa(&document));
        self.denies.lock().await.insert(arn.to_owned(), denies);
        Ok(denies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_own_document_denies_without_mfa() {
        let document = document();
        assert!(denies_without_mfa(&document));
        assert!(document.contains("\"BoolIfExists\""));
        assert!(document.contains("${aws:username}"));
    }

    #[test]
    fn other_documents_are_told_apart() {
        let bool_deny = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*",
            "Condition":{"Bool":{"aws:MultiFactorAuthPresent":false}}}}"#;
        assert!(denies_without_mfa(bool_deny));
        let allow_with_mfa = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
        assert!(!denies_without_mfa(allow_with_mfa));
        let other_deny = r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*",
            "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert!(!denies_without_mfa(other_deny));
        assert!(!denies_without_mfa("not json"));
    }
}
