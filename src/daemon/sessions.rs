//! The session cache: one slot per session, renewal single-flight per slot.
//!
//! The cache lock is a `std::sync::Mutex` held only for map operations, never across an
//! `.await`. A renewal is a [`Flight`]: the first caller to find a slot without a usable
//! session starts one, every later caller waits on the same flight, and the flight's end
//! is broadcast on a `watch` channel. Time is passed in ([`Now`]): nothing here reads a
//! clock.

use super::clock::{Now, left_until};
use super::key::SessionKey;
use super::recipe::Recipe;
use crate::failure::{Failure, FailureKind};
use crate::mfa::askers::Askers;
use crate::store::LongTermKey;
use crate::sts::TemporaryCredentials;
use crate::vocab::CodeSource;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::time::Instant;

/// After a failed renewal, a still-valid session with at least this much left is served.
pub const MIN_USABLE: Duration = Duration::from_secs(60);
/// After a failed renewal, callers that cannot prompt get the same failure for this long
/// instead of starting another attempt (which could wait for a code step or hit STS again).
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// How a session was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// GetSessionToken with a code from this source.
    Code(CodeSource),
    /// AssumeRole with the source's credentials.
    Role,
    /// GetRoleCredentials with an sso-session's token.
    Sso,
    /// An `aws login` sign-in's cache: as found, or refreshed by mfad.
    AwsLogin,
}

/// A session as obtained from STS.
#[derive(Debug)]
pub struct Session {
    pub credentials: TemporaryCredentials,
    pub origin: Origin,
    pub renewed_at: SystemTime,
}

impl Session {
    pub fn time_left(&self, now: SystemTime) -> Duration {
        left_until(self.credentials.expiration, now)
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
    /// The profiles whose settings define this session (for status and logout).
    profiles: BTreeSet<String>,
    /// The last renewal failure and when it happened (monotonic); cleared by a success.
    last_failure: Option<(Instant, Failure)>,
    /// A remark for status, e.g. the root account's 1 h cap.
    note: Option<String>,
    /// How to renew this session without a caller (set after its first renewal).
    recipe: Option<Recipe>,
    /// Whether the person was told that this session ends soon.
    announced: bool,
    /// How many requests had to wait for a renewal of this session.
    callers_waited: u64,
}

/// A renewal that failed.
#[derive(Debug)]
pub struct FailedRenewal {
    pub failure: Failure,
    /// The previous renewal of the session failed too (nothing new to tell the person).
    pub repeated: bool,
}

/// After a failed renewal ahead of time, the next attempt waits this long.
pub const BACKGROUND_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Work for the scheduler of renewals ahead of time.
pub enum Due {
    /// Renew this session now (its flight is registered).
    Renew {
        flight: Arc<Flight>,
        recipe: Box<Recipe>,
    },
    /// Tell the person that this session, which needs them, ends soon.
    Announce {
        key: Box<SessionKey>,
        profile: String,
        left: Duration,
    },
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
    /// The session last handed out for each profile (what `mfad prompt` reports).
    handed_out: Mutex<HashMap<String, SessionKey>>,
}

impl Sessions {
    /// Find a usable session or the renewal to wait for, or start one. `profile` is the
    /// profile whose settings define the session.
    pub fn lookup(
        &self,
        key: &SessionKey,
        profile: &str,
        caller_can_prompt: bool,
        now: Now,
    ) -> Lookup {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(key.clone()).or_default();
        slot.profiles.insert(profile.to_owned());
        if let Some(session) = &slot.current
            && session.time_left(now.wall) > key.min_left_to_hand_out()
        {
            return Lookup::Ready(session.clone());
        }
        if let Some(flight) = &slot.flight {
            slot.callers_waited += 1;
            return Lookup::Wait(flight.clone());
        }
        if let Some((at, failure)) = &slot.last_failure
            && now.mono.duration_since(*at) < RETRY_AFTER
        {
            if let Some(session) = slot
                .current
                .as_ref()
                .filter(|s| s.time_left(now.wall) > MIN_USABLE)
            {
                return Lookup::Ready(session.clone());
            }
            let someone_new_can_answer =
                caller_can_prompt && failure.kind == FailureKind::NoCodeSource;
            // A caller may have fixed its own settings since (AWS_CA_BUNDLE, a proxy).
            let settings_may_differ = failure.kind == FailureKind::Config;
            if !someone_new_can_answer
                && !settings_may_differ
                && failure.kind != FailureKind::PromptCancelled
            {
                return Lookup::Failed(failure.clone());
            }
        }
        slot.callers_waited += 1;
        Lookup::Start(new_flight(slot))
    }

    /// Sessions to renew ahead of time (their flights registered), and sessions that need
    /// a person to announce.
    pub fn due(&self, renew_before: Duration, announce_before: Duration, now: Now) -> Vec<Due> {
        let mut slots = self.slots.lock().unwrap();
        let usable = |key: &SessionKey| {
            slots
                .get(key)
                .and_then(|s| s.current.as_ref())
                .is_some_and(|s| s.time_left(now.wall) > MIN_USABLE)
        };
        // A role can be renewed without a caller only while its source session lasts.
        let renewable: Vec<SessionKey> = slots
            .keys()
            .filter(|key| key.source().is_none_or(usable))
            .cloned()
            .collect();
        let mut due = Vec::new();
        for (key, slot) in slots.iter_mut() {
            let (Some(session), Some(recipe), None) = (&slot.current, &slot.recipe, &slot.flight)
            else {
                continue;
            };
            let left = session.time_left(now.wall);
            let lifetime = session
                .credentials
                .expiration
                .duration_since(session.renewed_at)
                .unwrap_or_default();
            let recently_failed = slot
                .last_failure
                .as_ref()
                .is_some_and(|(at, _)| now.mono.duration_since(*at) < BACKGROUND_RETRY_AFTER);
            let needs_person =
                matches!(session.origin, Origin::Code(source) if source.needs_person());
            if needs_person {
                if left < announce_before && !slot.announced {
                    slot.announced = true;
                    let profile = slot.profiles.iter().next().cloned().unwrap_or_default();
                    due.push(Due::Announce {
                        key: Box::new(key.clone()),
                        profile,
                        left,
                    });
                }
            } else if left < key.renew_ahead(renew_before)
                && lifetime > key.renew_ahead(renew_before)
                && !recently_failed
                && renewable.contains(key)
            {
                let recipe = Box::new(recipe.clone());
                due.push(Due::Renew {
                    flight: new_flight(slot),
                    recipe,
                });
            }
        }
        due
    }

    /// Register a renewal of a session from its recipe ("Renew now"); `None` if one is
    /// already running or the session cannot be renewed without a caller.
    pub fn start_flight(&self, key: &SessionKey) -> Option<(Arc<Flight>, Recipe)> {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.get_mut(key)?;
        if slot.flight.is_some() {
            return None;
        }
        let recipe = slot.recipe.clone()?;
        Some((new_flight(slot), recipe))
    }

    /// Keep how a session was renewed, to renew it again without a caller.
    pub fn keep_recipe(&self, key: &SessionKey, recipe: Recipe) {
        if let Some(slot) = self.slots.lock().unwrap().get_mut(key) {
            slot.recipe = Some(recipe);
        }
    }

    /// End a renewal: keep the new session, or on failure keep serving a still-valid one
    /// to the waiting callers. Returns the new session, or the failure.
    pub fn finish(
        &self,
        key: &SessionKey,
        flight: &Flight,
        result: Result<Session, Failure>,
        note: Option<String>,
        now: Now,
    ) -> Result<Arc<Session>, FailedRenewal> {
        let (renewal, for_callers) = {
            let mut slots = self.slots.lock().unwrap();
            let slot = slots.entry(key.clone()).or_default();
            slot.flight = None;
            slot.note = note;
            match result {
                Ok(session) => {
                    let session = Arc::new(session);
                    slot.current = Some(session.clone());
                    slot.last_failure = None;
                    slot.announced = false;
                    (Ok(session.clone()), Ok(session))
                }
                Err(failure) => {
                    let repeated = slot.last_failure.is_some();
                    slot.last_failure = Some((now.mono, failure.clone()));
                    let still_valid = slot
                        .current
                        .as_ref()
                        .filter(|s| s.time_left(now.wall) > MIN_USABLE);
                    let for_callers = match still_valid {
                        Some(session) => Ok(session.clone()),
                        None => Err(failure.clone()),
                    };
                    (Err(FailedRenewal { failure, repeated }), for_callers)
                }
            }
        };
        flight.done.send_replace(Some(for_callers));
        renewal
    }

    /// Forget the renewal failures remembered for a profile's sessions (all with `None`),
    /// so that the next caller tries afresh instead of getting the old failure: the
    /// person changed something (`mfad add`, a new device from `mfad mfa enroll`).
    pub fn forget_failures(&self, profile: Option<&str>) {
        let mut slots = self.slots.lock().unwrap();
        for slot in slots.values_mut() {
            if profile.is_none_or(|profile| slot.profiles.contains(profile)) {
                slot.last_failure = None;
            }
        }
    }

    /// The session of a key, if it is still valid.
    pub fn current(&self, key: &SessionKey, now: SystemTime) -> Option<Arc<Session>> {
        let slots = self.slots.lock().unwrap();
        let session = slots.get(key)?.current.as_ref()?;
        (session.time_left(now) > Duration::ZERO).then(|| session.clone())
    }

    /// Remember which session a profile was given; `true` if that is news.
    pub fn record_handout(&self, profile: &str, key: &SessionKey) -> bool {
        self.handed_out
            .lock()
            .unwrap()
            .insert(profile.to_owned(), key.clone())
            .as_ref()
            != Some(key)
    }

    /// The profiles a session was handed to.
    pub fn handed_out_to(&self, key: &SessionKey) -> Vec<String> {
        let handed_out = self.handed_out.lock().unwrap();
        let mut profiles: Vec<String> = handed_out
            .iter()
            .filter(|(_, k)| *k == key)
            .map(|(profile, _)| profile.clone())
            .collect();
        profiles.sort();
        profiles
    }

    /// The profiles whose settings define a session.
    pub fn profiles_of(&self, key: &SessionKey) -> Vec<String> {
        let slots = self.slots.lock().unwrap();
        slots
            .get(key)
            .map(|slot| slot.profiles.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// What persisting a session needs: the session, the profiles defining it, its recipe.
    pub fn snapshot(&self, key: &SessionKey) -> Option<(Arc<Session>, Vec<String>, Recipe)> {
        let slots = self.slots.lock().unwrap();
        let slot = slots.get(key)?;
        Some((
            slot.current.clone()?,
            slot.profiles.iter().cloned().collect(),
            slot.recipe.clone()?,
        ))
    }

    /// Move the sessions made with the long-term key `old_id` (and the roles built on
    /// them) under `new`: they stay valid when the key that made them is deleted. Returns
    /// each key moved, old and new.
    pub fn rekey(&self, old_id: &str, new: &LongTermKey) -> Vec<(SessionKey, SessionKey)> {
        let mut slots = self.slots.lock().unwrap();
        let old_keys: Vec<SessionKey> = slots
            .keys()
            .filter(|key| key.root().is_some_and(|(id, _)| id == old_id))
            .cloned()
            .collect();
        let mut moved = Vec::new();
        for old in old_keys {
            let new_key = old.with_long_term_key(&new.access_key_id);
            let mut slot = slots.remove(&old).expect("listed above");
            slot.recipe = slot
                .recipe
                .take()
                .map(|recipe| recipe.rekeyed(new_key.clone(), new));
            slots.insert(new_key.clone(), slot);
            moved.push((old, new_key));
        }
        for key in self.handed_out.lock().unwrap().values_mut() {
            if let Some((_, new_key)) = moved.iter().find(|(old, _)| old == key) {
                *key = new_key.clone();
            }
        }
        moved
    }

    /// Put back a session a previous daemon saved, unless a session is already there.
    pub fn restore(
        &self,
        key: &SessionKey,
        session: Session,
        profiles: &[String],
        recipe: Option<Recipe>,
    ) -> bool {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.entry(key.clone()).or_default();
        if slot.current.is_some() || slot.flight.is_some() {
            return false;
        }
        slot.current = Some(Arc::new(session));
        slot.profiles.extend(profiles.iter().cloned());
        slot.recipe = recipe;
        true
    }

    /// The keys whose session has ended (or that have none any more).
    pub fn ended(&self, keys: &[SessionKey], now: SystemTime) -> Vec<SessionKey> {
        let slots = self.slots.lock().unwrap();
        keys.iter()
            .filter(|key| {
                slots
                    .get(key)
                    .and_then(|slot| slot.current.as_ref())
                    .is_none_or(|session| session.time_left(now).is_zero())
            })
            .cloned()
            .collect()
    }

    /// The expiration of the session last handed out for a profile, without renewing.
    /// When the session last handed out to `profile` expires, and how long before that
    /// it is renewed.
    pub fn expiration_of(&self, profile: &str) -> Option<(SystemTime, Duration)> {
        let key = self.handed_out.lock().unwrap().get(profile)?.clone();
        let slots = self.slots.lock().unwrap();
        let expiration = slots.get(&key)?.current.as_ref()?.credentials.expiration;
        Some((expiration, key.min_left_to_hand_out()))
    }

    /// Drop the sessions a profile defines or was handed (or all sessions) and every role
    /// built on a dropped session. Returns the keys dropped and the profiles that lost
    /// their session.
    pub fn logout(&self, profile: Option<&str>) -> (Vec<SessionKey>, BTreeSet<String>) {
        let mut slots = self.slots.lock().unwrap();
        let mut handed_out = self.handed_out.lock().unwrap();
        let roots: Vec<SessionKey> = match profile {
            Some(profile) => slots
                .iter()
                .filter(|(_, slot)| slot.profiles.contains(profile))
                .map(|(key, _)| key.clone())
                .chain(handed_out.get(profile).cloned())
                .collect(),
            None => slots.keys().cloned().collect(),
        };
        let dropped: Vec<SessionKey> = slots
            .keys()
            .filter(|key| roots.iter().any(|root| key.built_on(root)))
            .cloned()
            .collect();
        for key in &dropped {
            slots.remove(key);
        }
        let mut profiles = BTreeSet::new();
        handed_out.retain(|profile, key| {
            let keep = !dropped.contains(key);
            if !keep {
                profiles.insert(profile.clone());
            }
            keep
        });
        (dropped, profiles)
    }

    /// Drop the Identity Center roles of an sso-session (of all with `None`) and what was
    /// built on them; the keys dropped and the profiles that had them.
    pub fn logout_sso(&self, session: Option<&str>) -> (Vec<SessionKey>, BTreeSet<String>) {
        let mut slots = self.slots.lock().unwrap();
        let mut handed_out = self.handed_out.lock().unwrap();
        let dropped: Vec<SessionKey> = slots
            .keys()
            .filter(|key| match key.sso_root() {
                Some(SessionKey::Sso { session: s, .. }) => {
                    session.is_none_or(|name| s.name == name)
                }
                _ => false,
            })
            .cloned()
            .collect();
        for key in &dropped {
            slots.remove(key);
        }
        let mut profiles = BTreeSet::new();
        handed_out.retain(|profile, key| {
            let keep = !dropped.contains(key);
            if !keep {
                profiles.insert(profile.clone());
            }
            keep
        });
        (dropped, profiles)
    }

    /// Every session, MFA sessions first, as plain data.
    pub fn status(&self) -> Vec<SessionView> {
        let slots = self.slots.lock().unwrap();
        let mut report: Vec<SessionView> = slots
            .iter()
            .map(|(key, slot)| SessionView {
                key: key.clone(),
                profiles: slot.profiles.iter().cloned().collect(),
                current: slot.current.clone(),
                renewing: slot.flight.is_some(),
                last_error: slot.last_failure.as_ref().map(|(_, f)| f.to_string()),
                note: slot.note.clone(),
                callers_waited: slot.callers_waited,
            })
            .collect();
        report.sort_by(|a, b| {
            (a.key.source().is_some(), &a.profiles).cmp(&(b.key.source().is_some(), &b.profiles))
        });
        report
    }
}

/// What `mfad status` shows of one session.
pub struct SessionView {
    pub key: SessionKey,
    /// The profiles that asked for it.
    pub profiles: Vec<String>,
    /// The newest session obtained, possibly expired.
    pub current: Option<Arc<Session>>,
    pub renewing: bool,
    pub last_error: Option<String>,
    pub note: Option<String>,
    /// How many requests had to wait for a renewal of this session.
    pub callers_waited: u64,
}

/// Register a renewal on a slot.
fn new_flight(slot: &mut Slot) -> Arc<Flight> {
    let (done, _) = watch::channel(None);
    let flight = Arc::new(Flight {
        askers: Arc::new(Askers::default()),
        done,
    });
    slot.flight = Some(flight.clone());
    flight
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StsEndpoint;
    use secrecy::SecretString;

    /// The clocks at the test's start; sessions are made relative to it.
    fn now() -> Now {
        Now {
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            mono: Instant::now(),
        }
    }

    fn endpoint() -> StsEndpoint {
        StsEndpoint {
            region: "us-east-1".into(),
            url: None,
        }
    }

    fn key() -> SessionKey {
        SessionKey::Mfa {
            access_key_id: "AKIAEXAMPLE".into(),
            mfa_serial: "arn:aws:iam::1:mfa/a".into(),
            endpoint: endpoint(),
        }
    }

    fn role_key() -> SessionKey {
        SessionKey::Role {
            source: Box::new(key()),
            role_arn: "arn:aws:iam::1:role/r".into(),
            session_name: "mfad-r".into(),
            external_id: None,
            options: crate::config::RoleOptions::default(),
            endpoint: endpoint(),
        }
    }

    fn session(lasting: Duration) -> Session {
        Session {
            credentials: TemporaryCredentials {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: SecretString::from("secret"),
                session_token: SecretString::from("token"),
                expiration: now().wall + lasting,
            },
            origin: Origin::Code(CodeSource::Totp),
            renewed_at: now().wall,
        }
    }

    fn start(sessions: &Sessions) -> Arc<Flight> {
        match sessions.lookup(&key(), "dev", false, now()) {
            Lookup::Start(flight) => flight,
            _ => panic!("expected to start a renewal"),
        }
    }

    /// End a renewal of `key()` with this outcome.
    fn end_with(sessions: &Sessions, flight: &Flight, outcome: Result<Session, Failure>) {
        let _ = sessions.finish(&key(), flight, outcome, None, now());
    }

    /// Whether a caller of `key()` would be handed a session at once.
    fn ready(sessions: &Sessions) -> bool {
        matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Ready(_)
        )
    }

    fn sts_down() -> Failure {
        Failure::new(FailureKind::StsUnavailable, "down", "wait")
    }

    #[test]
    fn one_flight_for_concurrent_callers_and_fresh_sessions_are_served() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        assert!(matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Wait(_)
        ));
        let mut done = flight.subscribe();
        end_with(&sessions, &flight, Ok(session(Duration::from_secs(3600))));
        assert!(done.borrow_and_update().as_ref().unwrap().is_ok());
        assert!(ready(&sessions));
    }

    #[test]
    fn a_session_inside_the_renewal_window_is_renewed() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        end_with(
            &sessions,
            &flight,
            Ok(session(Duration::from_secs(14 * 60))),
        );
        assert!(matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Start(_)
        ));
    }

    #[test]
    fn a_failed_renewal_serves_the_still_valid_session() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        end_with(&sessions, &flight, Ok(session(Duration::from_secs(5 * 60))));
        let flight = start(&sessions);
        let mut done = flight.subscribe();
        end_with(&sessions, &flight, Err(sts_down()));
        assert!(done.borrow_and_update().as_ref().unwrap().is_ok());
        assert!(ready(&sessions));
    }

    #[test]
    fn a_repeated_failure_is_marked_so_it_is_told_once() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        let first = sessions.finish(&key(), &flight, Err(sts_down()), None, now());
        assert!(!first.unwrap_err().repeated);
        let flight = Arc::new(Flight {
            askers: Arc::default(),
            done: watch::channel(None).0,
        });
        let second = sessions.finish(&key(), &flight, Err(sts_down()), None, now());
        assert!(second.unwrap_err().repeated);
        end_with(&sessions, &flight, Ok(session(Duration::from_secs(3600))));
        let after_success = sessions.finish(&key(), &flight, Err(sts_down()), None, now());
        assert!(!after_success.unwrap_err().repeated);
    }

    #[test]
    fn an_expired_session_fails_fast_after_a_failure() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        let mut done = flight.subscribe();
        end_with(&sessions, &flight, Err(sts_down()));
        assert!(done.borrow_and_update().as_ref().unwrap().is_err());
        assert!(matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Failed(_)
        ));
        let nobody = Failure::new(FailureKind::NoCodeSource, "nobody", "tty");
        let flight = Arc::new(Flight {
            askers: Arc::default(),
            done: watch::channel(None).0,
        });
        let _ = sessions.finish(&key(), &flight, Err(nobody), None, now());
        assert!(matches!(
            sessions.lookup(&key(), "dev", true, now()),
            Lookup::Start(_)
        ));
    }

    #[test]
    fn a_forgotten_failure_is_tried_afresh_by_the_next_caller() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        end_with(&sessions, &flight, Err(sts_down()));
        assert!(matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Failed(_)
        ));
        sessions.forget_failures(Some("prod"));
        assert!(matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Failed(_)
        ));
        sessions.forget_failures(Some("dev"));
        assert!(matches!(
            sessions.lookup(&key(), "dev", false, now()),
            Lookup::Start(_)
        ));
    }

    #[test]
    fn logout_drops_a_profiles_sessions_and_roles_built_on_them() {
        let sessions = Sessions::default();
        let flight = start(&sessions);
        end_with(&sessions, &flight, Ok(session(Duration::from_secs(3600))));
        sessions.record_handout("dev", &key());
        let handout_role = || {
            let Lookup::Start(flight) = sessions.lookup(&role_key(), "admin", false, now()) else {
                panic!("expected a role renewal")
            };
            let _ = sessions.finish(
                &role_key(),
                &flight,
                Ok(session(Duration::from_secs(3600))),
                None,
                now(),
            );
            sessions.record_handout("admin", &role_key());
        };
        handout_role();
        assert!(sessions.expiration_of("admin").is_some());
        assert!(sessions.logout(Some("prod")).0.is_empty());
        // Logging out of a role keeps the MFA session it was built on.
        let (dropped, profiles) = sessions.logout(Some("admin"));
        assert_eq!(dropped, [role_key()]);
        assert_eq!(profiles.into_iter().collect::<Vec<_>>(), ["admin"]);
        assert!(sessions.expiration_of("dev").is_some());
        // Logging out of the MFA session drops the roles built on it.
        handout_role();
        let (dropped, profiles) = sessions.logout(Some("dev"));
        assert_eq!(dropped.len(), 2);
        assert_eq!(profiles.into_iter().collect::<Vec<_>>(), ["admin", "dev"]);
        assert!(sessions.status().is_empty());
        assert!(sessions.expiration_of("admin").is_none());
    }
}
