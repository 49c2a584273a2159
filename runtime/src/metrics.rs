//! The series every Prometheus target is expected to export besides its own:
//! `<prefix>_build_info` and the standard `process_*` metrics, appended to the component's
//! registry at each scrape; and [`ConditionGauge`], a 0/1 gauge read at each scrape (`ready`,
//! `caches_synced`), so that the alerts see what `/readyz` sees.

use std::fmt;
use std::sync::Arc;

use crate::process::ProcessCollector;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The revision the binaries were built from, when the build sets `HIPAA_GUARD_REVISION` (for
/// example `HIPAA_GUARD_REVISION=$(git rev-parse --short=12 HEAD)`; `make images` does). Read at
/// compile time rather than by a build script, so a `--locked` build of a source archive with no
/// git checkout works unchanged and reports `unknown`.
pub const REVISION: Option<&str> = option_env!("HIPAA_GUARD_REVISION");

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    revision: &'static str,
}

/// `<prefix>_build_info` and the `process_*` series of this process.
#[derive(Debug)]
pub struct StandardMetrics {
    registry: Registry,
}

impl StandardMetrics {
    /// The series of the binary whose metrics are prefixed `prefix` (e.g. `hipaaguard_webhook`),
    /// at `version` (its `CARGO_PKG_VERSION`).
    pub fn new(prefix: &str, version: &'static str) -> Self {
        let mut registry = Registry::default();
        let revision = REVISION.filter(|r| !r.is_empty()).unwrap_or("unknown");
        registry.sub_registry_with_prefix(prefix).register(
            "build",
            "Always 1; the labels say which build is running",
            Info::new(BuildLabels { version, revision }),
        );
        // Unprefixed: `process_*` are the names every exporter uses.
        registry.register_collector(Box::new(ProcessCollector::new()));
        StandardMetrics { registry }
    }

    /// Appends the text exposition of `component`'s registry, then these series, then the
    /// closing `# EOF` to `out`.
    pub fn encode(&self, out: &mut String, component: &Registry) -> Result<(), std::fmt::Error> {
        text::encode_registry(out, component)?;
        text::encode_registry(out, &self.registry)?;
        text::encode_eof(out)
    }
}

/// A gauge that is 1 while `condition` holds, asked at each scrape: the same answer the admin
/// port gives at that moment, without a second place to keep in step.
pub struct ConditionGauge {
    name: &'static str,
    help: &'static str,
    condition: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl ConditionGauge {
    /// `name` is registered under the registry's prefix (e.g. `ready`).
    pub fn new(
        name: &'static str,
        help: &'static str,
        condition: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Self {
        ConditionGauge {
            name,
            help,
            condition: Arc::new(condition),
        }
    }
}

impl fmt::Debug for ConditionGauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionGauge")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Collector for ConditionGauge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let gauge = ConstGauge::new(i64::from((self.condition)()));
        let metric = encoder.encode_descriptor(self.name, self.help, None, gauge.metric_type())?;
        gauge.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use prometheus_client::metrics::counter::Counter;

    #[test]
    fn the_component_comes_first_then_build_info_and_process_metrics_then_eof() {
        let mut component = Registry::with_prefix("hipaaguard_test");
        let counter = Counter::<u64>::default();
        component.register("things", "Things", counter.clone());
        counter.inc();
        let standard = StandardMetrics::new("hipaaguard_test", "1.2.3");
        let mut out = String::new();
        standard.encode(&mut out, &component).unwrap();

        let things = out.find("hipaaguard_test_things_total 1\n").expect(&out);
        let revision = REVISION.filter(|r| !r.is_empty()).unwrap_or("unknown");
        let build =
            format!("hipaaguard_test_build_info{{version=\"1.2.3\",revision=\"{revision}\"}} 1\n");
        let build_at = out.find(&build).expect(&out);
        assert!(things < build_at, "{out}");
        assert!(out.ends_with("# EOF\n"), "{out}");
        assert_eq!(out.matches("# EOF").count(), 1, "{out}");
        if cfg!(target_os = "linux") {
            for series in [
                "process_cpu_seconds_total ",
                "process_resident_memory_bytes ",
                "process_virtual_memory_bytes ",
                "process_open_fds ",
                "process_max_fds ",
                "process_start_time_seconds ",
            ] {
                assert!(out.contains(&format!("\n{series}")), "{series}: {out}");
            }
        }
    }

    #[test]
    fn a_condition_gauge_follows_its_condition_at_each_scrape() {
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut registry = Registry::with_prefix("hipaaguard_test");
        let flag = Arc::clone(&ready);
        registry.register_collector(Box::new(ConditionGauge::new(
            "ready",
            "1 while ready",
            move || flag.load(std::sync::atomic::Ordering::Relaxed),
        )));
        let scrape = || {
            let mut out = String::new();
            text::encode(&mut out, &registry).unwrap();
            out
        };
        let before = scrape();
        assert!(
            before.contains("# TYPE hipaaguard_test_ready gauge\n"),
            "{before}"
        );
        assert!(before.contains("\nhipaaguard_test_ready 0\n"), "{before}");
        ready.store(true, std::sync::atomic::Ordering::Relaxed);
        let after = scrape();
        assert!(after.contains("\nhipaaguard_test_ready 1\n"), "{after}");
    }
}
