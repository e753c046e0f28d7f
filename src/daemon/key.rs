//! What identifies a cached session.

use crate::config::{AwsLoginSession, RoleOptions, SsoSession, StsEndpoint};
use crate::vocab::{AWS_LOGIN_REFRESH_AHEAD, MIN_LEFT_TO_HAND_OUT};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
        /// Absent from keys saved before there were options, so they still match.
        #[serde(default, skip_serializing_if = "RoleOptions::is_empty")]
        options: RoleOptions,
        endpoint: StsEndpoint,
    },
    /// A role of an Identity Center account, through an sso-session's token.
    Sso {
        session: SsoSession,
        account_id: String,
        role_name: String,
    },
    /// An `aws login` sign-in, served from its cache file.
    AwsLogin { session: AwsLoginSession },
}

impl SessionKey {
    /// The MFA session at the root of this key's chain: (long-term key id, serial);
    /// `None` for a chain that starts at Identity Center.
    pub fn root(&self) -> Option<(&str, &str)> {
        match self {
            Self::Mfa {
                access_key_id,
                mfa_serial,
                ..
            } => Some((access_key_id, mfa_serial)),
            Self::Role { source, .. } => source.root(),
            Self::Sso { .. } | Self::AwsLogin { .. } => None,
        }
    }

    /// The Identity Center role at the root of this key's chain, if it starts there.
    pub fn sso_root(&self) -> Option<&SessionKey> {
        match self {
            Self::Sso { .. } => Some(self),
            Self::Role { source, .. } => source.sso_root(),
            Self::Mfa { .. } | Self::AwsLogin { .. } => None,
        }
    }

    /// The `aws login` sign-in at the root of this key's chain, if it starts there.
    pub fn aws_login_root(&self) -> Option<&AwsLoginSession> {
        match self {
            Self::AwsLogin { session } => Some(session),
            Self::Role { source, .. } => source.aws_login_root(),
            Self::Mfa { .. } | Self::Sso { .. } => None,
        }
    }

    /// Whether `other` is this key or one of its sources.
    pub fn built_on(&self, other: &SessionKey) -> bool {
        self == other || matches!(self, Self::Role { source, .. } if source.built_on(other))
    }

    /// The account the credentials act in: a role's account, else the MFA device's
    /// (the user's own). `None` if the ARN is not well formed.
    pub fn account_id(&self) -> Option<String> {
        let arn = match self {
            Self::Mfa { mfa_serial, .. } => mfa_serial,
            Self::Role { role_arn, .. } => role_arn,
            Self::Sso { account_id, .. } => return Some(account_id.clone()),
            Self::AwsLogin { session } => &session.login_session,
        };
        arn.split(':')
            .nth(4)
            .filter(|account| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
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
                options,
                endpoint,
            } => Self::Role {
                source: Box::new(source.with_long_term_key(id)),
                role_arn: role_arn.clone(),
                session_name: session_name.clone(),
                external_id: external_id.clone(),
                options: options.clone(),
                endpoint: endpoint.clone(),
            },
            Self::Sso { .. } | Self::AwsLogin { .. } => self.clone(),
        }
    }

    /// The session a role is assumed with; `None` for an MFA session or an Identity
    /// Center role.
    pub fn source(&self) -> Option<&SessionKey> {
        match self {
            Self::Role { source, .. } => Some(source),
            Self::Mfa { .. } | Self::Sso { .. } | Self::AwsLogin { .. } => None,
        }
    }

    /// A session is handed out only while more than this is left; below it the caller
    /// renews it. `aws login` credentials last 15 minutes, so theirs is shorter than
    /// botocore's 15-minute window.
    pub fn min_left_to_hand_out(&self) -> Duration {
        match self {
            Self::AwsLogin { .. } => AWS_LOGIN_REFRESH_AHEAD,
            _ => MIN_LEFT_TO_HAND_OUT,
        }
    }

    /// How long before its end a session that needs no person is renewed ahead of time,
    /// given the `renew_before` setting.
    pub fn renew_ahead(&self, renew_before: Duration) -> Duration {
        match self {
            Self::AwsLogin { .. } => AWS_LOGIN_REFRESH_AHEAD,
            _ => renew_before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_roles_else_the_devices() {
        let endpoint = StsEndpoint {
            url: None,
            region: "us-east-1".into(),
        };
        let mfa = SessionKey::Mfa {
            access_key_id: "AKIAEXAMPLE".into(),
            mfa_serial: "arn:aws:iam::123456789012:mfa/alice".into(),
            endpoint: endpoint.clone(),
        };
        assert_eq!(mfa.account_id().as_deref(), Some("123456789012"));
        let role = SessionKey::Role {
            source: Box::new(mfa),
            role_arn: "arn:aws:iam::210987654321:role/admin".into(),
            session_name: "mfad-admin".into(),
            external_id: None,
            options: RoleOptions::default(),
            endpoint,
        };
        assert_eq!(role.account_id().as_deref(), Some("210987654321"));
        let odd = role.with_long_term_key("AKIANEW");
        assert_eq!(odd.root().unwrap().0, "AKIANEW");
        let garbled = SessionKey::Mfa {
            access_key_id: "AKIAEXAMPLE".into(),
            mfa_serial: "not-an-arn".into(),
            endpoint: StsEndpoint {
                url: None,
                region: "us-east-1".into(),
            },
        };
        assert_eq!(garbled.account_id(), None);
    }
}
