//! Time, as the daemon reads it: the wall clock (session expirations, TOTP steps) and a
//! monotonic clock (timeouts, retry pauses), read through a [`Clock`] so that tests can
//! run a session's whole life, a suspend or a clock jump in virtual time.

use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// One reading of both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub wall: SystemTime,
    /// tokio's clock: paused and advanced by tests.
    pub mono: Instant,
}

pub trait Clock: Send + Sync {
    fn now(&self) -> Now;
}

/// The machine's clocks.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }
}

/// A wall clock that follows tokio's (paused) clock from a chosen start, and can jump on
/// its own as after a suspend (the monotonic clock does not count a suspend) or a
/// correction of the system time.
#[cfg(test)]
pub struct TestClock {
    start_wall: SystemTime,
    start_mono: Instant,
    /// Seconds the wall clock was moved by hand (negative: back).
    jumped: std::sync::Mutex<i64>,
}

#[cfg(test)]
impl TestClock {
    pub fn starting_at(wall: SystemTime) -> Self {
        Self {
            start_wall: wall,
            start_mono: Instant::now(),
            jumped: std::sync::Mutex::new(0),
        }
    }

    /// Move the wall clock only: forward for a suspend or a correction, back for one.
    pub fn jump(&self, seconds: i64) {
        *self.jumped.lock().unwrap() += seconds;
    }
}

#[cfg(test)]
impl Clock for TestClock {
    fn now(&self) -> Now {
        let mono = Instant::now();
        let elapsed = mono.duration_since(self.start_mono);
        let jumped = *self.jumped.lock().unwrap();
        let moved = if jumped >= 0 {
            self.start_wall + Duration::from_secs(jumped as u64)
        } else {
            self.start_wall - Duration::from_secs(jumped.unsigned_abs())
        };
        Now {
            wall: moved + elapsed,
            mono,
        }
    }
}

/// How long is left from `now` until `at` (zero once it has passed).
pub fn left_until(at: SystemTime, now: SystemTime) -> Duration {
    at.duration_since(now).unwrap_or_default()
}
