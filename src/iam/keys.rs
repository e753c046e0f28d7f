//! The access keys of a user: list, create, delete (what `mfad rotate` needs).

use super::{Iam, IamError, empty, rfc3339};
use crate::store::LongTermKey;
use secrecy::SecretString;

/// An access key as IAM lists it (never its secret).
#[derive(Debug, Clone)]
pub struct AccessKeyInfo {
    pub id: String,
    pub active: bool,
    /// RFC 3339.
    pub created: String,
}

impl Iam {
    pub async fn access_keys(&self, user: &str) -> Result<Vec<AccessKeyInfo>, IamError> {
        let output = self
            .client
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| self.classify("ListAccessKeys", e))?;
        Ok(output
            .access_key_metadata
            .into_iter()
            .map(|key| AccessKeyInfo {
                id: key.access_key_id.unwrap_or_default(),
                active: key.status == Some(aws_sdk_iam::types::StatusType::Active),
                created: rfc3339(key.create_date.as_ref()),
            })
            .collect())
    }

    pub async fn create_access_key(&self, user: &str) -> Result<LongTermKey, IamError> {
        let output = self
            .client
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| self.classify("CreateAccessKey", e))?;
        let key = output
            .access_key
            .ok_or_else(|| empty("CreateAccessKey", "key"))?;
        Ok(LongTermKey {
            access_key_id: key.access_key_id,
            secret_access_key: SecretString::from(key.secret_access_key),
        })
    }

    pub async fn delete_access_key(&self, user: &str, id: &str) -> Result<(), IamError> {
        self.client
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
            .map_err(|e| self.classify("DeleteAccessKey", e))?;
        Ok(())
    }
}
