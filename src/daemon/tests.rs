//! The daemon's logic in virtual time: tokio's paused clock drives the monotonic clock
//! and a [`TestClock`] the wall clock; STS is a double that checks codes against a TOTP
//! seed and refuses reuse. A 12-hour session's whole life, a suspend and clock jumps take
//! milliseconds.

use super::ahead;
use super::clock::{Clock, TestClock};
use super::key::SessionKey;
use super::recipe::{Recipe, RenewalRequest};
use super::renewal;
use super::sessions::{Due, Lookup, Origin, Session};
use super::state::Daemon;
use super::stores::Stores;
use crate::config::{KeySource, SessionPlan, StsEndpoint};
use crate::mfa::totp::TotpSecret;
use crate::mfa::used::UsedCodes;
use crate::network::Network;
use crate::settings::Settings;
use crate::store::{LongTermKey, MemoryEntries, Store};
use crate::sts::{BoxFuture, RoleRequest, Route, Sts, StsError, TemporaryCredentials};
use crate::vocab::{CallerEnv, CodeSource, MIN_LEFT_TO_HAND_OUT};
use secrecy::{ExposeSecret, SecretString};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const HOUR: Duration = Duration::from_secs(3600);

/// What the double has seen.
#[derive(Debug, Default)]
struct Seen {
    sessions: usize,
    wrong_codes: usize,
    reused_codes: usize,
    accepted: HashSet<String>,
    /// Every code sent, in order, faulted calls included.
    presented: Vec<String>,
}

/// STS for the unit tests: GetSessionToken checks the code against the seed at STS's
/// time (±1 step), refuses a code it accepted before, and issues sessions of `lifetime`.
struct StsDouble {
    clock: Arc<TestClock>,
    totp: TotpSecret,
    lifetime: Duration,
    /// Seconds STS's clock is ahead of the test clock's wall time.
    skew: Mutex<i64>,
    seen: Mutex<Seen>,
    /// Answered, one per call, before anything is checked.
    faults: Mutex<VecDeque<StsError>>,
}

impl StsDouble {
    fn at_sts(&self) -> SystemTime {
        let local = self.clock.now().wall;
        let skew = *self.skew.lock().unwrap();
        if skew >= 0 {
            local + Duration::from_secs(skew as u64)
        } else {
            local - Duration::from_secs(skew.unsigned_abs())
        }
    }

    fn issue(
        &self,
        serial: &str,
        code: &str,
        route: Route<'_>,
    ) -> Result<TemporaryCredentials, StsError> {
        let sts_now = self.at_sts();
        route.clock.record(sts_now, self.clock.now().wall);
        let t = sts_now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let mut seen = self.seen.lock().unwrap();
        seen.presented.push(code.to_owned());
        if let Some(fault) = self.faults.lock().unwrap().pop_front() {
            return Err(fault);
        }
        if seen.accepted.contains(code) {
            seen.reused_codes += 1;
            return Err(StsError::CodeRejected);
        }
        let valid = [t - 30, t, t + 30].map(|at| self.totp.code_at(at));
        if serial != SERIAL || !valid.iter().any(|v| v == code) {
            seen.wrong_codes += 1;
            return Err(StsError::CodeRejected);
        }
        seen.accepted.insert(code.to_owned());
        seen.sessions += 1;
        Ok(TemporaryCredentials {
            access_key_id: format!("ASIATEST{:04}", seen.sessions),
            secret_access_key: SecretString::from("session-secret"),
            session_token: SecretString::from("session-token"),
            expiration: sts_now + self.lifetime,
        })
    }
}

impl Sts for StsDouble {
    fn get_session_token<'a>(
        &'a self,
        route: Route<'a>,
        _key: &'a LongTermKey,
        serial: &'a str,
        code: &'a SecretString,
        _duration: Duration,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, StsError>> {
        Box::pin(async move { self.issue(serial, code.expose_secret(), route) })
    }

    fn assume_role<'a>(
        &'a self,
        _route: Route<'a>,
        _source: &'a TemporaryCredentials,
        _role: &'a RoleRequest<'a>,
    ) -> BoxFuture<'a, Result<TemporaryCredentials, StsError>> {
        Box::pin(async { unreachable!("no roles in these tests") })
    }
}

/// A daemon whose clock, STS and store are the test's, with alice's TOTP secret stored.
struct World {
    daemon: Arc<Daemon>,
    clock: Arc<TestClock>,
    sts: Arc<StsDouble>,
}

impl World {
    fn new(lifetime: Duration) -> Self {
        // A step boundary, so that tests know where in its step each code is.
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = Arc::new(TestClock::starting_at(start));
        let totp = TotpSecret::parse(SEED).unwrap();
        let sts = Arc::new(StsDouble {
            clock: clock.clone(),
            totp: totp.clone(),
            lifetime,
            skew: Mutex::new(0),
            seen: Mutex::default(),
            faults: Mutex::default(),
        });
        let store = Store::Memory(MemoryEntries::default());
        store.save_totp(SERIAL, &totp.to_uri()).unwrap();
        let mut settings = Settings::default();
        settings.notifications.enabled = false;
        let daemon = Daemon::with_seams(
            settings,
            UsedCodes::default(),
            clock.clone(),
            sts.clone(),
            Stores::fixed(store),
        );
        Self {
            daemon: Arc::new(daemon),
            clock,
            sts,
        }
    }

    fn request(&self) -> RenewalRequest {
        let endpoint = StsEndpoint {
            region: "us-east-1".into(),
            url: Some("http://sts.invalid".into()),
        };
        let long_term = LongTermKey {
            access_key_id: "AKIATESTALICE0000001".into(),
            secret_access_key: SecretString::from("long-term-secret"),
        };
        RenewalRequest {
            key: SessionKey::Mfa {
                access_key_id: long_term.access_key_id.clone(),
                mfa_serial: SERIAL.into(),
                endpoint: endpoint.clone(),
            },
            plan: SessionPlan {
                profile: "dev".into(),
                key: KeySource::Static {
                    profile: "base".into(),
                    key: long_term.clone(),
                },
                mfa_serial: SERIAL.into(),
                mfa_process: None,
                duration: 12 * HOUR,
                note: None,
                sts: endpoint,
                network: Network::default(),
            },
            long_term,
            profile: "dev".into(),
            caller_env: CallerEnv::default(),
            desktop: false,
        }
    }

    /// What a caller gets: the cached session, or the one a renewal it starts or joins
    /// brings. Returns the session and whether the caller had to wait for a renewal.
    async fn ask(&self) -> (Arc<Session>, bool) {
        let request = self.request();
        let now = self.daemon.now();
        let flight = match self.daemon.sessions.lookup(&request.key, "dev", false, now) {
            Lookup::Ready(session) => return (session, false),
            Lookup::Failed(failure) => panic!("{failure}"),
            Lookup::Wait(flight) => flight,
            Lookup::Start(flight) => {
                let done = flight.subscribe();
                renewal::run(self.daemon.clone(), request, flight).await;
                let outcome = done.borrow().clone().expect("the renewal finished");
                return (outcome.expect("a session"), true);
            }
        };
        let mut done = flight.subscribe();
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .unwrap()
            .clone()
            .unwrap();
        (outcome.expect("a session"), true)
    }

    fn left(&self, session: &Session) -> Duration {
        session.time_left(self.clock.now().wall)
    }
}

#[tokio::test(start_paused = true)]
async fn a_twelve_hour_session_is_renewed_ahead_all_day_and_no_caller_waits() {
    let world = World::new(12 * HOUR);
    let (first, waited) = world.ask().await;
    assert!(waited, "the first caller starts the first session");
    assert_eq!(first.origin, Origin::Code(CodeSource::Totp));
    let scheduler = tokio::spawn(ahead::run(world.daemon.clone()));
    // Two days of callers, one every ten minutes: none waits, none gets a session in
    // botocore's refresh window.
    for _ in 0..(48 * 6) {
        tokio::time::sleep(Duration::from_secs(600)).await;
        let (session, waited) = world.ask().await;
        assert!(!waited, "a caller waited for STS");
        assert!(world.left(&session) > MIN_LEFT_TO_HAND_OUT);
    }
    scheduler.abort();
    let seen = world.sts.seen.lock().unwrap();
    // Renewed every 11 h 40 min (20 min before the end): at 11:40, 23:20, 35:00, 46:40.
    assert_eq!(seen.sessions, 5, "{seen:?}");
    assert_eq!(seen.wrong_codes + seen.reused_codes, 0, "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn after_a_suspend_longer_than_the_session_the_first_caller_gets_a_new_one() {
    let world = World::new(12 * HOUR);
    let (first, _) = world.ask().await;
    // The machine sleeps 13 hours: the wall clock moves, the monotonic clock does not.
    world.clock.jump(13 * 3600);
    let (after, waited) = world.ask().await;
    assert!(waited, "an expired session was handed out");
    assert_ne!(
        after.credentials.access_key_id,
        first.credentials.access_key_id
    );
    assert!(world.left(&after) > 11 * HOUR);
}

#[tokio::test(start_paused = true)]
async fn renewal_ahead_catches_up_at_once_after_a_resume() {
    let world = World::new(12 * HOUR);
    world.ask().await;
    world.clock.jump(13 * 3600);
    // The first look after the resume renews; no caller has asked yet.
    ahead::look_once(&world.daemon);
    let key = world.request().key;
    // Polled in virtual time: each sleep lets the clock (and the renewal) move on.
    let renewed = async {
        loop {
            if let Some(session) = world.daemon.sessions.current(&key, world.clock.now().wall) {
                return session;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let session = tokio::time::timeout(Duration::from_secs(5), renewed)
        .await
        .expect("renewed at the first look");
    assert!(world.left(&session) > 11 * HOUR);
    assert_eq!(world.sts.seen.lock().unwrap().sessions, 2);
}

#[tokio::test(start_paused = true)]
async fn a_session_from_a_person_is_announced_once_and_at_once_after_a_resume() {
    let world = World::new(12 * HOUR);
    let request = world.request();
    let sessions = &world.daemon.sessions;
    let now = world.daemon.now();
    let Lookup::Start(flight) = sessions.lookup(&request.key, "dev", true, now) else {
        panic!("a first renewal")
    };
    let typed = Session {
        credentials: TemporaryCredentials {
            access_key_id: "ASIATYPED".into(),
            secret_access_key: SecretString::from("s"),
            session_token: SecretString::from("t"),
            expiration: now.wall + 12 * HOUR,
        },
        origin: Origin::Code(CodeSource::Terminal),
        renewed_at: now.wall,
    };
    let _ = sessions.finish(&request.key, &flight, Ok(typed), None, now);
    sessions.keep_recipe(&request.key, Recipe::Mfa(request.clone()));
    let settings = &world.daemon.settings;
    let due = |world: &World| {
        sessions.due(
            settings.renew_before,
            settings.notifications.expiry_lead,
            world.daemon.now(),
        )
    };
    assert!(due(&world).is_empty());
    // Asleep past the announcement time: the first look after the resume announces…
    world.clock.jump(11 * 3600 + 45 * 60);
    let announced = due(&world);
    assert!(
        matches!(announced.as_slice(), [Due::Announce { left, .. }] if *left == 15 * 60 * Duration::from_secs(1)),
        "{}",
        announced.len()
    );
    // …once; and a session that needs a person is never renewed in the background.
    assert!(due(&world).is_empty());
    world.clock.jump(3600);
    assert!(due(&world).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_second_session_in_the_same_step_waits_for_the_next_code() {
    let world = World::new(12 * HOUR);
    world.ask().await;
    world.daemon.sessions.logout(None);
    let before = tokio::time::Instant::now();
    world.ask().await;
    // The first code's step had to run out (30 s steps; the test started on a boundary).
    assert_eq!(before.elapsed(), Duration::from_secs(30));
    let seen = world.sts.seen.lock().unwrap();
    assert_eq!(
        (seen.sessions, seen.reused_codes, seen.wrong_codes),
        (2, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_skewed_clock_costs_one_rejected_code_then_codes_follow_sts() {
    let world = World::new(12 * HOUR);
    *world.sts.skew.lock().unwrap() = 95;
    world.ask().await;
    assert_eq!(world.daemon.sts_clock.correction_secs(), 95);
    world.daemon.sessions.logout(None);
    tokio::time::sleep(Duration::from_secs(60)).await;
    world.ask().await;
    let seen = world.sts.seen.lock().unwrap();
    assert_eq!(
        (seen.sessions, seen.wrong_codes, seen.reused_codes),
        (2, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_clock_that_jumps_ahead_sends_no_code_twice() {
    let world = World::new(12 * HOUR);
    world.ask().await;
    world.daemon.sessions.logout(None);
    // The local clock jumps ten minutes ahead of STS, within the first code's step: the
    // first code is wrong for STS, the corrected one is the code already sent.
    world.clock.jump(600);
    *world.sts.skew.lock().unwrap() = -600;
    world.ask().await;
    let seen = world.sts.seen.lock().unwrap();
    assert_eq!(seen.reused_codes, 0, "{seen:?}");
    assert_eq!(seen.sessions, 2, "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn a_clock_that_jumps_back_renews_nothing_early() {
    let world = World::new(12 * HOUR);
    let scheduler = tokio::spawn(ahead::run(world.daemon.clone()));
    world.ask().await;
    world.clock.jump(-3 * 3600);
    tokio::time::sleep(6 * HOUR).await;
    let (_, waited) = world.ask().await;
    assert!(!waited);
    assert_eq!(world.sts.seen.lock().unwrap().sessions, 1);
    scheduler.abort();
}

#[tokio::test(start_paused = true)]
async fn callers_behind_a_throttling_and_a_500_get_one_session_and_no_code_goes_twice() {
    let world = World::new(12 * HOUR);
    world.sts.faults.lock().unwrap().extend([
        StsError::Throttled {
            message: "Rate exceeded".into(),
        },
        StsError::ServerError {
            status: 500,
            code: "InternalFailure".into(),
        },
    ]);
    let world = Arc::new(world);
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let world = world.clone();
            tokio::spawn(async move { world.ask().await.0.credentials.access_key_id.clone() })
        })
        .collect();
    let mut keys = HashSet::new();
    for caller in callers {
        keys.insert(caller.await.expect("every caller is served"));
    }
    assert_eq!(keys.len(), 1, "one session for all: {keys:?}");
    let seen = world.sts.seen.lock().unwrap();
    assert_eq!(seen.sessions, 1, "{seen:?}");
    assert_eq!(seen.presented.len(), 3, "{seen:?}");
    let distinct: HashSet<_> = seen.presented.iter().collect();
    assert_eq!(distinct.len(), 3, "a code was sent twice: {seen:?}");
    assert_eq!(seen.reused_codes + seen.wrong_codes, 0, "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fault_that_lasts_fails_the_callers_after_the_retries() {
    let world = World::new(12 * HOUR);
    let throttled = || StsError::Throttled {
        message: "Rate exceeded".into(),
    };
    world
        .sts
        .faults
        .lock()
        .unwrap()
        .extend((0..10).map(|_| throttled()));
    let request = world.request();
    let now = world.daemon.now();
    let Lookup::Start(flight) = world
        .daemon
        .sessions
        .lookup(&request.key, "dev", false, now)
    else {
        panic!("a first renewal")
    };
    let done = flight.subscribe();
    renewal::run(world.daemon.clone(), request, flight).await;
    let outcome = done.borrow().clone().expect("the renewal finished");
    let failure = outcome.expect_err("throttled throughout");
    assert!(failure.message.contains("throttling"), "{failure}");
    let seen = world.sts.seen.lock().unwrap();
    // A try at each of three 30 s steps: the minute of retries is over.
    assert_eq!(seen.presented.len(), 3, "{seen:?}");
    let distinct: HashSet<_> = seen.presented.iter().collect();
    assert_eq!(distinct.len(), 3, "a code was sent twice: {seen:?}");
}
