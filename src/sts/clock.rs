//! STS's clock as measured from the `Date` header of its answers, so that codes derived
//! from a stored secret are computed at STS's time whatever the local clock says.

use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::date_time::Format;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// How far STS's clock is from ours, measured from the `Date` header of its answers.
/// Derived TOTP codes are computed at STS's time, so a skewed local clock does not break
/// them.
#[derive(Debug, Default)]
pub struct StsClock {
    skew_secs: Mutex<Option<i64>>,
}

impl StsClock {
    /// A difference below this is the `Date` header's resolution plus network delay.
    pub const NOISE_SECS: i64 = 3;

    pub fn record(&self, server_date: SystemTime, received_at: SystemTime) {
        let skew = match server_date.duration_since(received_at) {
            Ok(ahead) => ahead.as_secs() as i64,
            Err(behind) => -(behind.duration().as_secs() as i64),
        };
        *self.skew_secs.lock().unwrap() = Some(skew);
    }

    /// The last measured skew (positive: STS is ahead of us).
    pub fn skew_secs(&self) -> Option<i64> {
        *self.skew_secs.lock().unwrap()
    }

    /// The skew worth correcting for: zero when within noise or not yet measured.
    pub fn correction_secs(&self) -> i64 {
        self.skew_secs()
            .filter(|skew| skew.abs() > Self::NOISE_SECS)
            .unwrap_or(0)
    }

    /// A local time as STS sees it, in Unix seconds.
    pub fn at_sts(&self, local: SystemTime) -> u64 {
        let local = local
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        (local + self.correction_secs()).max(0) as u64
    }
}

/// Records the `Date` of every STS answer, successful or not, into a [`StsClock`].
#[derive(Debug)]
pub(super) struct DateRecorder(pub(super) Arc<StsClock>);

impl Intercept for DateRecorder {
    fn name(&self) -> &'static str {
        "mfad::DateRecorder"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let received_at = SystemTime::now();
        let date = context.response().headers().get("date");
        if let Some(date) =
            date.and_then(|d| aws_smithy_types::DateTime::from_str(d, Format::HttpDate).ok())
            && let Ok(date) = SystemTime::try_from(date)
        {
            self.0.record(date, received_at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn skew_below_noise_is_not_corrected() {
        let clock = StsClock::default();
        let now = SystemTime::now();
        clock.record(now + Duration::from_secs(2), now);
        assert_eq!(clock.skew_secs(), Some(2));
        assert_eq!(clock.correction_secs(), 0);
        clock.record(now - Duration::from_secs(95), now);
        assert_eq!(clock.correction_secs(), -95);
    }
}
