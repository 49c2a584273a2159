//! Benchmark: a full audit (observe the caches, then the engine and the tally) of 10,000
//! workloads across 100 namespaces, plus the memory the operator's caches take with all of it
//! cached. `cargo bench -p hipaa-operator --bench audit`; figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Instant;

use chrono::Utc;
use hipaa_crds::HipaaPolicy;
use hipaa_operator::decide::{AuditInput, audit};
use hipaa_operator::observe::judged::CompactWriters;
use hipaa_operator::observe::stores::Stores;
use hipaa_operator::observe::{Inventory, Observation, observe};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde::de::DeserializeOwned;

use common::*;

const NAMESPACES: usize = 100;
const ITERATIONS: usize = 25;

/// One cache writer per kind, fed as a watch's initial list would: structs for the context
/// kinds, compact entries for the judged ones (as the operator caches them).
#[derive(Default)]
struct Writers {
    namespaces: Writer<k8s_openapi::api::core::v1::Namespace>,
    pvcs: Writer<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    network_policies: Writer<k8s_openapi::api::networking::v1::NetworkPolicy>,
    storage_classes: Writer<k8s_openapi::api::storage::v1::StorageClass>,
    judged: CompactWriters,
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
    fn put(&mut self, value: serde_json::Value) {
        match value["kind"].as_str().unwrap() {
            "Namespace" => put(&mut self.namespaces, value),
            "PersistentVolumeClaim" => put(&mut self.pvcs, value),
            "NetworkPolicy" => put(&mut self.network_policies, value),
            "StorageClass" => put(&mut self.storage_classes, value),
            _ => self.judged.apply(value, true).unwrap(),
        }
    }

    /// Ends every initial list (the caches swap their buffers in) and returns the readers.
    fn finish(&mut self) -> Stores {
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
        }
    }
}

fn main() {
    let (hwm_start, _) = memory_mib();
    let mut writers = Writers::default();
    let mut workloads = 0;
    let mut objects = 0;
    for value in storage_classes() {
        writers.put(value);
    }
    for i in 0..NAMESPACES {
        let name = format!("claims-{i:03}");
        writers.put(namespace(&name, "bench", i));
        for value in namespace_contents(&name) {
            let kind = value["kind"].as_str().unwrap_or_default().to_string();
            if [
                "Deployment",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "CronJob",
                "Pod",
            ]
            .contains(&kind.as_str())
            {
                workloads += 1;
            }
            objects += 1;
            writers.put(value);
        }
    }
    let stores = writers.finish();
    let (hwm_cached, rss_cached) = memory_mib();
    let policy: HipaaPolicy = serde_json::from_value(policy("bench")).unwrap();

    let mut observe_ms = Vec::new();
    let mut decide_ms = Vec::new();
    let mut total_ms = Vec::new();
    let mut last = None;
    let cpu_before = cpu_seconds();
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let inventory = Inventory::from_stores(&stores);
        let observation = observe(&inventory, &policy);
        let context = inventory.cluster_context();
        let observed = Instant::now();
        let result = audit(AuditInput {
            policy: &policy,
            context: &context,
            observation: &observation,
            aws: None,
            previous: None,
            now: Utc::now(),
        });
        let done = Instant::now();
        observe_ms.push((observed - started).as_secs_f64() * 1e3);
        decide_ms.push((done - observed).as_secs_f64() * 1e3);
        total_ms.push((done - started).as_secs_f64() * 1e3);
        last = Some((observation.objects.len(), result));
    }
    let cpu_per_audit = (cpu_seconds() - cpu_before) / ITERATIONS as f64 * 1e3;
    let (mut warm_ms, mut one_namespace_ms, reused) = reusing(&stores, &policy);
    let (hwm_end, rss_end) = memory_mib();
    let parts = anatomy(&stores, &policy);
    let (evaluated, result) = last.unwrap();
    let summary = result.status.summary.clone().unwrap_or_default();
    assert_eq!(
        observe(&Inventory::from_stores(&stores), &policy)
            .scope
            .len(),
        NAMESPACES
    );

    for samples in [
        &mut observe_ms,
        &mut decide_ms,
        &mut total_ms,
        &mut warm_ms,
        &mut one_namespace_ms,
    ] {
        samples.sort_by(f64::total_cmp);
    }
    let line = |what: &str, s: &[f64]| {
        println!(
            "  {what:<28} median {:7.1} ms   p90 {:7.1} ms   max {:7.1} ms",
            quantile(s, 0.5),
            quantile(s, 0.9),
            quantile(s, 1.0)
        )
    };
    println!(
        "operator audit benchmark: {workloads} workloads in {NAMESPACES} namespaces ({objects} namespaced objects, {evaluated} evaluated per audit), {ITERATIONS} audits"
    );
    println!(
        "  result: {} resources evaluated, {} violations ({} critical, {} high, {} medium), score {}",
        summary.resources_evaluated,
        summary.violations,
        summary.critical,
        summary.high,
        summary.medium,
        summary.score
    );
    line("observe (caches -> scope)", &observe_ms);
    line("decide (engine + tally)", &decide_ms);
    line("full audit", &total_ms);
    line("audit, nothing changed", &warm_ms);
    line("audit, one namespace changed", &one_namespace_ms);
    println!(
        "  (the last two reuse the evaluations of unchanged objects: {reused} of {evaluated} reused after a change in one namespace)"
    );
    println!(
        "  CPU time per audit {cpu_per_audit:.1} ms ({} cores available; wall time above depends on what else runs)",
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    );
    println!("{parts}");
    println!("  target: full audit <= 250 ms");
    println!(
        "memory: VmHWM {hwm_start:.1} MiB at start, {hwm_cached:.1} MiB with everything cached (VmRSS {rss_cached:.1} MiB), {hwm_end:.1} MiB after the audits (VmRSS {rss_end:.1} MiB); target <= 150 MiB"
    );
}

/// User plus system CPU time of this process so far, in seconds (from /proc/self/stat, in
/// clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
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

/// The parts of one audit, each timed alone (median of 5): decoding and judging every object on
/// one thread, the same over every core, and the tally.
fn anatomy(stores: &Stores, policy: &HipaaPolicy) -> String {
    use hipaa_controls::policy::EffectivePolicy;
    use hipaa_controls::tally::{ResourceEvaluation, tally};
    use hipaa_operator::decide::evaluate_objects;
    let inventory = Inventory::from_stores(stores);
    let observation = observe(&inventory, policy);
    let context = inventory.cluster_context();
    let effective = EffectivePolicy::from_policy(policy).unwrap();
    let now = Utc::now();
    let median = |mut samples: Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        quantile(&samples, 0.5)
    };
    let time = |f: &mut dyn FnMut()| {
        median(
            (0..5)
                .map(|_| {
                    let started = Instant::now();
                    f();
                    started.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        )
    };
    let single = time(&mut || {
        let one = Observation {
            scope: observation.scope.clone(),
            objects: Vec::new(),
        };
        let mut all: Vec<ResourceEvaluation> = Vec::new();
        for chunk in observation.objects.chunks(512) {
            let part = Observation {
                objects: chunk.to_vec(),
                ..one.clone()
            };
            all.extend(evaluate_objects(&part, &context, &effective, now));
        }
        std::hint::black_box(all);
    });
    let parallel = time(&mut || {
        std::hint::black_box(evaluate_objects(&observation, &context, &effective, now));
    });
    let decode_ms = time(&mut || {
        for cached in &observation.objects {
            std::hint::black_box(cached.to_object().unwrap());
        }
    });
    let decoded: Vec<_> = observation
        .objects
        .iter()
        .map(|c| c.to_object().unwrap())
        .collect();
    let judge_ms = time(&mut || {
        for object in &decoded {
            std::hint::black_box(hipaa_controls::engine::evaluate(
                object,
                &context,
                &effective,
                hipaa_controls::engine::Mode::Audit,
                now,
            ));
        }
    });
    drop(decoded);
    let evaluations = evaluate_objects(&observation, &context, &effective, now);
    let tally_ms = time(&mut || {
        std::hint::black_box(tally(&effective, &evaluations, now));
    });
    format!(
        "  parts (median of 5): decode {decode_ms:.1} ms, judge {judge_ms:.1} ms, both {single:.1} ms on one thread and {parallel:.1} ms over every core; tally {tally_ms:.1} ms"
    )
}

/// Audits that reuse the previous evaluations: with nothing changed, and after a change to one
/// namespace's NetworkPolicy (a different namespace each time). Each includes building the
/// inventory, observing and fingerprinting the context.
fn reusing(stores: &Stores, policy: &HipaaPolicy) -> (Vec<f64>, Vec<f64>, usize) {
    use hipaa_operator::decide::reuse::EvaluationCache;
    use hipaa_operator::decide::{Reuse, audit_reusing};
    let mut cache = EvaluationCache::default();
    let run = |inventory: &Inventory, cache: &mut EvaluationCache| {
        let observation = observe(inventory, policy);
        let context = inventory.cluster_context();
        let fingerprints = inventory.fingerprints();
        let input = AuditInput {
            policy,
            context: &context,
            observation: &observation,
            aws: None,
            previous: None,
            now: Utc::now(),
        };
        audit_reusing(
            input,
            Some(Reuse {
                fingerprints: &fingerprints,
                cache,
            }),
        )
    };
    run(&Inventory::from_stores(stores), &mut cache);
    let mut warm = Vec::new();
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        run(&Inventory::from_stores(stores), &mut cache);
        warm.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let mut one_namespace = Vec::new();
    let mut reused = 0;
    for i in 0..ITERATIONS {
        let started = Instant::now();
        let mut inventory = Inventory::from_stores(stores);
        let target = format!("claims-{i:03}");
        for policy in &mut inventory.context.network_policies {
            if policy.metadata.namespace.as_deref() == Some(target.as_str()) {
                let mut changed = policy.as_ref().clone();
                changed.metadata.annotations =
                    Some([("revision".to_string(), i.to_string())].into());
                *policy = std::sync::Arc::new(changed);
            }
        }
        reused = run(&inventory, &mut cache).reused;
        one_namespace.push(started.elapsed().as_secs_f64() * 1e3);
    }
    (warm, one_namespace, reused)
}
