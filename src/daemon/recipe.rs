//! How a session is renewed, kept with it so that it can be renewed again without a
//! caller (ahead of time, or when the person clicks "Renew now").

use super::key::SessionKey;
use crate::config::{AwsLoginPlan, RolePlan, SessionPlan, SsoPlan};
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

/// What assuming a role again needs (its source session is looked up when it runs).
#[derive(Debug, Clone)]
pub struct RoleRecipe {
    pub key: SessionKey,
    pub role: RolePlan,
    /// The environment of the caller whose request assumed it.
    pub caller_env: CallerEnv,
}

/// What getting an Identity Center role's credentials again needs.
#[derive(Debug, Clone)]
pub struct SsoRecipe {
    pub key: SessionKey,
    pub plan: SsoPlan,
    /// The environment of the caller whose request started it (its browser, its desktop).
    pub caller_env: CallerEnv,
    /// Whether a person may be asked to sign in (not for renewals ahead of time, which
    /// only refresh).
    pub interactive: bool,
}

/// What refreshing an `aws login` sign-in needs.
#[derive(Debug, Clone)]
pub struct AwsLoginRecipe {
    pub key: SessionKey,
    pub plan: AwsLoginPlan,
    /// The environment of the caller whose request started it (its browser, its desktop).
    pub caller_env: CallerEnv,
    /// Whether a person may be offered a sign-in (not for renewals ahead of time, which
    /// only refresh).
    pub interactive: bool,
}

#[derive(Debug, Clone)]
pub enum Recipe {
    Mfa(RenewalRequest),
    Role(RoleRecipe),
    Sso(SsoRecipe),
    AwsLogin(AwsLoginRecipe),
}

impl Recipe {
    /// The same recipe, its code asked on the desktop of its last caller or not.
    pub fn on_the_desktop(self, desktop: bool) -> Self {
        match self {
            Self::Mfa(mut request) => {
                request.desktop = desktop;
                Self::Mfa(request)
            }
            Self::Sso(mut recipe) => {
                recipe.interactive = desktop;
                Self::Sso(recipe)
            }
            Self::AwsLogin(mut recipe) => {
                recipe.interactive = desktop;
                Self::AwsLogin(recipe)
            }
            other => other,
        }
    }

    /// The recipe of the same session under its new key, renewed with the new long-term
    /// key (after `mfad rotate`).
    pub fn rekeyed(self, key: SessionKey, long_term: &LongTermKey) -> Self {
        match self {
            Self::Mfa(mut request) => {
                request.key = key;
                request.long_term = long_term.clone();
                Self::Mfa(request)
            }
            Self::Role(mut recipe) => {
                recipe.key = key;
                Self::Role(recipe)
            }
            other @ (Self::Sso(_) | Self::AwsLogin(_)) => other,
        }
    }

    /// The profile whose settings define the session, and the caller environment they
    /// are resolved in (what a restarted daemon needs to build the recipe again).
    pub fn origin(&self) -> (&str, &CallerEnv) {
        match self {
            Self::Mfa(request) => (&request.profile, &request.caller_env),
            Self::Role(recipe) => (&recipe.role.profile, &recipe.caller_env),
            Self::Sso(recipe) => (&recipe.plan.profile, &recipe.caller_env),
            Self::AwsLogin(recipe) => (&recipe.plan.profile, &recipe.caller_env),
        }
    }

    /// What it renews, for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Mfa(request) => format!("the MFA session of {}", request.profile),
            Self::Role(recipe) => format!("role {}", recipe.role.role_arn),
            Self::AwsLogin(recipe) => format!(
                "the aws login sign-in of {}",
                recipe.plan.session.login_session
            ),
            Self::Sso(recipe) => format!(
                "{} in account {} (sso-session {})",
                recipe.plan.role_name, recipe.plan.account_id, recipe.plan.session.name
            ),
        }
    }
}
