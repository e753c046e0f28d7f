//! Customer managed policies and their attachments: what `mfad policy --apply` writes
//! and what `mfad audit` reads to tell whether a deny-without-MFA policy applies.

use super::{Iam, IamError, empty, rfc3339};

/// A version of a managed policy.
#[derive(Debug, Clone)]
pub struct PolicyVersionInfo {
    pub id: String,
    pub default: bool,
    /// RFC 3339.
    pub created: String,
}

impl Iam {
    /// The document of a managed policy's default version; `None` if there is no such
    /// policy.
    pub async fn policy_document(&self, arn: &str) -> Result<Option<String>, IamError> {
        let policy = match self.client.get_policy().policy_arn(arn).send().await {
            Ok(output) => output.policy.ok_or_else(|| empty("GetPolicy", "policy"))?,
            Err(e) => match self.classify("GetPolicy", e) {
                IamError::Refused { code, .. } if code == "NoSuchEntity" => return Ok(None),
                other => return Err(other),
            },
        };
        let version = policy
            .default_version_id
            .ok_or_else(|| empty("GetPolicy", "default version"))?;
        let output = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| self.classify("GetPolicyVersion", e))?;
        let document = output
            .policy_version
            .and_then(|v| v.document)
            .ok_or_else(|| empty("GetPolicyVersion", "document"))?;
        // IAM hands documents out URL-encoded (RFC 3986).
        Ok(Some(
            percent_encoding::percent_decode_str(&document)
                .decode_utf8_lossy()
                .into_owned(),
        ))
    }

    /// Create a customer managed policy; returns its ARN.
    pub async fn create_policy(
        &self,
        name: &str,
        document: &str,
        description: &str,
    ) -> Result<String, IamError> {
        let output = self
            .client
            .create_policy()
            .policy_name(name)
            .policy_document(document)
            .description(description)
            .send()
            .await
            .map_err(|e| self.classify("CreatePolicy", e))?;
        output
            .policy
            .and_then(|p| p.arn)
            .ok_or_else(|| empty("CreatePolicy", "policy"))
    }

    pub async fn policy_versions(&self, arn: &str) -> Result<Vec<PolicyVersionInfo>, IamError> {
        let output = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| self.classify("ListPolicyVersions", e))?;
        Ok(output
            .versions
            .unwrap_or_default()
            .into_iter()
            .map(|v| PolicyVersionInfo {
                id: v.version_id.unwrap_or_default(),
                default: v.is_default_version,
                created: rfc3339(v.create_date.as_ref()),
            })
            .collect())
    }

    pub async fn delete_policy_version(&self, arn: &str, id: &str) -> Result<(), IamError> {
        self.client
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(id)
            .send()
            .await
            .map_err(|e| self.classify("DeletePolicyVersion", e))?;
        Ok(())
    }

    /// A new version of the policy, made its default.
    pub async fn create_default_version(&self, arn: &str, document: &str) -> Result<(), IamError> {
        self.client
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
            .map_err(|e| self.classify("CreatePolicyVersion", e))?;
        Ok(())
    }

    pub async fn attach_to_group(&self, group: &str, arn: &str) -> Result<(), IamError> {
        self.client
            .attach_group_policy()
            .group_name(group)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| self.classify("AttachGroupPolicy", e))?;
        Ok(())
    }

    pub async fn attach_to_user(&self, user: &str, arn: &str) -> Result<(), IamError> {
        self.client
            .attach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| self.classify("AttachUserPolicy", e))?;
        Ok(())
    }

    /// The ARNs of the managed policies attached to a user directly.
    pub async fn user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        let output = self
            .client
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(|e| self.classify("ListAttachedUserPolicies", e))?;
        Ok(arns(output.attached_policies))
    }

    pub async fn groups_of(&self, user: &str) -> Result<Vec<String>, IamError> {
        let output = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| self.classify("ListGroupsForUser", e))?;
        Ok(output.groups.into_iter().map(|g| g.group_name).collect())
    }

    pub async fn group_policies(&self, group: &str) -> Result<Vec<String>, IamError> {
        let output = self
            .client
            .list_attached_group_policies()
            .group_name(group)
            .send()
            .await
            .map_err(|e| self.classify("ListAttachedGroupPolicies", e))?;
        Ok(arns(output.attached_policies))
    }
}

fn arns(attached: Option<Vec<aws_sdk_iam::types::AttachedPolicy>>) -> Vec<String> {
    attached
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect()
}

impl Iam {
    /// The ARN of the customer managed policy named `name`, if the account has one.
    pub async fn local_policy_arn(&self, name: &str) -> Result<Option<String>, IamError> {
        let mut marker = None;
        loop {
            let output = self
                .client
                .list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| self.classify("ListPolicies", e))?;
            let found = output
                .policies
                .unwrap_or_default()
                .into_iter()
                .find(|p| p.policy_name.as_deref() == Some(name))
                .and_then(|p| p.arn);
            match (found, output.marker) {
                (Some(arn), _) => return Ok(Some(arn)),
                (None, Some(next)) if output.is_truncated => marker = Some(next),
                (None, _) => return Ok(None),
            }
        }
    }
}
