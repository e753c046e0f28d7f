//! How a session is renewed, kept with it so that it can be renewed again without a
//! caller (ahead of time, or when the person clicks "Renew now").

use super::key::SessionKey;
use crate::config::{RolePlan, SessionPlan};
use crate::store::LongTermKey;
use crate::vocab::CallerEnv;

/// What one MFA renewal needs to know about the request that started it.
#[derive(Debug, Clone)]
pub struct RenewalRequest {
    pub key: SessionKey,
    pub plan: SessionPlan,
    pub long_term: LongTermKey,
    /// The profile whose request started the renewal (named in prompts).
    pub profile: String,
    pub caller_env: CallerEnv,
    /// Whether a person may be asked in a desktop dialog when no waiting caller has a
    /// terminal (not for renewals ahead of time, which announce instead).
    pub desktop: bool,
}

#[derive(Debug, Clone)]
pub enum Recipe {
    Mfa(RenewalRequest),
    Role { key: SessionKey, role: RolePlan },
}

impl Recipe {
    /// The same recipe, its code asked on the desktop of its last caller or not.
    pub fn on_the_desktop(self, desktop: bool) -> Self {
        match self {
            Self::Mfa(mut request) => {
                request.desktop = desktop;
                Self::Mfa(request)
            }
            role => role,
        }
    }

    /// What it renews, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Mfa(request) => format!("the MFA session of {}", request.profile),
            Self::Role { role, .. } => format!("role {}", role.role_arn),
        }
    }
}
