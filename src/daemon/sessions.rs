//! The session cache: one slot per MFA session, renewal single-flight per slot.
//!
//! The cache lock is a `std::sync::Mutex` held only for map operations, never across an
//! `.await`. A renewal is a [`Flight`]: the first caller to find a slot without a usable
//! session starts one, every later caller waits on the same flight, and the flight's end
//! is broadcast on a `watch` channel.

use crate::config::StsEndpoint;
use crate::failure::{Failure, FailureKind};
use crate::mfa::CodeSource;
use crate::mfa::prompt::Askers;
use crate::protocol::SessionStatus;
use crate::sts::TemporaryCredentials;
use crate::timefmt::epoch_secs;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// botocore refreshes when fewer than 15 minutes remain; hand out only more than that.
pub const RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);
/// After a failed renewal, a still-valid session with at least this much left is served.
pub const MIN_USABLE: Duration = Duration::from_secs(60);
/// After a failed renewal, callers that cannot prompt get the same failure for this long
/// instead of starting another attempt (which could wait for a code step or hit STS again).
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// What identifies one MFA session: the long-term key, the device and where STS is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub access_key_id: String,
    pub mfa_serial: String,
    pub endpoint: StsEndpoint,
}

/// A session as obtained from STS.
#[derive(Debug)]
pub struct Session {
    pub credentials: TemporaryCredentials,
    pub code_source: CodeSource,
    pub renewed_at: SystemTime,
}

impl Session {
    pub fn time_left(&self, now: SystemTime) -> Duration {
        self.credentials
            .expiration
            .duration_since(now)
            .unwrap_or_default()
    }
}

pub type FlightResult = Result<Arc<Session>, Failure>;

/// A renewal in progress.
pub struct Flight {
    /// Waiting callers that can relay a prompt to a person.
    pub askers: Arc<Askers>,
    done: watch::Sender<Option<FlightResult>>,
}

impl Flight {
    pub fn subscribe(&self) -> watch::Receiver<Option<FlightResult>> {
        self.done.subscribe()
    }
}

/// One cached session and its bookkeeping.
#[derive(Default)]
struct Slot {
    /// The newest session obtained, possibly expired.
    current: Option<Arc<Session>>,
    /// The renewal in progress, if any.
    flight: Option<Arc<Flight>>,
    /// The profiles that asked for this session (for status and logout).
    profiles: BTreeSet<String>,
    /// The last renewal failure and when it happened; cleared by a success.
    last_failure: Option<(Instant, Failure)>,
    /// A remark for status, e.g. the root account's 1 h cap.
    note: Option<String>,
}

/// What a caller should do, decided under the lock.
pub enum Lookup {
    /// Hand this session out.
    Ready(Arc<Session>),
    /// A renewal just failed; report it without trying again yet.
    Failed(Failure),
    /// Wait for the renewal in progress.
    Wait(Arc<Flight>),
    /// This caller started a renewal: run it, then call [`Sessions::finish`].
    Start(Arc<Flight>),
}

#[derive(Default)]
pub struct Sessions {
    slots: Mutex<HashMap<SessionKey, Slot>>,
}

impl Sessions {
    /// Find a usable session or the renewal to wait for, or start one.
    pub fn lookup(&self, key: &SessionKey, profile: &str, caller_can_prompt: bool) -> Lookup {
        let now = SystemTime::now();
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(key.clone()).or_default();
        slot.profiles.insert(profile.to_owned());
        if let Some(session) = &slot.current
            && session.time_left(now) > RENEW_BEFORE
        {
            return Lookup::Ready(session.clone());
        }
        if let Some(flight) = &slot.flight {
            return Lookup::Wait(flight.clone());
        }
        if let Some((at, failure)) = &slot.last_failure
            && at.elapsed() < RETRY_AFTER
        {
            if let Some(session) = slot
                .current
                .as_ref()
                .filter(|s| s.time_left(now) > MIN_USABLE)
            {
                return Lookup::Ready(session.clone());
            }
            let someone_new_can_answer =
                caller_can_prompt && failure.kind == FailureKind::NoCodeSource;
            if !someone_new_can_answer && failure.kind != FailureKind::PromptCancelled {
                return Lookup::Failed(failure.clone());
            }
        }
        let (done, _) = watch::channel(None);
        let flight = Arc::new(Flight {
            askers: Arc::new(Askers::default()),
            done,
        });
        slot.flight = Some(flight.clone());
        Lookup::Start(flight)
    }

    /// End a renewal: keep the new session, or on failure keep serving a still-valid one.
    pub fn finish(
        &self,
        key: &SessionKey,
        flight: &Flight,
        result: Result<Session, Failure>,
        note: Option<String>,
    ) {
        let now = SystemTime::now();
        let outcome = {
            let mut slots = self.slots.lock().unwrap();
            let slot = slots.entry(key.clone()).or_default();
            slot.flight = None;
            slot.note = note;
            match result {
                Ok(session) => {
                    let session = Arc::new(session);
                    slot.current = Some(session.clone());
                    slot.last_failure = None;
                    Ok(session)
                }
                Err(failure) => {
                    slot.last_failure = Some((Instant::now(), failure.clone()));
                    match slot
                        .current
                        .as_ref()
                        .filter(|s| s.time_left(now) > MIN_USABLE)
                    {
                        Some(still_valid) => Ok(still_valid.clone()),
                        None => Err(failure),
                    }
                }
            }
        };
        flight.done.send_replace(Some(outcome));
    }

    /// Drop the sessions a profile asked for, or all; returns the profiles logged out.
    pub fn logout(&self, profile: Option<&str>) -> BTreeSet<String> {
        let mut slots = self.slots.lock().unwrap();
        let mut dropped = BTreeSet::new();
        slots.retain(|_, slot| {
            let matches = profile.is_none_or(|p| slot.profiles.contains(p));
            if matches && slot.current.is_some() {
                dropped.extend(slot.profiles.iter().cloned());
            }
            !matches
        });
        dropped
    }

    pub fn status(&self) -> Vec<SessionStatus> {
        let slots = self.slots.lock().unwrap();
        let mut report: Vec<SessionStatus> = slots
            .iter()
            .map(|(key, slot)| SessionStatus {
                profiles: slot.profiles.iter().cloned().collect(),
                mfa_serial: key.mfa_serial.clone(),
                long_term_key: crate::store::short_key_id(&key.access_key_id),
                expiration: slot
                    .current
                    .as_ref()
                    .map(|s| epoch_secs(s.credentials.expiration)),
                code_source: slot.current.as_ref().map(|s| s.code_source),
                renewed_at: slot.current.as_ref().map(|s| epoch_secs(s.renewed_at)),
                renewing: slot.flight.is_some(),
                last_error: slot.last_failure.as_ref().map(|(_, f)| f.to_string()),
                note: slot.note.clone(),
            })
            .collect();
        report.sort_by(|a, b| a.profiles.cmp(&b.profiles));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn key() -> SessionKey {
        SessionKey {
            access_key_id: "AKIAEXAMPLE".into(),
            mfa_serial: "arn:aws:iam::1:mfa/a".into(),
            endpoint: StsEndpoint {
                region: "us-east-1".into(),
                url: None,
            },
        }
    }

    fn session(lasting: Duration) -> Session {
        Session {
            credentials: TemporaryCredentials {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: SecretString::from("secret"),
                session_token: SecretString::from("token"),
                expiration: SystemTime::now() + lasting,
            },
            code_source: CodeSource::Totp,
            renewed_at: SystemTime::now(),
        }
    }

    fn start(sessions: &Sessions) -> Arc<Flight> {
        match sessions.lookup(&key(), "dev", false) {
            Lookup::Start(flight) => flight,
            _ => panic!("expected to start a renewal"),
        }
    }

    fn sts_down() -> Failure {
        Failure::new(FailureKind::StsUnavailable, "down", "wait")
    }

    #[test]
    fn one_flight_for_concurrent_callers_and_fresh_sessions_are_served() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        assert!(matches!(
            sessions.lookup(&key(), "dev", false),
            Lookup::Wait(_)
        ));
        let mut done = flight.subscribe();
        sessions.finish(
            &key(),
            &flight,
            Ok(session(Duration::from_secs(3600))),
            None,
        );
        assert!(done.borrow_and_update().as_ref().unwrap().is_ok());
        assert!(matches!(
            sessions.lookup(&key(), "dev", false),
            Lookup::Ready(_)
        ));
    }

    #[test]
    fn a_session_inside_the_renewal_window_is_renewed() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        sessions.finish(
            &key(),
            &flight,
            Ok(session(Duration::from_secs(14 * 60))),
            None,
        );
        assert!(matches!(
            sessions.lookup(&key(), "dev", false),
            Lookup::Start(_)
        ));
    }

    #[test]
    fn a_failed_renewal_serves_the_still_valid_session() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        sessions.finish(
            &key(),
            &flight,
            Ok(session(Duration::from_secs(5 * 60))),
            None,
        );
        let flight = start(&sessions);
        let mut done = flight.subscribe();
        sessions.finish(&key(), &flight, Err(sts_down()), None);
        assert!(done.borrow_and_update().as_ref().unwrap().is_ok());
        assert!(matches!(
            sessions.lookup(&key(), "dev", false),
            Lookup::Ready(_)
        ));
    }

    #[test]
    fn an_expired_session_fails_fast_after_a_failure() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        let mut done = flight.subscribe();
        sessions.finish(&key(), &flight, Err(sts_down()), None);
        assert!(done.borrow_and_update().as_ref().unwrap().is_err());
        assert!(matches!(
            sessions.lookup(&key(), "dev", false),
            Lookup::Failed(_)
        ));
        let nobody = Failure::new(FailureKind::NoCodeSource, "nobody", "tty");
        let flight = Arc::new(Flight {
            askers: Arc::default(),
            done: watch::channel(None).0,
        });
        sessions.finish(&key(), &flight, Err(nobody), None);
        assert!(matches!(
            sessions.lookup(&key(), "dev", true),
            Lookup::Start(_)
        ));
    }

    #[test]
    fn logout_drops_a_profiles_sessions() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        sessions.finish(
            &key(),
            &flight,
            Ok(session(Duration::from_secs(3600))),
            None,
        );
        assert!(sessions.logout(Some("prod")).is_empty());
        assert_eq!(
            sessions.logout(Some("dev")).into_iter().collect::<Vec<_>>(),
            ["dev"]
        );
        assert!(sessions.status().is_empty());
    }
}
