//! Time as people and SDKs read it: RFC 3339 in UTC with `Z`, and short durations.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-23T16:47:02Z`: what credential_process, starship and the SDKs parse.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Seconds since the epoch, the protocol's representation of an instant.
pub fn epoch_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub fn from_epoch_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// `11h42m`, `8m`, `42s`: a remaining time at a glance.
pub fn short_duration(left: Duration) -> String {
    let secs = left.as_secs();
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_z() {
        assert_eq!(
            rfc3339(from_epoch_secs(1_795_000_000)),
            "2026-11-18T11:06:40Z"
        );
    }

    #[test]
    fn short_durations_read_at_a_glance() {
        assert_eq!(short_duration(Duration::from_secs(42)), "42s");
        assert_eq!(short_duration(Duration::from_secs(8 * 60 + 5)), "8m");
        assert_eq!(
            short_duration(Duration::from_secs(11 * 3600 + 42 * 60)),
            "11h42m"
        );
        assert_eq!(short_duration(Duration::from_secs(3600 + 60)), "1h01m");
    }
}
