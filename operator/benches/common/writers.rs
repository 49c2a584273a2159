//! The operator's watch caches filled for a benchmark as the watches would fill them (structs
//! for the context kinds, compact entries for the judged ones), and the small helpers the
//! operator's benchmarks share: sizes from the environment, CPU time, a line of quantiles.

use hipaa_operator::observe::judged::CompactWriters;
use hipaa_operator::observe::rbac::RbacCaches;
use hipaa_operator::observe::stores::Stores;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde::de::DeserializeOwned;

use super::quantile;

/// One cache writer per kind, fed as a watch's initial list would: structs for the context
/// kinds, compact entries for the judged ones (as the operator caches them).
#[derive(Default)]
pub struct Writers {
    namespaces: Writer<k8s_openapi::api::core::v1::Namespace>,
    pvcs: Writer<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    network_policies: Writer<k8s_openapi::api::networking::v1::NetworkPolicy>,
    storage_classes: Writer<k8s_openapi::api::storage::v1::StorageClass>,
    judged: CompactWriters,
    version: u64,
}

fn put<K: kube::Resource + Clone + DeserializeOwned>(
    writer: &mut Writer<K>,
    value: serde_json::Value,
) where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let object: K = serde_json::from_value(value).unwrap();
    writer.apply_watcher_event(&Event::InitApply(object));
}

impl Writers {
    /// Caches `value` with a resourceVersion, as every object from the API server has one (the
    /// context fingerprints read it instead of hashing the whole object).
    pub fn put(&mut self, mut value: serde_json::Value) {
        if value["metadata"]["resourceVersion"].is_null() {
            self.version += 1;
            value["metadata"]["resourceVersion"] = self.version.to_string().into();
        }
        match value["kind"].as_str().unwrap() {
            "Namespace" => put(&mut self.namespaces, value),
            "PersistentVolumeClaim" => put(&mut self.pvcs, value),
            "NetworkPolicy" => put(&mut self.network_policies, value),
            "StorageClass" => put(&mut self.storage_classes, value),
            _ => self.judged.apply(value, true).unwrap(),
        }
    }

    /// Replaces a judged object after the initial list, as a watch event would (with a new
    /// resourceVersion).
    pub fn update(&mut self, mut value: serde_json::Value) {
        self.version += 1;
        value["metadata"]["resourceVersion"] = self.version.to_string().into();
        self.judged.apply(value, false).unwrap();
    }

    /// Ends every initial list (the caches swap their buffers in) and returns the readers.
    pub fn finish(&mut self) -> Stores {
        self.namespaces.apply_watcher_event(&Event::InitDone);
        self.pvcs.apply_watcher_event(&Event::InitDone);
        self.network_policies.apply_watcher_event(&Event::InitDone);
        self.storage_classes.apply_watcher_event(&Event::InitDone);
        self.judged.init_done();
        Stores {
            namespaces: self.namespaces.as_reader(),
            pvcs: self.pvcs.as_reader(),
            network_policies: self.network_policies.as_reader(),
            storage_classes: self.storage_classes.as_reader(),
            autoscalers: Writer::default().as_reader(),
            judged: self.judged.readers(),
            backup_schedules: Default::default(),
            rbac: RbacCaches::detached(
                Writer::default().as_reader(),
                Writer::default().as_reader(),
                Writer::default().as_reader(),
                Writer::default().as_reader(),
                Writer::default().as_reader(),
            ),
        }
    }
}

/// A size from the environment, e.g. `HIPAA_BENCH_NAMESPACES=100` for a quick run.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Prints the median, p90 and max of `samples` (ms).
pub fn line(what: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    println!(
        "  {what:<30} median {:7.1} ms   p90 {:7.1} ms   max {:7.1} ms",
        quantile(&samples, 0.5),
        quantile(&samples, 0.9),
        quantile(&samples, 1.0)
    )
}

/// User plus system CPU time of this process so far, in seconds (from /proc/self/stat, in
/// clock ticks of 10 ms).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) are utime and stime; `fields` starts at field 3.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}
