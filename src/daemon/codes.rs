//! Getting an MFA code and sending it with GetSessionToken.
//!
//! Sources, in order: the TOTP secret stored for the serial, the profile's `mfa_process`,
//! then a person: at a waiting caller's terminal, else (for renewals that may) in a
//! dialog on the caller's desktop. Every code is claimed in the user's record of used
//! codes before it is sent, so no code ever reaches STS twice for a serial, whichever
//! of the user's daemons sends it.

use super::recipe::RenewalRequest;
use super::sessions::{Origin, Session};
use super::state::Daemon;
use super::stores::Asking;
use crate::bounded::{self, FILE_TIME_LIMIT};
use crate::failure::Explain;
use crate::failure::{Failure, FailureKind};
use crate::messages;
use crate::mfa::askers::{AskError, Askers};
use crate::mfa::desktop::Echo;
use crate::mfa::totp::TotpSecret;
use crate::mfa::used::{Step, UsedCodes};
use crate::mfa::{command, desktop, looks_like_code};
use crate::notify::Event;
use crate::store::StoreError;
use crate::sts::{self, StsError, TemporaryCredentials};
use crate::vocab::CallerEnv;
use crate::vocab::CodeSource;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// A person gets this many tries at typing a code STS accepts.
pub const PERSON_TRIES: usize = 3;

/// How many times a renewal tries again after STS throttled it or failed on its side,
/// each time with a fresh code (the one sent may have counted), while its callers wait;
/// and for how long after the first try it still does (with 30 s code steps: three tries
/// in a minute).
const TRANSIENT_RETRIES: u32 = 3;
const TRANSIENT_WITHIN: Duration = Duration::from_secs(60);

/// The retries left to a renewal after transient faults.
struct Retries {
    done: u32,
    since: tokio::time::Instant,
}

impl Retries {
    fn new() -> Self {
        Self {
            done: 0,
            since: tokio::time::Instant::now(),
        }
    }

    /// Whether this fault is retried (then after a wait, which this takes).
    async fn after(&mut self, error: &StsError, serial: &str) -> bool {
        if !error.is_transient()
            || self.done >= TRANSIENT_RETRIES
            || self.since.elapsed() >= TRANSIENT_WITHIN
        {
            return false;
        }
        self.done += 1;
        let wait = backoff(self.done);
        tracing::warn!(
            "{error} for {serial}; trying again in {:.1}s with a fresh code ({} of {TRANSIENT_RETRIES})",
            wait.as_secs_f64(),
            self.done
        );
        tokio::time::sleep(wait).await;
        true
    }
}
/// The first wait after a transient fault; it doubles with each retry, up to the cap.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// The wait before retry number `retry` (from 1): exponential, with half of it random so
/// that the user's daemons do not retry in step.
fn backoff(retry: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let full = (BACKOFF_BASE * 2u32.pow(retry.saturating_sub(1).min(8))).min(BACKOFF_CAP);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let half = full / 2;
    half + half.mul_f64((random % 1000) as f64 / 1000.0)
}

/// The dialog a person at the caller's desktop can be asked in, if any.
pub async fn desktop_dialog(daemon: &Daemon, env: &CallerEnv) -> Option<desktop::Dialog> {
    // Looking for zenity or kdialog reads the directories of PATH.
    let (driver, env) = (daemon.settings.prompt.driver.clone(), env.clone());
    bounded::offload("PATH", FILE_TIME_LIMIT, move || {
        desktop::choose(&driver, &env)
    })
    .await
    .ok()
    .flatten()
}

/// A new MFA session, with a code from the first source that has one.
pub async fn new_session(
    daemon: &Daemon,
    request: &RenewalRequest,
    askers: &Askers,
) -> Result<Session, Failure> {
    let dialog = if request.desktop {
        desktop_dialog(daemon, &request.caller_env).await
    } else {
        None
    };
    let asking = Asking {
        askers,
        dialog: dialog.clone(),
        timeout: daemon.settings.prompt.timeout,
    };
    let serial = request.plan.mfa_serial.clone();
    let stored_totp = match daemon
        .stores
        .for_caller(&request.caller_env, Some(&asking))
        .await
    {
        Ok(store) => {
            daemon
                .in_store(store, move |store| store.load_totp(&serial))
                .await
        }
        Err(e) => Err(e),
    };
    let serial = &request.plan.mfa_serial;
    let (totp, store_problem) = match stored_totp {
        Ok(Some(uri)) => (
            Some(
                TotpSecret::parse(uri.expose_secret())
                    .map_err(|e| messages::totp_secret_unusable(serial, e))?,
            ),
            None,
        ),
        Ok(None) => (None, None),
        // No store at all is the common case of people who type their codes.
        Err(problem @ (StoreError::Unavailable(_) | StoreError::NotThere(_))) => {
            tracing::debug!("no TOTP secret of {serial} from the secret store: {problem}");
            (None, None)
        }
        // A store that is there but locked or refusing may well hold the secret: the
        // other sources may still give a code; if none does, this is why.
        Err(problem) => {
            tracing::info!("no TOTP secret of {serial} from the secret store: {problem}");
            (None, Some(problem))
        }
    };
    let (credentials, code_source) = if let Some(totp) = totp {
        (
            with_derived_code(daemon, request, &totp).await?,
            CodeSource::Totp,
        )
    } else if let Some(command) = &request.plan.mfa_process {
        (
            with_process_code(daemon, request, command).await?,
            CodeSource::MfaProcess,
        )
    } else {
        with_person(daemon, request, askers, dialog.as_ref())
            .await
            .map_err(|failure| match store_problem {
                Some(problem) if failure.kind == FailureKind::NoCodeSource => {
                    store_unreadable(request, &problem)
                }
                _ => failure,
            })?
    };
    Ok(Session {
        credentials,
        origin: Origin::Code(code_source),
        renewed_at: daemon.now().wall,
    })
}

/// Nobody can be asked, and the store that may hold the TOTP secret could not be read.
fn store_unreadable(request: &RenewalRequest, problem: &StoreError) -> Failure {
    let serial = &request.plan.mfa_serial;
    messages::store_unreadable(serial, &request.profile, problem, &problem.remedy())
}

/// Why a code was not sent, or what STS said to it.
enum SendError {
    /// The code was already sent near this step (by this daemon or another of the user).
    Used,
    /// The record of used codes could not be consulted, so the code was not sent.
    Record(Failure),
    Sts(StsError),
}

/// The time step a code is sent in, at STS's time.
fn step_now(daemon: &Daemon, period: u64) -> Step {
    Step {
        at: daemon.sts_clock.at_sts(daemon.now().wall),
        period,
    }
}

/// Run an operation on the record of used codes off the async workers.
async fn on_record<T: Send + 'static>(
    daemon: &Daemon,
    operation: impl FnOnce(&UsedCodes) -> T + Send + 'static,
) -> Result<T, Failure> {
    let used = daemon.used_codes.clone();
    let key = format!("used codes {:?}", used.path());
    bounded::offload(&key, FILE_TIME_LIMIT, move || operation(&used))
        .await
        .map_err(messages::used_codes_record_hangs)
}

/// Send one code, claiming it in the record of used codes first (and giving the claim
/// back if the call never got a connection to STS, so the code is still good).
async fn send_code(
    daemon: &Daemon,
    request: &RenewalRequest,
    code: &SecretString,
    step: Step,
) -> Result<TemporaryCredentials, SendError> {
    let (serial, text) = (
        request.plan.mfa_serial.clone(),
        code.expose_secret().to_owned(),
    );
    let claimed = on_record(daemon, move |used| used.claim(&serial, &text, step))
        .await
        .map_err(SendError::Record)?;
    if !claimed {
        return Err(SendError::Used);
    }
    let route = sts::Route {
        endpoint: &request.plan.sts,
        network: &request.plan.network,
        clock: &daemon.sts_clock,
        timeouts: daemon.settings.sts_timeouts,
    };
    let result = daemon
        .sts
        .get_session_token(
            route,
            &request.long_term,
            &request.plan.mfa_serial,
            code,
            request.plan.duration,
        )
        .await;
    if let Err(error) = &result
        && !error.code_spent()
    {
        let (serial, text) = (
            request.plan.mfa_serial.clone(),
            code.expose_secret().to_owned(),
        );
        let _ = on_record(daemon, move |used| used.release(&serial, &text, step)).await;
    }
    result.map_err(SendError::Sts)
}

impl SendError {
    /// The failure a caller sees when nothing more can be tried.
    fn into_failure(self, serial: &str) -> Failure {
        match self {
            Self::Used => messages::code_already_sent(serial),
            Self::Record(failure) => failure,
            Self::Sts(error) => sts_failure(&error),
        }
    }
}

/// A code derived from the stored secret at STS's time; retried once when the rejection
/// revealed a clock skew that the first code did not account for. A code already sent
/// (by this daemon or another of the user's) is waited out, one step at a time.
async fn with_derived_code(
    daemon: &Daemon,
    request: &RenewalRequest,
    totp: &TotpSecret,
) -> Result<TemporaryCredentials, Failure> {
    let serial = &request.plan.mfa_serial;
    let mut tried_with_skew = None;
    let mut retries = Retries::new();
    loop {
        let correction = daemon.sts_clock.correction_secs();
        let step = step_now(daemon, totp.period());
        let code = SecretString::from(totp.code_at(step.at));
        match send_code(daemon, request, &code, step).await {
            Err(SendError::Used) => {
                let wait = Duration::from_secs(totp.period() - step.at % totp.period());
                tracing::info!(
                    "the code of this step was already used for {serial}; waiting {}s for the next",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
            }
            Err(SendError::Sts(StsError::CodeRejected)) => {
                daemon.notifier.send(Event::CodeRejected {
                    profile: request.profile.clone(),
                    serial: serial.clone(),
                });
                let skew_changed = daemon.sts_clock.correction_secs() != correction;
                if skew_changed && tried_with_skew.is_none() {
                    tried_with_skew = Some(daemon.sts_clock.correction_secs());
                    tracing::warn!(
                        "clock skew of {}s measured from STS; retrying with a corrected code",
                        daemon.sts_clock.correction_secs()
                    );
                    continue;
                }
                let skew = daemon.sts_clock.skew_secs().unwrap_or(0);
                return Err(messages::derived_code_rejected(serial, skew));
            }
            // The code sent is spent: the next try waits for the next step's.
            Err(SendError::Sts(error)) => {
                if !retries.after(&error, serial).await {
                    return Err(sts_failure(&error));
                }
            }
            other => return other.map_err(|e| e.into_failure(serial)),
        }
    }
}

/// The step length assumed for codes mfad did not derive itself (most devices use 30 s).
const ASSUMED_PERIOD: u64 = 30;

async fn with_process_code(
    daemon: &Daemon,
    request: &RenewalRequest,
    mfa_process: &str,
) -> Result<TemporaryCredentials, Failure> {
    let serial = &request.plan.mfa_serial;
    let run = || async {
        let result = command::run(mfa_process, serial, &request.caller_env).await;
        match result {
            Err(_) if let Some(explained) = daemon.loops.explain(serial) => Err(explained),
            other => other,
        }
    };
    let mut retries = Retries::new();
    loop {
        let code = run().await?;
        let step = step_now(daemon, ASSUMED_PERIOD);
        let sent = match send_code(daemon, request, &code, step).await {
            // A command that prints the same code again is waited out, one step at most.
            Err(SendError::Used) => {
                let wait = ASSUMED_PERIOD - step.at % ASSUMED_PERIOD;
                tracing::info!(
                    "mfa_process printed a code already used; running it again in {wait}s"
                );
                tokio::time::sleep(Duration::from_secs(wait)).await;
                let code = run().await?;
                match send_code(daemon, request, &code, step_now(daemon, ASSUMED_PERIOD)).await {
                    Err(SendError::Used) => {
                        return Err(messages::mfa_process_repeated_a_code(serial));
                    }
                    other => other,
                }
            }
            other => other,
        };
        return match sent {
            Err(SendError::Sts(StsError::CodeRejected)) => {
                Err(messages::mfa_process_code_rejected(serial))
            }
            // Run the command again for a fresh code.
            Err(SendError::Sts(error)) => {
                if retries.after(&error, serial).await {
                    continue;
                }
                Err(sts_failure(&error))
            }
            other => other.map_err(|e| e.into_failure(serial)),
        };
    }
}

/// Ask a person, up to [`PERSON_TRIES`] times: at a waiting caller's terminal, else on
/// the desktop when the renewal may.
async fn with_person(
    daemon: &Daemon,
    request: &RenewalRequest,
    askers: &Askers,
    dialog: Option<&desktop::Dialog>,
) -> Result<(TemporaryCredentials, CodeSource), Failure> {
    let serial = &request.plan.mfa_serial;
    let question = format!("MFA code for profile {} ({serial})", request.profile);
    if askers.is_empty() && dialog.is_none() {
        return Err(ask_failure(AskError::NobodyToAsk, daemon, request));
    }
    daemon.notifier.send(Event::CodeNeeded {
        profile: request.profile.clone(),
        serial: serial.clone(),
    });
    let mut remark = String::new();
    let mut asked_again = false;
    // A try asked again after a transient fault of STS's is not the person's to lose.
    let mut attempt = 0;
    while attempt < PERSON_TRIES {
        attempt += 1;
        let prompt = format!("{remark}{question}: ");
        let (code, source) = ask_person(daemon, request, askers, dialog, &prompt)
            .await
            .map_err(|e| ask_failure(e, daemon, request))?;
        let tries_left = PERSON_TRIES - attempt;
        let code_text = code.expose_secret().trim().to_owned();
        if !looks_like_code(&code_text) {
            remark = format!("That is not a 6-digit code ({tries_left} tries left). ");
            continue;
        }
        let step = step_now(daemon, ASSUMED_PERIOD);
        match send_code(daemon, request, &SecretString::from(code_text), step).await {
            Err(SendError::Used) => {
                remark = format!(
                    "That code was already used; wait for the next one ({tries_left} tries left). "
                );
            }
            Err(SendError::Sts(StsError::CodeRejected)) => {
                daemon.notifier.send(Event::CodeRejected {
                    profile: request.profile.clone(),
                    serial: serial.clone(),
                });
                remark = format!("AWS rejected that code ({tries_left} tries left). ");
            }
            // Asked again once, for a fresh code: the one typed may have counted.
            Err(SendError::Sts(error)) if error.is_transient() && !asked_again => {
                asked_again = true;
                attempt -= 1;
                tracing::warn!("{error} for {serial}; asking for a fresh code");
                remark = format!("{error}; wait for the next code and type it. ");
            }
            other => {
                return other
                    .map(|c| (c, source))
                    .map_err(|e| e.into_failure(serial));
            }
        }
    }
    Err(messages::typed_codes_rejected(serial, PERSON_TRIES))
}

/// One question to a person: the first waiting caller with a terminal, else the dialog.
async fn ask_person(
    daemon: &Daemon,
    request: &RenewalRequest,
    askers: &Askers,
    dialog: Option<&desktop::Dialog>,
    prompt: &str,
) -> Result<(SecretString, CodeSource), AskError> {
    let timeout = daemon.settings.prompt.timeout;
    match (askers.ask(prompt, timeout).await, dialog) {
        (Ok(code), _) => Ok((code, CodeSource::Terminal)),
        (Err(AskError::NobodyToAsk), Some(dialog)) => {
            desktop::ask(dialog, prompt, Echo::Shown, &request.caller_env, timeout)
                .await
                .map(|code| (code, CodeSource::Desktop))
        }
        (Err(e), _) => Err(e),
    }
}

fn ask_failure(error: AskError, daemon: &Daemon, request: &RenewalRequest) -> Failure {
    let serial = &request.plan.mfa_serial;
    match error {
        AskError::NobodyToAsk => messages::nobody_to_ask(serial, &request.profile),
        AskError::DialogFailed(said) => messages::dialog_failed(serial, &said),
        AskError::Cancelled => messages::prompt_cancelled(),
        AskError::TimedOut => messages::prompt_timed_out(daemon.settings.prompt.timeout),
    }
}

pub(super) fn sts_failure(error: &StsError) -> Failure {
    error.clone().into()
}
