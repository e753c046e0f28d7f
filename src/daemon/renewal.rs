//! Obtaining a new MFA session: find a code, call GetSessionToken, handle a rejection.
//!
//! Code sources are tried in order: the TOTP secret stored for the serial, the profile's
//! `mfa_process`, then a person through a waiting caller's terminal. Every code is marked
//! used before it is sent, so no code ever reaches STS twice for a serial.

use super::Daemon;
use super::sessions::{Flight, Origin, Session, SessionKey};
use crate::config::RolePlan;
use crate::config::{CallerEnv, SessionPlan};
use crate::failure::{Failure, FailureKind};
use crate::mfa::prompt::{ANSWER_TIMEOUT, AskError, Askers};
use crate::mfa::totp::TotpSecret;
use crate::mfa::{CodeSource, looks_like_code, process};
use crate::store::{self, LongTermKey};
use crate::sts::{self, StsError, TemporaryCredentials};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A person gets this many tries at typing a code STS accepts.
pub const PERSON_TRIES: usize = 3;

/// What one renewal needs to know about the request that started it.
pub struct RenewalRequest {
    pub key: SessionKey,
    pub plan: SessionPlan,
    pub long_term: LongTermKey,
    /// The profile whose request started the renewal (named in prompts).
    pub profile: String,
    pub caller_env: CallerEnv,
}

/// Run a renewal to its end and publish the outcome to every waiting caller.
pub async fn run(daemon: Arc<Daemon>, request: RenewalRequest, flight: Arc<Flight>) {
    let result = obtain(&daemon, &request, &flight.askers).await;
    match &result {
        Ok(session) => tracing::info!(
            profile = %request.profile,
            serial = %request.plan.mfa_serial,
            code_from = ?session.origin,
            expires = %crate::timefmt::rfc3339(session.credentials.expiration),
            "new MFA session"
        ),
        Err(failure) => tracing::warn!(
            profile = %request.profile,
            serial = %request.plan.mfa_serial,
            "renewal failed: {failure}"
        ),
    }
    let note = request.plan.note.clone().or_else(|| {
        result
            .as_ref()
            .ok()
            .and_then(|s| capped_note(&request.plan, &s.credentials))
    });
    daemon.sessions.finish(&request.key, &flight, result, note);
}

/// Assume a role with the credentials of its source session and publish the outcome.
pub async fn run_role(
    daemon: Arc<Daemon>,
    (key, role, source): (SessionKey, RolePlan, Arc<Session>),
    flight: Arc<Flight>,
) {
    let request = sts::RoleRequest {
        role_arn: &role.role_arn,
        session_name: &role.session_name,
        external_id: role.external_id.as_deref(),
        duration: role.duration,
    };
    let result = sts::assume_role(
        &role.sts,
        &source.credentials,
        &request,
        &daemon.clock,
        daemon.settings.sts_timeouts,
    )
    .await
    .map(|credentials| Session {
        credentials,
        origin: Origin::Role,
        renewed_at: SystemTime::now(),
    })
    .map_err(|error| role_failure(error, &role));
    match &result {
        Ok(session) => tracing::info!(
            role = %role.role_arn,
            expires = %crate::timefmt::rfc3339(session.credentials.expiration),
            "assumed role"
        ),
        Err(failure) => {
            tracing::warn!(role = %role.role_arn, "assuming the role failed: {failure}")
        }
    }
    daemon
        .sessions
        .finish(&key, &flight, result, role.note.clone());
}

fn role_failure(error: StsError, role: &RolePlan) -> Failure {
    match error {
        StsError::Refused { code, message } => Failure::new(
            FailureKind::Sts,
            format!(
                "AWS refused to assume {} ({code}: {message})",
                role.role_arn
            ),
            "check mfad_role_arn, and that the role's trust policy lets this user assume it (with MFA)",
        ),
        other => sts_failure(other),
    }
}

async fn obtain(
    daemon: &Daemon,
    request: &RenewalRequest,
    askers: &Askers,
) -> Result<Session, Failure> {
    let serial = request.plan.mfa_serial.clone();
    let stored_totp = tokio::task::spawn_blocking(move || store::load_totp(&serial))
        .await
        .map_err(Failure::internal)?;
    let totp = match stored_totp {
        Ok(Some(uri)) => Some(TotpSecret::parse(uri.expose_secret()).map_err(|e| {
            Failure::new(
                FailureKind::Store,
                format!(
                    "the TOTP secret stored for {} is unusable ({e})",
                    request.plan.mfa_serial
                ),
                format!(
                    "store it again with mfad totp add {}",
                    request.plan.mfa_serial
                ),
            )
        })?),
        Ok(None) => None,
        // No store here: fall through to the other sources rather than fail.
        Err(e) => {
            tracing::debug!("no TOTP secret from the store: {e}");
            None
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
        (
            with_person(daemon, request, askers).await?,
            CodeSource::Terminal,
        )
    };
    Ok(Session {
        credentials,
        origin: Origin::Code(code_source),
        renewed_at: SystemTime::now(),
    })
}

/// Send one code, marking it used first.
async fn send_code(
    daemon: &Daemon,
    request: &RenewalRequest,
    code: &SecretString,
) -> Result<TemporaryCredentials, StsError> {
    daemon
        .used_codes
        .mark_used(&request.plan.mfa_serial, code.expose_secret());
    sts::get_session_token(
        &request.plan.sts,
        &request.long_term,
        &request.plan.mfa_serial,
        code,
        request.plan.duration,
        &daemon.clock,
        daemon.settings.sts_timeouts,
    )
    .await
}

/// A code derived from the stored secret at STS's time; retried once when the rejection
/// revealed a clock skew that the first code did not account for.
async fn with_derived_code(
    daemon: &Daemon,
    request: &RenewalRequest,
    totp: &TotpSecret,
) -> Result<TemporaryCredentials, Failure> {
    let serial = &request.plan.mfa_serial;
    let mut tried_with_skew = None;
    loop {
        let correction = daemon.clock.correction_secs();
        let code = next_unused_derived_code(daemon, serial, totp).await;
        match send_code(daemon, request, &code).await {
            Err(StsError::CodeRejected) => {
                let skew_changed = daemon.clock.correction_secs() != correction;
                if skew_changed && tried_with_skew.is_none() {
                    tried_with_skew = Some(daemon.clock.correction_secs());
                    tracing::warn!(
                        "clock skew of {}s measured from STS; retrying with a corrected code",
                        daemon.clock.correction_secs()
                    );
                    continue;
                }
                let skew = daemon.clock.skew_secs().unwrap_or(0);
                return Err(Failure::new(
                    FailureKind::CodeRejected,
                    format!(
                        "AWS rejected the code derived from the TOTP secret stored for {serial} (clock skew to STS: {skew}s)"
                    ),
                    format!(
                        "check that the secret belongs to {serial} (store it again with mfad totp add {serial}) and that the system clock is right"
                    ),
                ));
            }
            other => return other.map_err(sts_failure),
        }
    }
}

/// The code of the current step at STS's time, or of the next step if the current one
/// was already sent.
async fn next_unused_derived_code(
    daemon: &Daemon,
    serial: &str,
    totp: &TotpSecret,
) -> SecretString {
    loop {
        let now = daemon.clock.now_at_server();
        let code = totp.code_at(now);
        if !daemon.used_codes.was_used(serial, &code) {
            return SecretString::from(code);
        }
        let into_step = now % totp.period();
        let wait = Duration::from_secs(totp.period() - into_step);
        tracing::info!(
            "the code of this step was already used for {serial}; waiting {}s for the next",
            wait.as_secs()
        );
        tokio::time::sleep(wait).await;
    }
}

async fn with_process_code(
    daemon: &Daemon,
    request: &RenewalRequest,
    command: &str,
) -> Result<TemporaryCredentials, Failure> {
    let serial = &request.plan.mfa_serial;
    let run = || async {
        let result = process::run(command, serial, &request.caller_env).await;
        if result.is_err() && daemon.loops_refused.lock().unwrap().remove(serial) {
            return Err(super::credentials::loop_failure(serial));
        }
        result
    };
    let mut code = run().await?;
    // A command that prints the same code again is waited out, one step at most.
    if daemon.used_codes.was_used(serial, code.expose_secret()) {
        let step = 30 - daemon.clock.now_at_server() % 30;
        tracing::info!("mfa_process printed a code already used; running it again in {step}s");
        tokio::time::sleep(Duration::from_secs(step)).await;
        code = run().await?;
        if daemon.used_codes.was_used(serial, code.expose_secret()) {
            return Err(Failure::new(
                FailureKind::CodeRejected,
                format!("mfa_process printed a code that was already sent to AWS for {serial}"),
                "make mfa_process print the current code of the device",
            ));
        }
    }
    match send_code(daemon, request, &code).await {
        Err(StsError::CodeRejected) => Err(Failure::new(
            FailureKind::CodeRejected,
            format!("AWS rejected the code printed by mfa_process for {serial}"),
            "check that mfa_process prints the code of the device named by mfa_serial",
        )),
        other => other.map_err(sts_failure),
    }
}

/// Ask a person at a waiting caller's terminal, up to [`PERSON_TRIES`] times.
async fn with_person(
    daemon: &Daemon,
    request: &RenewalRequest,
    askers: &Askers,
) -> Result<TemporaryCredentials, Failure> {
    let serial = &request.plan.mfa_serial;
    let question = format!("MFA code for profile {} ({serial})", request.profile);
    let mut remark = String::new();
    for attempt in 1..=PERSON_TRIES {
        let prompt = format!("{remark}{question}: ");
        let code = askers
            .ask(&prompt, ANSWER_TIMEOUT)
            .await
            .map_err(|e| ask_failure(e, request))?;
        let tries_left = PERSON_TRIES - attempt;
        let code_text = code.expose_secret().trim().to_owned();
        if !looks_like_code(&code_text) {
            remark = format!("That is not a 6-digit code ({tries_left} tries left). ");
            continue;
        }
        if daemon.used_codes.was_used(serial, &code_text) {
            remark = format!(
                "That code was already used; wait for the next one ({tries_left} tries left). "
            );
            continue;
        }
        match send_code(daemon, request, &SecretString::from(code_text)).await {
            Err(StsError::CodeRejected) => {
                remark = format!("AWS rejected that code ({tries_left} tries left). ");
            }
            other => return other.map_err(sts_failure),
        }
    }
    Err(Failure::new(
        FailureKind::CodeRejected,
        format!("AWS rejected {PERSON_TRIES} codes for {serial}"),
        "check that mfa_serial names the device whose codes you typed, and that the device's clock is right",
    ))
}

fn ask_failure(error: AskError, request: &RenewalRequest) -> Failure {
    let serial = &request.plan.mfa_serial;
    match error {
        AskError::NobodyToAsk => Failure::new(
            FailureKind::NoCodeSource,
            format!("an MFA code for {serial} is needed and there is no terminal to ask on"),
            format!(
                "run `mfad process {}` once in a terminal, store the TOTP secret with `mfad totp add {serial}`, or set mfa_process",
                request.profile
            ),
        ),
        AskError::Cancelled => Failure::new(
            FailureKind::PromptCancelled,
            "the MFA prompt was cancelled",
            "run the command again and type the code",
        ),
        AskError::TimedOut => Failure::new(
            FailureKind::PromptCancelled,
            format!(
                "nobody typed an MFA code within {}s",
                ANSWER_TIMEOUT.as_secs()
            ),
            "run the command again and type the code",
        ),
    }
}

fn sts_failure(error: StsError) -> Failure {
    let kind = if error.is_outage() {
        FailureKind::StsUnavailable
    } else if matches!(error, StsError::CodeRejected) {
        FailureKind::CodeRejected
    } else {
        FailureKind::Sts
    };
    Failure::new(kind, error.to_string(), error.remedy())
}

/// A note when STS returned a shorter session than asked (the root account's 1 h cap).
fn capped_note(plan: &SessionPlan, credentials: &TemporaryCredentials) -> Option<String> {
    let lasting = credentials
        .expiration
        .duration_since(SystemTime::now())
        .ok()?;
    let shortfall = plan.duration.checked_sub(lasting)?;
    (plan.duration > Duration::from_secs(3600) && shortfall > Duration::from_secs(300)).then(|| {
        format!(
            "STS granted {} instead of the {} asked; root account sessions last at most 1h",
            crate::timefmt::short_duration(lasting),
            crate::timefmt::short_duration(plan.duration)
        )
    })
}
