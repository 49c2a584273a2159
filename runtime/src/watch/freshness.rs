//! Per-watch staleness: since when each cache has been out of sync with the API server, read by
//! `/readyz` (not ready only beyond a bound) and exported as
//! `<prefix>_cache_out_of_sync_seconds{resource}` (0 while in sync).
//!
//! A cache is out of sync from its watch's first failure, or from the start of a relist, until
//! the relist completes or a watch event arrives. It keeps serving its last complete list all
//! the while: being out of sync only says that changes since then may be missing.
//!
//! A watch that resumes from its resourceVersion without a relist says nothing when it succeeds
//! (kube-runtime emits no event for it), and a quiet resource may send nothing for a long time.
//! So a failing watch counts as resumed once no error has come for [`MIN_QUIET`] (35 s: longer
//! than an attempt that hangs until kube's 30 s connect timeout plus the 3 s backoff cap), or for
//! twice the longest gap between its errors if that is longer. A watch that relists (after 410
//! Gone) or sees an event is back in sync at once; one that resumed quietly shows as out of sync
//! for up to 35 s after its last error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use kube::runtime::watcher::{self, Event};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

/// How long a cache may stay out of sync before readiness fails, unless a flag says otherwise.
/// Long on purpose: with `failurePolicy: Fail`, a webhook that is not ready on every replica
/// refuses every judged request cluster-wide, while one answering from a cache some minutes old
/// still enforces every policy it knew.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);

/// The shortest time without an error after which a failed watch counts as resumed.
pub const MIN_QUIET: Duration = Duration::from_secs(35);

/// What a watch event says about its cache's freshness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signal {
    /// The watch failed.
    Failed,
    /// A relist started.
    RelistStarted,
    /// A relist delivered an object: no change.
    Relisting,
    /// A relist completed or a live event arrived: in sync.
    Live,
}

fn signal_of<K>(event: &Result<Event<K>, watcher::Error>) -> Signal {
    match event {
        Err(_) => Signal::Failed,
        Ok(Event::Init) => Signal::RelistStarted,
        Ok(Event::InitApply(_)) => Signal::Relisting,
        Ok(Event::InitDone | Event::Apply(_) | Event::Delete(_)) => Signal::Live,
    }
}

/// One watch's state, as far as freshness goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    /// Out of sync since then (None: in sync).
    since: Option<Instant>,
    last_error: Option<Instant>,
    /// The longest time between two errors of this episode.
    longest_gap: Duration,
    relisting: bool,
}

impl State {
    /// Whether a failed watch has gone quiet long enough to count as resumed.
    fn resumed(&self, now: Instant) -> bool {
        let quiet = MIN_QUIET.max(self.longest_gap.saturating_mul(2));
        !self.relisting
            && self
                .last_error
                .is_some_and(|error| now.saturating_duration_since(error) > quiet)
    }

    fn in_sync(&self, now: Instant) -> bool {
        self.since.is_none() || self.resumed(now)
    }

    fn next(self, signal: Signal, now: Instant) -> State {
        let fresh_episode = State {
            since: Some(now),
            ..State::default()
        };
        match signal {
            Signal::Failed => {
                let mut next = if self.in_sync(now) {
                    fresh_episode
                } else {
                    self
                };
                if let Some(error) = next.last_error {
                    next.longest_gap = next.longest_gap.max(now.saturating_duration_since(error));
                }
                next.last_error = Some(now);
                next.relisting = false;
                next
            }
            Signal::RelistStarted => {
                let mut next = if self.in_sync(now) {
                    fresh_episode
                } else {
                    self
                };
                next.relisting = true;
                next
            }
            Signal::Relisting => self,
            Signal::Live => State::default(),
        }
    }

    fn out_of_sync_for(&self, now: Instant) -> Duration {
        match self.since {
            Some(since) if !self.resumed(now) => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        }
    }
}

/// One watch's freshness.
#[derive(Debug, Default)]
pub struct Freshness {
    state: Mutex<State>,
}

impl Freshness {
    /// Records what `event` says about the cache (call it with every item of the watch stream).
    pub fn observe<K>(&self, event: &Result<Event<K>, watcher::Error>) {
        self.record(signal_of(event), Instant::now());
    }

    fn record(&self, signal: Signal, now: Instant) {
        if let Ok(mut state) = self.state.lock() {
            *state = state.next(signal, now);
        }
    }

    /// How long the cache has been out of sync at `now` (zero while in sync).
    pub fn out_of_sync_for(&self, now: Instant) -> Duration {
        self.state
            .lock()
            .map_or(Duration::ZERO, |state| state.out_of_sync_for(now))
    }
}

/// The freshness of every watch of a process, by resource name.
#[derive(Debug, Default)]
pub struct CacheFreshness {
    watches: RwLock<BTreeMap<String, Arc<Freshness>>>,
}

impl CacheFreshness {
    pub fn new() -> Self {
        CacheFreshness::default()
    }

    /// The record of `resource`'s watch (the same one for the same name).
    pub fn watch(&self, resource: &str) -> Arc<Freshness> {
        if let Ok(mut watches) = self.watches.write() {
            return Arc::clone(watches.entry(resource.to_owned()).or_default());
        }
        Arc::new(Freshness::default())
    }

    /// Every watch and how long it has been out of sync at `now`.
    pub fn out_of_sync(&self, now: Instant) -> Vec<(String, Duration)> {
        self.watches
            .read()
            .map(|watches| {
                watches
                    .iter()
                    .map(|(name, f)| (name.clone(), f.out_of_sync_for(now)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `Err` naming the caches out of sync for longer than `bound` at `now`.
    pub fn readiness(&self, bound: Duration, now: Instant) -> Result<(), String> {
        let stale: Vec<String> = self
            .out_of_sync(now)
            .into_iter()
            .filter(|(_, behind)| *behind > bound)
            .map(|(name, behind)| format!("{name} ({}s)", behind.as_secs()))
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        Err(format!(
            "not ready: watch caches out of sync for longer than {}s: {}",
            bound.as_secs(),
            stale.join(", ")
        ))
    }

    /// The `cache_out_of_sync_seconds` series of these watches, for a registry.
    pub fn collector(self: &Arc<Self>) -> FreshnessCollector {
        FreshnessCollector(Arc::clone(self))
    }
}

/// Encodes `cache_out_of_sync_seconds{resource}` at each scrape.
#[derive(Debug)]
pub struct FreshnessCollector(Arc<CacheFreshness>);

impl Collector for FreshnessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let watches = self.0.out_of_sync(Instant::now());
        let mut family = encoder.encode_descriptor(
            "cache_out_of_sync_seconds",
            "Seconds the watch cache has been out of sync with the API server (0 while in sync)",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (resource, behind) in &watches {
            let labels = [("resource", resource.as_str())];
            let gauge = ConstGauge::new(behind.as_secs_f64());
            gauge.encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn at(base: Instant, seconds: u64) -> Instant {
        base + Duration::from_secs(seconds)
    }

    #[test]
    fn a_failure_starts_the_clock_a_relist_keeps_it_and_its_end_stops_it() {
        let f = Freshness::default();
        let t0 = Instant::now();
        assert_eq!(f.out_of_sync_for(t0), Duration::ZERO);
        f.record(Signal::Failed, at(t0, 1));
        f.record(Signal::Failed, at(t0, 4));
        assert_eq!(f.out_of_sync_for(at(t0, 11)), Duration::from_secs(10));
        f.record(Signal::RelistStarted, at(t0, 12));
        f.record(Signal::Relisting, at(t0, 12));
        assert_eq!(
            f.out_of_sync_for(at(t0, 40)),
            Duration::from_secs(39),
            "relisting"
        );
        f.record(Signal::Live, at(t0, 41));
        assert_eq!(f.out_of_sync_for(at(t0, 50)), Duration::ZERO);
    }

    #[test]
    fn a_watch_that_goes_quiet_after_failing_counts_as_resumed() {
        let f = Freshness::default();
        let t0 = Instant::now();
        for second in [0, 1, 3, 6] {
            f.record(Signal::Failed, at(t0, second));
        }
        // Errors every 3 s at most: quiet for 35 s means resumed.
        assert_eq!(f.out_of_sync_for(at(t0, 41)), Duration::from_secs(41));
        assert_eq!(f.out_of_sync_for(at(t0, 42)), Duration::ZERO);
        // A later failure starts a new episode, not one from t0.
        f.record(Signal::Failed, at(t0, 100));
        assert_eq!(f.out_of_sync_for(at(t0, 105)), Duration::from_secs(5));
    }

    #[test]
    fn a_watch_whose_attempts_hang_stays_out_of_sync_between_them() {
        let f = Freshness::default();
        let t0 = Instant::now();
        f.record(Signal::Failed, at(t0, 0));
        f.record(Signal::Failed, at(t0, 33));
        f.record(Signal::Failed, at(t0, 66));
        // Twice the 33 s gap must pass without an error.
        assert_eq!(f.out_of_sync_for(at(t0, 120)), Duration::from_secs(120));
        assert_eq!(f.out_of_sync_for(at(t0, 133)), Duration::ZERO);
    }

    #[test]
    fn events_map_to_signals() {
        let cm = || ConfigMap::default();
        assert_eq!(
            signal_of::<ConfigMap>(&Ok(Event::Init)),
            Signal::RelistStarted
        );
        assert_eq!(signal_of(&Ok(Event::InitApply(cm()))), Signal::Relisting);
        assert_eq!(signal_of::<ConfigMap>(&Ok(Event::InitDone)), Signal::Live);
        assert_eq!(signal_of(&Ok(Event::Apply(cm()))), Signal::Live);
        assert_eq!(signal_of(&Ok(Event::Delete(cm()))), Signal::Live);
        let failed: Result<Event<ConfigMap>, _> = Err(watcher::Error::NoResourceVersion);
        assert_eq!(signal_of(&failed), Signal::Failed);
    }

    #[test]
    fn readiness_fails_only_beyond_the_bound_and_names_the_stale_caches() {
        let caches = Arc::new(CacheFreshness::new());
        let (pods, policies) = (caches.watch("pods"), caches.watch("hipaapolicies"));
        assert!(Arc::ptr_eq(&pods, &caches.watch("pods")));
        let t0 = Instant::now();
        pods.record(Signal::RelistStarted, t0);
        let bound = Duration::from_secs(60);
        assert_eq!(caches.readiness(bound, at(t0, 60)), Ok(()));
        let error = caches.readiness(bound, at(t0, 61)).unwrap_err();
        assert_eq!(
            error,
            "not ready: watch caches out of sync for longer than 60s: pods (61s)"
        );
        policies.record(Signal::Live, t0);
        pods.record(Signal::Live, at(t0, 62));
        assert_eq!(caches.readiness(bound, at(t0, 600)), Ok(()));
    }

    #[test]
    fn the_collector_exports_one_series_per_watch() {
        let caches = Arc::new(CacheFreshness::new());
        caches
            .watch("pods")
            .record(Signal::Failed, Instant::now() - Duration::from_secs(7));
        caches.watch("namespaces");
        let mut registry = prometheus_client::registry::Registry::with_prefix("test");
        registry.register_collector(Box::new(caches.collector()));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("test_cache_out_of_sync_seconds{resource=\"namespaces\"} 0.0"),
            "{text}"
        );
        let pods = text
            .lines()
            .find_map(|l| l.strip_prefix("test_cache_out_of_sync_seconds{resource=\"pods\"} "))
            .unwrap();
        assert!(pods.parse::<f64>().unwrap() >= 7.0, "{text}");
    }
}
