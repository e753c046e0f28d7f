//! A person signs in to AWS for an `aws login` session, as `aws login` has them do: the
//! authorization code with PKCE from the sign-in service, exchanged for the session's
//! tokens bound to a fresh P-256 DPoP key. Either a browser on this machine comes back to
//! a loopback port ([`OnThisMachine`]), or a browser anywhere shows a code the person
//! pastes ([`Elsewhere`]). `mfad aws-login` uses both; so does the daemon when only a
//! new sign-in can renew a session and its caller can be shown one.

use crate::aws_login::{
    self, CONFIRMATION_PATH, CROSS_DEVICE_CLIENT, OfProfile, Route, SAME_DEVICE_CLIENT, SignedIn,
};
use crate::daemon::callback::{self, Signing};
use crate::failure::Failure;
use crate::messages;
use crate::timefmt::short_duration;
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;

/// Where the browser comes back to, on a loopback port (RFC 8252), as with `aws login`.
const REDIRECT_PATH: &str = "/oauth/callback";

/// What ties the code that comes back to this sign-in: the PKCE verifier (its challenge
/// is in the page's URL) and the `state`.
struct Secrets {
    verifier: SecretString,
    challenge: String,
    state: String,
}

impl Secrets {
    fn new() -> Result<Self, Failure> {
        let (verifier, challenge) = crate::random::pkce().map_err(Failure::internal)?;
        let state = crate::random::state().map_err(Failure::internal)?;
        Ok(Self {
            verifier,
            challenge,
            state,
        })
    }
}

/// A sign-in in the browser of this machine, which comes back to a loopback port.
pub struct OnThisMachine {
    /// The page to open.
    pub url: String,
    listener: TcpListener,
    redirect_uri: String,
    secrets: Secrets,
}

impl OnThisMachine {
    pub async fn begin(route: Route<'_>) -> Result<Self, Failure> {
        let (listener, redirect_uri) = callback::listen(REDIRECT_PATH).await?;
        let secrets = Secrets::new()?;
        let url = aws_login::authorize_url(
            route,
            SAME_DEVICE_CLIENT,
            &redirect_uri,
            &secrets.state,
            &secrets.challenge,
        );
        Ok(Self {
            url,
            listener,
            redirect_uri,
            secrets,
        })
    }

    /// Wait, at most `time_limit`, for the browser to come back; then exchange its code.
    /// `profile` is the one signed in for (named in the page and in errors).
    pub async fn finish(
        self,
        route: Route<'_>,
        profile: &str,
        time_limit: Duration,
    ) -> Result<SignedIn, Failure> {
        let signing = Signing {
            what: format!("AWS (profile {profile})"),
            retry: format!("mfad aws-login {profile}"),
        };
        let code = tokio::time::timeout(
            time_limit,
            callback::wait(&self.listener, REDIRECT_PATH, &self.secrets.state, &signing),
        )
        .await
        .map_err(|_| messages::aws_login_timed_out(profile, short_duration(time_limit)))??;
        exchange(
            route,
            SAME_DEVICE_CLIENT,
            &code,
            &self.secrets.verifier,
            &self.redirect_uri,
            profile,
        )
        .await
    }
}

/// A sign-in in a browser anywhere (over SSH, say): its confirmation page shows a code
/// the person pastes.
pub struct Elsewhere {
    /// The page to open.
    pub url: String,
    redirect_uri: String,
    secrets: Secrets,
}

impl Elsewhere {
    pub fn begin(route: Route<'_>) -> Result<Self, Failure> {
        let redirect_uri = format!("{}{CONFIRMATION_PATH}", route.endpoint());
        let secrets = Secrets::new()?;
        let url = aws_login::authorize_url(
            route,
            CROSS_DEVICE_CLIENT,
            &redirect_uri,
            &secrets.state,
            &secrets.challenge,
        );
        Ok(Self {
            url,
            redirect_uri,
            secrets,
        })
    }

    /// Exchange the code the person pasted; one that is not this sign-in's (another
    /// state, or not a code at all) is refused before anything is sent.
    pub async fn finish(
        self,
        route: Route<'_>,
        pasted: &SecretString,
        profile: &str,
    ) -> Result<SignedIn, Failure> {
        use subtle::ConstantTimeEq;
        let code = match aws_login::parse_verification_code(pasted.expose_secret()) {
            // Compared in constant time: the state is what ties the code to this sign-in.
            Some((code, state))
                if bool::from(state.as_bytes().ct_eq(self.secrets.state.as_bytes())) =>
            {
                code
            }
            _ => return Err(messages::aws_login_code_garbled(profile)),
        };
        exchange(
            route,
            CROSS_DEVICE_CLIENT,
            &code,
            &self.secrets.verifier,
            &self.redirect_uri,
            profile,
        )
        .await
    }
}

async fn exchange(
    route: Route<'_>,
    client_id: &str,
    code: &SecretString,
    verifier: &SecretString,
    redirect_uri: &str,
    profile: &str,
) -> Result<SignedIn, Failure> {
    let (_, key_pem) = aws_login::dpop::generate().map_err(Failure::from)?;
    aws_login::exchange_code(
        route,
        client_id,
        code,
        verifier,
        redirect_uri,
        &key_pem,
        SystemTime::now(),
    )
    .await
    .map_err(|error| {
        Failure::from(OfProfile {
            error,
            login_profile: profile.to_owned(),
        })
    })
}
