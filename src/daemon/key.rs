//! What identifies a cached session.

use crate::config::StsEndpoint;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionKey {
    /// An MFA session: the long-term key, the device and where STS is.
    Mfa {
        access_key_id: String,
        mfa_serial: String,
        endpoint: StsEndpoint,
    },
    /// A role assumed with the credentials of `source`.
    Role {
        source: Box<SessionKey>,
        role_arn: String,
        session_name: String,
        external_id: Option<String>,
        endpoint: StsEndpoint,
    },
}

impl SessionKey {
    /// The MFA session at the root of this key's chain: (long-term key id, serial).
    pub fn root(&self) -> (&str, &str) {
        match self {
            Self::Mfa {
                access_key_id,
                mfa_serial,
                ..
            } => (access_key_id, mfa_serial),
            Self::Role { source, .. } => source.root(),
        }
    }

    /// Whether `other` is this key or one of its sources.
    pub fn built_on(&self, other: &SessionKey) -> bool {
        self == other || matches!(self, Self::Role { source, .. } if source.built_on(other))
    }

    /// The session a role is assumed with; `None` for an MFA session.
    pub fn source(&self) -> Option<&SessionKey> {
        match self {
            Self::Role { source, .. } => Some(source),
            Self::Mfa { .. } => None,
        }
    }
}
