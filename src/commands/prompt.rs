//! `mfad prompt [PROFILE]`: a shell-prompt segment such as `dev 11h42m`.
//!
//! It runs before every prompt, so it never starts the daemon, never asks for anything,
//! gives up after [`DEADLINE`], prints nothing when there is nothing to say, and always
//! exits 0.

use crate::client::{Client, Start};
use crate::paths::DaemonPaths;
use crate::protocol::{Request, Response};
use crate::timefmt::{from_epoch_secs, rfc3339, short_duration};
use crate::vocab::MIN_LEFT_TO_HAND_OUT;
use std::io::Write;
use std::time::{Duration, SystemTime};

/// The longest a prompt may wait for the daemon.
pub const DEADLINE: Duration = Duration::from_millis(50);

pub fn run(profile: Option<&str>, format: &str) {
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .filter(|p| !p.is_empty());
    let Some(profile) = profile else { return };
    if let Some((expiration, window)) = expiration(&profile) {
        let segment = render(format, &profile, (expiration, window), SystemTime::now());
        let _ = writeln!(std::io::stdout(), "{segment}");
    }
}

/// When the daemon's session for the profile expires, and how long before that it is
/// renewed; `None` for any failure (including a socket that is not the user's own
/// daemon's).
fn expiration(profile: &str) -> Option<(SystemTime, Duration)> {
    let paths = DaemonPaths::from_env();
    let mut client = Client::connect_within(&paths, Start::Never, DEADLINE).ok()?;
    let request = Request::Peek {
        profile: profile.to_owned(),
    };
    match client.request(&request).ok()? {
        Response::Expiration {
            expiration,
            renewal_window,
        } => {
            let window = renewal_window.map_or(MIN_LEFT_TO_HAND_OUT, Duration::from_secs);
            expiration.map(|at| (from_epoch_secs(at), window))
        }
        _ => None,
    }
}

/// Fill the template: `{profile}`, `{left}` (`11h42m`, `expired`), `{mark}` (`!` inside
/// the renewal window), `{expires}` (RFC 3339), `{state}` (`ok`, `renew`, `expired`).
/// The renewal window is the session's own: 15 minutes, 10 for `aws login` credentials
/// (which last 15).
pub fn render(
    format: &str,
    profile: &str,
    (expiration, window): (SystemTime, Duration),
    now: SystemTime,
) -> String {
    let (left, mark, state) = match expiration.duration_since(now) {
        Ok(left) if left > window => (short_duration(left), "", "ok"),
        Ok(left) if !left.is_zero() => (short_duration(left), "!", "renew"),
        _ => ("expired".to_owned(), "", "expired"),
    };
    format
        .replace("{profile}", profile)
        .replace("{left}", &left)
        .replace("{mark}", mark)
        .replace("{expires}", &rfc3339(expiration))
        .replace("{state}", state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAT: &str = "{profile} {left}{mark}";

    #[test]
    fn segments_for_each_state() {
        let now = SystemTime::now();
        let at = |secs: u64| now + Duration::from_secs(secs);
        assert_eq!(
            render(
                FORMAT,
                "dev",
                (at(11 * 3600 + 42 * 60 + 5), MIN_LEFT_TO_HAND_OUT),
                now
            ),
            "dev 11h42m"
        );
        assert_eq!(
            render(FORMAT, "dev", (at(8 * 60 + 5), MIN_LEFT_TO_HAND_OUT), now),
            "dev 8m!"
        );
        // `aws login` credentials last 15 minutes and are renewed in their last 10.
        let login = crate::vocab::AWS_LOGIN_REFRESH_AHEAD;
        assert_eq!(
            render(FORMAT, "dev", (at(12 * 60 + 5), login), now),
            "dev 12m"
        );
        assert_eq!(
            render(FORMAT, "dev", (at(8 * 60 + 5), login), now),
            "dev 8m!"
        );
        assert_eq!(
            render(
                FORMAT,
                "dev",
                (now - Duration::from_secs(5), MIN_LEFT_TO_HAND_OUT),
                now
            ),
            "dev expired"
        );
        assert_eq!(
            render(
                "{state}:{profile}",
                "dev",
                (at(60), MIN_LEFT_TO_HAND_OUT),
                now
            ),
            "renew:dev"
        );
        assert_eq!(
            render(
                "{expires}",
                "dev",
                (from_epoch_secs(1_795_000_000), MIN_LEFT_TO_HAND_OUT),
                now
            ),
            "2026-11-18T11:06:40Z"
        );
    }
}
