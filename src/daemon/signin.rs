//! A person signs in to an sso-session: in a browser on the caller's desktop
//! (authorization code with PKCE, the browser sent back to a loopback port of the
//! daemon), or with the device flow (a code shown on the caller's terminal or in a
//! notification, confirmed in a browser anywhere). One sign-in serves every waiting
//! caller; nobody to show it to fails at once with the remedy.

use super::callback;
use super::state::Daemon;
use crate::config::{SsoFlow, SsoPlan};
use crate::failure::Failure;
use crate::messages;
use crate::mfa::askers::Askers;
use crate::notify::Event;
use crate::sso::{self, DeviceAuthorization, Flow, Grant, Registration, Route, SsoError, Token};
use crate::timefmt::short_duration;
use crate::vocab::CallerEnv;
use std::time::Duration;

/// Who can be shown the sign-in: the callers waiting with a terminal, and the desktop
/// and browser of the caller whose request started it.
pub struct SignIn<'a> {
    pub askers: &'a Askers,
    pub caller_env: &'a CallerEnv,
}

/// SlowDown asks for this much more between polls.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// Sign in, with the registration it was made with.
pub async fn sign_in(
    daemon: &Daemon,
    plan: &SsoPlan,
    with: &SignIn<'_>,
) -> Result<(Token, Registration), Failure> {
    let route = Route {
        session: &plan.session,
        network: &plan.network,
    };
    let browser = browser_of(with.caller_env);
    let flow = match (plan.flow, &browser) {
        (SsoFlow::Browser, Some(_)) => Flow::Browser,
        _ => Flow::Device,
    };
    let desktop = has_desktop(with.caller_env);
    if flow == Flow::Device && with.askers.is_empty() && !desktop && browser.is_none() {
        return Err(messages::sso_nobody_to_sign_in(&plan.session.name));
    }
    let registration = registration(daemon, route, flow).await?;
    let token = match flow {
        Flow::Browser => {
            let browser = browser.expect("chosen for its browser");
            with_browser(daemon, route, &registration, &browser, with).await?
        }
        Flow::Device => with_device_code(daemon, plan, route, &registration, with, browser).await?,
    };
    Ok((token, registration))
}

/// A registration for the flow: the one kept, else a new one (kept until it expires).
async fn registration(
    daemon: &Daemon,
    route: Route<'_>,
    flow: Flow,
) -> Result<Registration, Failure> {
    let now = crate::timefmt::epoch_secs(daemon.now().wall);
    if let Some(kept) = daemon.sso_tokens.registration(route.session, flow, now) {
        return Ok(kept);
    }
    let registration = daemon.sso.register(route, flow).await?;
    daemon
        .sso_tokens
        .keep_registration(route.session, registration.clone());
    Ok(registration)
}

/// How to open a URL on the caller's desktop: its `$BROWSER` (the first of a
/// colon-separated list; `%s` stands for the URL), else the desktop's opener.
pub fn browser_of(env: &CallerEnv) -> Option<String> {
    if let Some(browser) = env.non_empty("BROWSER") {
        return browser.split(':').next().map(str::to_owned);
    }
    if cfg!(target_os = "macos") {
        return Some("open".into());
    }
    has_desktop(env).then(|| "xdg-open".to_owned())
}

fn has_desktop(env: &CallerEnv) -> bool {
    cfg!(target_os = "macos")
        || env.non_empty("DISPLAY").is_some()
        || env.non_empty("WAYLAND_DISPLAY").is_some()
}

/// Open `url` with `browser` in the caller's environment, in a process group of its own
/// and not waited for (it may run the browser itself, which must stay open).
pub fn open(browser: &str, url: &str, env: &CallerEnv) -> Result<(), Failure> {
    let line = if browser.contains("%s") {
        browser.replace("%s", "\"$1\"")
    } else {
        format!("{browser} \"$1\"")
    };
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(line)
        .arg("sh")
        .arg(url)
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|error| messages::browser_not_opened(browser, error))?;
    // Reaped when it ends, whenever that is.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(())
}

/// Authorization code with PKCE: the browser goes to the authorize URL and comes back to
/// a loopback port with the code. The page is named on a waiting terminal too: the
/// browser may have opened out of sight, or not at all.
async fn with_browser(
    daemon: &Daemon,
    route: Route<'_>,
    registration: &Registration,
    browser: &str,
    with: &SignIn<'_>,
) -> Result<Token, Failure> {
    let (listener, redirect_uri) = callback::listen(sso::REDIRECT_PATH).await?;
    let (verifier, challenge) = crate::random::pkce().map_err(Failure::internal)?;
    let state = crate::random::state().map_err(Failure::internal)?;
    let url = sso::authorize_url(route, registration, &redirect_uri, &state, &challenge);
    tracing::info!(
        "signing in to sso-session {} in the caller's browser",
        route.session.name
    );
    open(browser, &url, with.caller_env)?;
    let timeout = daemon.settings.prompt.timeout;
    let text = format!(
        "to sign in to IAM Identity Center ({}), finish the sign-in in the browser; if none opened, open {url}",
        route.session.name
    );
    with.askers.tell(&text, timeout).await;
    let code = tokio::time::timeout(
        timeout,
        callback::wait(
            &listener,
            sso::REDIRECT_PATH,
            &state,
            &callback::Signing {
                what: format!("IAM Identity Center ({})", route.session.name),
                retry: format!("mfad sso login {}", route.session.name),
            },
        ),
    )
    .await
    .map_err(|_| messages::sso_sign_in_timed_out(&route.session.name, short_duration(timeout)))??;
    let grant = Grant::AuthorizationCode {
        code: &code,
        verifier: &verifier,
        redirect_uri: &redirect_uri,
    };
    Ok(daemon.sso.create_token(route, registration, grant).await?)
}

/// The device flow: the person is shown where to confirm a code; mfad polls until they
/// did, honouring the interval and SlowDown.
async fn with_device_code(
    daemon: &Daemon,
    plan: &SsoPlan,
    route: Route<'_>,
    registration: &Registration,
    with: &SignIn<'_>,
    browser: Option<String>,
) -> Result<Token, Failure> {
    let authorization = daemon
        .sso
        .start_device_authorization(route, registration)
        .await?;
    tell(daemon, plan, &authorization, with, browser).await;
    let deadline = tokio::time::Instant::now() + authorization.expires_in;
    let mut interval = authorization.interval;
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            return Err(messages::sso_sign_in_timed_out(
                &plan.session.name,
                short_duration(authorization.expires_in),
            ));
        }
        let grant = Grant::DeviceCode(&authorization.device_code);
        match daemon.sso.create_token(route, registration, grant).await {
            Ok(token) => return Ok(token),
            Err(SsoError::AuthorizationPending) => {}
            Err(SsoError::SlowDown) => interval += SLOW_DOWN_STEP,
            Err(error) => return Err(error.into()),
        }
    }
}

/// Show the person where to confirm the code: on a waiting caller's terminal, else in a
/// notification; and open the page in the caller's browser when there is one.
async fn tell(
    daemon: &Daemon,
    plan: &SsoPlan,
    authorization: &DeviceAuthorization,
    with: &SignIn<'_>,
    browser: Option<String>,
) {
    let page = authorization
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| authorization.verification_uri.clone());
    let text = format!(
        "to sign in to IAM Identity Center ({}), open {page} in a browser and confirm the code {}",
        plan.session.name, authorization.user_code
    );
    let told = with
        .askers
        .tell(&text, daemon.settings.prompt.timeout)
        .await;
    if !told {
        daemon.notifier.send(Event::SsoSignIn {
            session: plan.session.name.clone(),
            page: page.clone(),
            code: authorization.user_code.clone(),
        });
    }
    if let Some(browser) = browser
        && let Err(failure) = open(&browser, &page, with.caller_env)
    {
        tracing::info!("{failure}");
    }
}
