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

    /// The same key with another long-term key at its root (after `mfad rotate`).
    pub fn with_long_term_key(&self, id: &str) -> SessionKey {
        match self {
            Self::Mfa {
                mfa_serial,
                endpoint,
                ..
            } => Self::Mfa {
                access_key_id: id.to_owned(),
                mfa_serial: mfa_serial.clone(),
                endpoint: endpoint.clone(),
            },
            Self::Role {
                source,
                role_arn,
                session_name,
                external_id,
                endpoint,
            } => Self::Role {
                source: Box::new(source.with_long_term_key(id)),
                role_arn: role_arn.clone(),
                session_name: session_name.clone(),
                external_id: external_id.clone(),
                endpoint: endpoint.clone(),
            },
        }
    }

    /// The session a role is assumed with; `None` for an MFA session.
    pub fn source(&self) -> Option<&SessionKey> {
        match self {
            Self::Role { source, .. } => Some(source),
            Self::Mfa { .. } => None,
        }
    }
}
