//! The token of each sso-session, obtained once however many callers (of however many
//! roles) need it: the first caller starts a flight (a refresh, else a sign-in), the
//! others wait for its outcome. Times are Unix seconds passed in, so the logic runs in
//! virtual time in tests.

use crate::config::SsoSession;
use crate::failure::Failure;
use crate::network::Network;
use crate::sso::{Flow, Registration, Token};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// A token with less than this left is renewed before it is used.
pub const TOKEN_MIN_LEFT_SECS: u64 = 5 * 60;
/// Tokens that can be refreshed are refreshed this long before they end, so no caller
/// waits for Identity Center.
pub const REFRESH_AHEAD_SECS: u64 = 15 * 60;
/// A registration is registered anew this long before AWS forgets it.
const REGISTRATION_MIN_LEFT_SECS: u64 = 24 * 3600;

/// What one flight ends with: the access token, or why there is none.
pub type TokenResult = Result<SecretString, Failure>;

/// One acquisition of an sso-session's token, shared by the callers that wait for it.
pub struct TokenFlight {
    done: watch::Sender<Option<TokenResult>>,
}

impl TokenFlight {
    /// Wait for the flight's outcome.
    pub async fn outcome(&self) -> TokenResult {
        let mut done = self.done.subscribe();
        match done.wait_for(Option::is_some).await {
            Ok(result) => result.clone().expect("waited for a result"),
            Err(_) => Err(Failure::internal("the sign-in ended without a result")),
        }
    }
}

/// What the daemon holds of one sso-session.
#[derive(Default)]
struct Slot {
    /// The token and the registration it was issued to (a refresh needs the same one).
    token: Option<(Token, Registration)>,
    /// When the token was obtained (its lifetime decides how early it is refreshed).
    obtained_at: u64,
    /// Registrations by the flow they serve, kept until shortly before they expire.
    registrations: Vec<Registration>,
    flight: Option<Arc<TokenFlight>>,
    /// How the session was last reached, to refresh it without a caller.
    route: Option<(SsoSession, Network)>,
    /// Whether the token a previous daemon saved (or the AWS CLI cached) was looked for.
    loaded: bool,
}

/// What a caller should do about a session's token.
pub enum TokenLookup {
    Ready(SecretString),
    Wait(Arc<TokenFlight>),
    /// This caller runs the flight: refresh `held` if it can, else sign in.
    Start(Arc<TokenFlight>, Option<(Token, Registration)>),
}

#[derive(Default)]
pub struct SsoTokens {
    slots: Mutex<HashMap<String, Slot>>,
}

/// Sessions are told apart by name and start URL (two configs may reuse a name).
fn slot_key(session: &SsoSession) -> String {
    format!("{}\n{}", session.name, session.start_url)
}

impl SsoTokens {
    /// A token with time left, or the flight to wait for, or one to start.
    pub fn lookup(&self, session: &SsoSession, network: &Network, now: u64) -> TokenLookup {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(slot_key(session)).or_default();
        slot.route = Some((session.clone(), network.clone()));
        if let Some((token, _)) = &slot.token
            && token.expires_at > now + TOKEN_MIN_LEFT_SECS
        {
            return TokenLookup::Ready(token.access_token.clone());
        }
        if let Some(flight) = &slot.flight {
            return TokenLookup::Wait(flight.clone());
        }
        let flight = Arc::new(TokenFlight {
            done: watch::channel(None).0,
        });
        slot.flight = Some(flight.clone());
        TokenLookup::Start(flight, slot.token.clone())
    }

    /// Whether this is the first look at a session since the daemon started (then the
    /// token saved by a previous daemon, or cached by the AWS CLI, is looked for).
    pub fn first_look(&self, session: &SsoSession) -> bool {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(slot_key(session)).or_default();
        !std::mem::replace(&mut slot.loaded, true)
    }

    /// Take a token found outside (the store, the CLI's cache) unless one is held.
    pub fn restore(
        &self,
        session: &SsoSession,
        token: Token,
        registration: Registration,
        now: u64,
    ) {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(slot_key(session)).or_default();
        if !registration.client_id.is_empty()
            && !slot
                .registrations
                .iter()
                .any(|r| r.flow == registration.flow)
        {
            slot.registrations.push(registration.clone());
        }
        if slot.token.is_none() {
            slot.token = Some((token, registration));
            slot.obtained_at = now;
        }
    }

    /// Start a refresh of the held token without a caller; `None` if a flight runs or
    /// there is nothing to refresh.
    pub fn start_refresh(
        &self,
        session: &SsoSession,
    ) -> Option<(Arc<TokenFlight>, (Token, Registration))> {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.get_mut(&slot_key(session))?;
        if slot.flight.is_some() {
            return None;
        }
        let held = slot.token.clone()?;
        let flight = Arc::new(TokenFlight {
            done: watch::channel(None).0,
        });
        slot.flight = Some(flight.clone());
        Some((flight, held))
    }

    /// End a flight: keep the new token (or drop the old one if the flight failed with
    /// it) and tell every waiting caller.
    pub fn finish(
        &self,
        session: &SsoSession,
        flight: &TokenFlight,
        result: Result<(Token, Registration), Failure>,
        now: u64,
    ) -> TokenResult {
        let outcome = {
            let mut slots = self.slots.lock().unwrap();
            let slot = slots.entry(slot_key(session)).or_default();
            slot.flight = None;
            match result {
                Ok((token, registration)) => {
                    let access = token.access_token.clone();
                    slot.token = Some((token, registration));
                    slot.obtained_at = now;
                    Ok(access)
                }
                Err(failure) => Err(failure),
            }
        };
        flight.done.send_replace(Some(outcome.clone()));
        outcome
    }

    /// The portal refused the access token: the next caller renews it (with the refresh
    /// token, which may still work).
    pub fn drop_token(&self, session: &SsoSession) {
        if let Some(slot) = self.slots.lock().unwrap().get_mut(&slot_key(session))
            && let Some((token, _)) = &mut slot.token
        {
            token.expires_at = 0;
        }
    }

    /// A registration for `flow` that lasts at least a day more.
    pub fn registration(&self, session: &SsoSession, flow: Flow, now: u64) -> Option<Registration> {
        let slots = self.slots.lock().unwrap();
        slots
            .get(&slot_key(session))?
            .registrations
            .iter()
            .find(|r| r.flow == flow && r.expires_at > now + REGISTRATION_MIN_LEFT_SECS)
            .cloned()
    }

    pub fn keep_registration(&self, session: &SsoSession, registration: Registration) {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(slot_key(session)).or_default();
        slot.registrations.retain(|r| r.flow != registration.flow);
        slot.registrations.push(registration);
    }

    /// Sessions whose token ends within [`REFRESH_AHEAD_SECS`] (or the last third of its
    /// lifetime, if that is shorter) and can be refreshed without a person, with how to
    /// reach them.
    pub fn due(&self, now: u64) -> Vec<(SsoSession, Network)> {
        let slots = self.slots.lock().unwrap();
        slots
            .values()
            .filter(|slot| slot.flight.is_none())
            .filter(|slot| {
                slot.token.as_ref().is_some_and(|(token, _)| {
                    let lifetime = token.expires_at.saturating_sub(slot.obtained_at);
                    let ahead = REFRESH_AHEAD_SECS.min(lifetime / 3);
                    token.refresh_token.is_some()
                        && token.expires_at > now
                        && token.expires_at <= now + ahead
                })
            })
            .filter_map(|slot| slot.route.clone())
            .collect()
    }

    /// Forget the tokens of a session (or all), handing back those to revoke.
    pub fn forget(&self, name: Option<&str>) -> Vec<(SsoSession, Network, SecretString)> {
        let mut slots = self.slots.lock().unwrap();
        slots
            .values_mut()
            .filter(|slot| {
                let session = slot.route.as_ref().map(|(s, _)| s.name.as_str());
                name.is_none() || session == name
            })
            .filter_map(|slot| {
                let (token, _) = slot.token.take()?;
                let (session, network) = slot.route.clone()?;
                Some((session, network, token.access_token))
            })
            .collect()
    }

    /// When each session's token ends, by session name (for `mfad status`).
    pub fn expirations(&self) -> Vec<(String, u64)> {
        let slots = self.slots.lock().unwrap();
        let mut found: Vec<(String, u64)> = slots
            .values()
            .filter_map(|slot| {
                let (session, _) = slot.route.as_ref()?;
                let (token, _) = slot.token.as_ref()?;
                Some((session.name.clone(), token.expires_at))
            })
            .collect();
        found.sort();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso::test_session as session;

    fn token(expires_at: u64, refresh: bool) -> (Token, Registration) {
        (
            Token {
                access_token: SecretString::from(format!("access-{expires_at}")),
                refresh_token: refresh.then(|| SecretString::from("refresh".to_owned())),
                expires_at,
            },
            Registration {
                client_id: "c".into(),
                client_secret: SecretString::from("s".to_owned()),
                expires_at: expires_at + 90 * 86_400,
                flow: Flow::Device,
            },
        )
    }

    #[test]
    fn one_flight_for_all_callers_and_a_token_used_until_five_minutes_before_its_end() {
        use secrecy::ExposeSecret;
        let tokens = SsoTokens::default();
        let network = Network::default();
        let TokenLookup::Start(flight, None) = tokens.lookup(&session(), &network, 1000) else {
            panic!("the first caller starts")
        };
        assert!(matches!(
            tokens.lookup(&session(), &network, 1000),
            TokenLookup::Wait(_)
        ));
        tokens
            .finish(&session(), &flight, Ok(token(1000 + 3600, true)), 1000)
            .unwrap();
        let TokenLookup::Ready(access) = tokens.lookup(&session(), &network, 2000) else {
            panic!("a fresh token is used")
        };
        assert_eq!(access.expose_secret(), "access-4600");
        // Inside the refresh window: due without a caller, and a caller renews it first.
        assert_eq!(tokens.due(4600 - REFRESH_AHEAD_SECS).len(), 1);
        assert!(tokens.due(4600 - REFRESH_AHEAD_SECS - 1).is_empty());
        let TokenLookup::Start(_, Some(held)) =
            tokens.lookup(&session(), &network, 4600 - TOKEN_MIN_LEFT_SECS)
        else {
            panic!("a token about to end is renewed")
        };
        assert!(held.0.refresh_token.is_some());
    }

    #[test]
    fn a_failed_flight_tells_its_waiters_and_keeps_nothing_new() {
        let tokens = SsoTokens::default();
        let network = Network::default();
        let TokenLookup::Start(flight, _) = tokens.lookup(&session(), &network, 0) else {
            panic!()
        };
        let failure = Failure::internal("refused");
        assert!(tokens.finish(&session(), &flight, Err(failure), 0).is_err());
        assert!(matches!(
            tokens.lookup(&session(), &network, 0),
            TokenLookup::Start(_, None)
        ));
    }
}
