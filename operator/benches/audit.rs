//! Benchmark: the operator's audit of 100,000 workloads across 1,000 namespaces (observe the
//! caches, then the engine and the tally): a full audit, one with nothing changed, one after a
//! change in one namespace (and, by phase, one with nothing changed), the tally's merge, and the
//! memory (cached, peak, after).
//! `cargo bench -p hipaa-operator --bench audit`; `HIPAA_BENCH_NAMESPACES=100` (100 workloads
//! each) and `HIPAA_BENCH_AUDITS=3` for a quick run. Figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Instant;

use chrono::Utc;
use hipaa_crds::HipaaPolicy;
use hipaa_operator::decide::{AuditInput, audit};
use hipaa_operator::observe::stores::Stores;
use hipaa_operator::observe::{Inventory, Observation, observe};

use common::writers::{Writers, cpu_seconds, env_usize, line};
use common::*;

fn main() {
    let namespaces = env_usize("HIPAA_BENCH_NAMESPACES", 1_000);
    let iterations = env_usize("HIPAA_BENCH_AUDITS", 10);
    let (hwm_start, _) = memory_mib();
    let mut writers = Writers::default();
    let mut workloads = 0;
    for value in storage_classes() {
        writers.put(value);
    }
    for i in 0..namespaces {
        let name = format!("claims-{i:04}");
        writers.put(namespace(&name, "bench", i));
        for value in namespace_contents(&name) {
            let kind = value["kind"].as_str().unwrap_or_default();
            if WORKLOAD_KINDS.contains(&kind) {
                workloads += 1;
            }
            writers.put(value);
        }
    }
    let stores = writers.finish();
    let (hwm_cached, rss_cached) = memory_mib();
    let policy: HipaaPolicy = serde_json::from_value(policy("bench")).unwrap();

    let mut observe_ms = Vec::new();
    let mut total_ms = Vec::new();
    let mut evaluated = 0;
    let mut summary = Default::default();
    let cpu_before = cpu_seconds();
    for _ in 0..iterations {
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
        total_ms.push((done - started).as_secs_f64() * 1e3);
        evaluated = observation.objects.len();
        summary = result.status.summary.clone().unwrap_or_default();
    }
    let cpu_per_audit = (cpu_seconds() - cpu_before) / iterations as f64 * 1e3;
    assert_eq!(
        observe(&Inventory::from_stores(&stores), &policy)
            .scope
            .len(),
        namespaces
    );
    let reusing = reusing(&stores, &policy, iterations);
    let (hwm_end, rss_end) = memory_mib();
    let parts = anatomy(&stores, &policy);
    let (hwm_all, rss_all) = memory_mib();

    println!(
        "operator audit benchmark: {workloads} workloads in {namespaces} namespaces ({evaluated} objects evaluated per audit), {iterations} audits of each kind"
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
    line("observe (caches -> scope)", observe_ms);
    line("full audit", total_ms);
    line("audit, nothing changed", reusing.unchanged_ms);
    line("audit, one namespace changed", reusing.one_namespace_ms);
    println!("{}", reusing.phases);
    line("  of which the tally (merge)", reusing.tally_ms);
    println!(
        "  ({} of {evaluated} evaluations reused after a change in one namespace)",
        reusing.reused
    );
    println!(
        "  CPU time per full audit {cpu_per_audit:.1} ms ({} cores available; wall time above depends on what else runs)",
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    );
    println!("{parts}");
    println!(
        "  targets (100,000 workloads, 1,000 namespaces): one-namespace change <= 100 ms, full audit <= 1 s"
    );
    println!(
        "memory: VmHWM {hwm_start:.1} MiB at start; everything cached: VmHWM {hwm_cached:.1} MiB, VmRSS {rss_cached:.1} MiB"
    );
    println!(
        "  after the audits (evaluation cache kept): peak VmHWM {hwm_end:.1} MiB, VmRSS {rss_end:.1} MiB; target peak <= 400 MiB"
    );
    println!(
        "  after the parts timed alone (all evaluations held twice): VmHWM {hwm_all:.1} MiB, VmRSS {rss_all:.1} MiB"
    );
}

const WORKLOAD_KINDS: [&str; 6] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
];

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
            aws: Default::default(),
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
        "  parts (median of 5): decode {decode_ms:.1} ms, judge {judge_ms:.1} ms, both {single:.1} ms on one thread and {parallel:.1} ms over every core; tally of everything from scratch {tally_ms:.1} ms"
    )
}

/// What the audits that reuse the previous ones measured.
struct Reusing {
    /// The phases of an audit with nothing changed, as a line to print.
    phases: String,
    unchanged_ms: Vec<f64>,
    one_namespace_ms: Vec<f64>,
    /// The tally's merge after each one-namespace change, timed again alone.
    tally_ms: Vec<f64>,
    reused: usize,
}

/// Audits that reuse the previous evaluations and tally parts: with nothing changed, and after
/// a change to one namespace's NetworkPolicy (a different namespace each time, which
/// re-evaluates everything in it). Each includes building the inventory, observing and
/// fingerprinting the context.
fn reusing(stores: &Stores, policy: &HipaaPolicy, iterations: usize) -> Reusing {
    use hipaa_controls::policy::EffectivePolicy;
    use hipaa_controls::tally::tally_parts;
    use hipaa_operator::decide::reuse::EvaluationCache;
    use hipaa_operator::decide::{Reuse, audit_reusing};
    let effective = EffectivePolicy::from_policy(policy).unwrap();
    let mut cache = EvaluationCache::default();
    // Each phase of the audits with nothing changed, to show where a reusing audit's time goes.
    let mut phases: Vec<[f64; 6]> = Vec::new();
    let mut run = |inventory: Inventory, cache: &mut EvaluationCache, snapshot_ms: Option<f64>| {
        let mut marks = [Instant::now(); 6];
        let observation = observe(&inventory, policy);
        marks[1] = Instant::now();
        let context = inventory.cluster_context();
        marks[2] = Instant::now();
        let fingerprints = inventory.fingerprints();
        marks[3] = Instant::now();
        let input = AuditInput {
            policy,
            context: &context,
            observation: &observation,
            aws: None,
            previous: None,
            now: Utc::now(),
        };
        let audit = audit_reusing(
            input,
            Some(Reuse {
                fingerprints: &fingerprints,
                cache,
            }),
        );
        marks[4] = Instant::now();
        let reused = audit.reused;
        drop((audit, observation, context, fingerprints, inventory));
        marks[5] = Instant::now();
        if let Some(snapshot_ms) = snapshot_ms {
            let mut spans = [snapshot_ms; 6];
            for (span, pair) in spans.iter_mut().skip(1).zip(marks.windows(2)) {
                *span = (pair[1] - pair[0]).as_secs_f64() * 1e3;
            }
            phases.push(spans);
        }
        reused
    };
    run(Inventory::from_stores(stores), &mut cache, None);
    let mut unchanged_ms = Vec::new();
    for _ in 0..iterations {
        let started = Instant::now();
        let inventory = Inventory::from_stores(stores);
        let snapshot_ms = started.elapsed().as_secs_f64() * 1e3;
        run(inventory, &mut cache, Some(snapshot_ms));
        unchanged_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let mut one_namespace_ms = Vec::new();
    let mut tally_ms = Vec::new();
    let mut reused = 0;
    for i in 0..iterations {
        let started = Instant::now();
        let mut inventory = Inventory::from_stores(stores);
        let target = format!("claims-{i:04}");
        for policy in &mut inventory.context.network_policies {
            if policy.metadata.namespace.as_deref() == Some(target.as_str()) {
                let mut changed = policy.as_ref().clone();
                changed.metadata.resource_version = Some(format!("bench-{i}"));
                *policy = std::sync::Arc::new(changed);
            }
        }
        reused = run(inventory, &mut cache, None);
        one_namespace_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let merge = Instant::now();
        std::hint::black_box(tally_parts(
            &effective,
            cache.parts(),
            Utc::now(),
            hipaa_crds::MAX_STATUS_VIOLATIONS,
        ));
        tally_ms.push(merge.elapsed().as_secs_f64() * 1e3);
    }
    let median_of = |i: usize| {
        let mut samples: Vec<f64> = phases.iter().map(|p| p[i]).collect();
        samples.sort_by(f64::total_cmp);
        quantile(&samples, 0.5)
    };
    let phases = format!(
        "  audit with nothing changed, by phase (median): snapshot the caches {:.1} ms, select the scope {:.1} ms, context index {:.1} ms, fingerprints {:.1} ms, reuse and tally {:.1} ms, drop {:.1} ms",
        median_of(0),
        median_of(1),
        median_of(2),
        median_of(3),
        median_of(4),
        median_of(5)
    );
    Reusing {
        phases,
        unchanged_ms,
        one_namespace_ms,
        tally_ms,
        reused,
    }
}
