//! How every watch of both binaries retries after a failure, and how stale its cache may be.
//!
//! kube-runtime's default backoff (client-go's: 800 ms doubling to 30 s, reset only after two
//! quiet minutes) kept the caches about 60 s behind an API server that restarted in a few seconds
//! (measured 2026-12-05: a HipaaPolicy created after the restart was enforced after 61-66 s).
//! [`watch_backoff`] starts at 250 ms, doubles to a 3 s cap, draws each delay from the upper half
//! of its step (so that replicas do not retry in step), and starts over after any success (the
//! wrapper resets it on every `Ok`); a 410 Gone (an expired resourceVersion) relists at once. A
//! cache is back at most about 3 s after its API server.
//!
//! [`CacheFreshness`] records, per watch, since when its cache has been out of sync (a failed
//! watch or an unfinished relist); readiness and the `cache_out_of_sync_seconds` series read it.

mod freshness;
mod retry;

use std::time::Duration;

use kube::runtime::utils::Backoff;

pub use freshness::{
    CacheFreshness, DEFAULT_STALE_AFTER, Freshness, FreshnessCollector, MIN_QUIET,
};
pub use retry::{is_expired, with_watch_backoff};

/// The first delay after a failure.
pub const WATCH_BACKOFF_START: Duration = Duration::from_millis(250);
/// The longest delay between two attempts.
pub const WATCH_BACKOFF_CAP: Duration = Duration::from_secs(3);

/// The delay before attempt `failures + 1`: `WATCH_BACKOFF_START * 2^failures`, capped, scaled
/// into `[1/2, 1]` of itself by `unit` (a uniform draw in `[0, 1]`).
pub fn watch_backoff_delay(failures: u32, unit: f64) -> Duration {
    let doublings = failures.min(16);
    let step = WATCH_BACKOFF_START
        .saturating_mul(1_u32 << doublings)
        .min(WATCH_BACKOFF_CAP);
    step.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// The backoff of every watch in both binaries (see the module's documentation); applied by
/// [`with_watch_backoff`].
#[derive(Debug, Clone, Default)]
pub struct WatchBackoff {
    failures: u32,
}

/// A new [`WatchBackoff`].
pub fn watch_backoff() -> WatchBackoff {
    WatchBackoff::default()
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = watch_backoff_delay(self.failures, random_unit());
        self.failures = self.failures.saturating_add(1);
        Some(delay)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A uniform draw in `[0, 1)`, from the standard library's randomly seeded hasher (no RNG crate
/// for a jitter).
fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    // The top 53 bits, as many as an f64 holds exactly.
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn delays_start_short_double_and_stop_at_the_cap() {
        let upper: Vec<Duration> = (0..6).map(|n| watch_backoff_delay(n, 1.0)).collect();
        assert_eq!(
            upper,
            [250, 500, 1000, 2000, 3000, 3000].map(Duration::from_millis)
        );
        assert_eq!(watch_backoff_delay(0, 0.0), Duration::from_millis(125));
        assert_eq!(
            watch_backoff_delay(u32::MAX, 0.0),
            Duration::from_millis(1500)
        );
        assert_eq!(
            watch_backoff_delay(3, 7.0),
            Duration::from_secs(2),
            "clamped"
        );
    }

    #[test]
    fn jitter_stays_in_the_upper_half_and_a_reset_starts_over() {
        let mut backoff = watch_backoff();
        let delays: Vec<Duration> = backoff.by_ref().take(20).collect();
        for (n, delay) in delays.iter().enumerate() {
            let step = watch_backoff_delay(u32::try_from(n).unwrap(), 1.0);
            assert!(*delay >= step / 2 && *delay <= step, "{n}: {delay:?}");
        }
        assert!(delays.iter().all(|d| *d <= WATCH_BACKOFF_CAP));
        backoff.reset();
        assert!(backoff.next().unwrap() <= WATCH_BACKOFF_START);
    }

    #[test]
    fn six_failures_in_a_row_wait_under_ten_seconds_in_all() {
        // kube-runtime's default waits 0.8+1.6+3.2+6.4+12.8+25.6 = 50.4 s (before jitter).
        let total: Duration = (0..6).map(|n| watch_backoff_delay(n, 1.0)).sum();
        assert!(total < Duration::from_secs(10), "{total:?}");
    }
}
