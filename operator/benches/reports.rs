//! Benchmark: the PolicyReports of 10,000 workloads in 100 namespaces after a change in one
//! namespace: partitioning and hashing the audit, planning, rendering and serializing what
//! changed, which must be one report (the audit itself, before, is not counted). Target: at most
//! 50 ms of CPU per write step.
//! `cargo bench -p hipaa-operator --bench reports`; `HIPAA_BENCH_NAMESPACES` (100 workloads
//! each) and `HIPAA_BENCH_ITERATIONS` (50) change the run. Figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Instant;

use chrono::Utc;
use hipaa_crds::HipaaPolicy;
use hipaa_operator::decide::{Audit, AuditInput, audit};
use hipaa_operator::observe::stores::Stores;
use hipaa_operator::observe::{Inventory, observe};
use hipaa_operator::reports::ReportApi;
use hipaa_operator::reports::build::{ReportOwner, partition, render};
use hipaa_operator::reports::plan::{ReportMemory, plan};

use common::writers::{Writers, cpu_seconds, env_usize, line};
use common::*;

const TARGET_MS: f64 = 50.0;

fn main() {
    let namespaces = env_usize("HIPAA_BENCH_NAMESPACES", 100);
    let iterations = env_usize("HIPAA_BENCH_ITERATIONS", 50).max(1);
    let mut writers = Writers::default();
    for value in storage_classes() {
        writers.put(value);
    }
    for i in 0..namespaces {
        let name = format!("claims-{i:04}");
        writers.put(namespace(&name, "bench", i));
        for value in namespace_contents(&name) {
            writers.put(value);
        }
    }
    let stores = writers.finish();
    let policy: HipaaPolicy = serde_json::from_value(policy("bench")).unwrap();
    let owner = ReportOwner {
        policy: "bench",
        uid: "00000000-0000-0000-0000-000000000001",
    };
    let api = ReportApi::PolicyReport;

    // Every report written once, as a first audit does.
    let before = audit_of(&stores, &policy);
    let scope = &before.1;
    let mut memory = ReportMemory::default();
    let parts = partition(owner, &before.0.evaluations, scope);
    let first = plan(api, &memory, &parts);
    let first_bytes: usize = first
        .apply
        .iter()
        .map(|key| {
            serde_json::to_vec(&render(api, owner, key, &parts[key], Utc::now()))
                .unwrap()
                .len()
        })
        .sum();
    for key in &first.apply {
        memory.written.insert((api, key.clone()), parts[key].hash);
    }
    let (violations, results): (u64, u64) = parts.values().fold((0, 0), |(f, all), p| {
        (
            f + p.summary.fail,
            all + p.summary.fail + p.summary.error + p.summary.skip,
        )
    });

    // One workload of the first namespace turns privileged; the audit after it is not timed.
    let mut changed = workload("claims-0000", 0);
    changed["metadata"]["labels"]["changed"] = "yes".into();
    privileged(&mut changed);
    writers.update(changed);
    let after = audit_of(&stores, &policy);

    let mut wall_ms = Vec::new();
    let mut written = 0;
    let mut bytes = 0;
    let cpu_before = cpu_seconds();
    for _ in 0..iterations {
        let started = Instant::now();
        let parts = partition(owner, &after.0.evaluations, &after.1);
        let step = plan(api, &memory, &parts);
        written = step.apply.len() + step.delete.len();
        bytes = 0;
        for key in &step.apply {
            bytes += serde_json::to_vec(&render(api, owner, key, &parts[key], Utc::now()))
                .unwrap()
                .len();
        }
        wall_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let cpu_ms = (cpu_seconds() - cpu_before) / iterations as f64 * 1e3;

    println!(
        "PolicyReports benchmark: {} workloads in {namespaces} namespaces, {} reports ({violations} violations, {results} results listed, {:.1} MiB of JSON written at first)",
        namespaces * WORKLOADS_PER_NAMESPACE,
        parts.len(),
        first_bytes as f64 / (1024.0 * 1024.0),
    );
    line("report step after a change", wall_ms);
    println!(
        "  CPU per report step: {cpu_ms:.2} ms (target <= {TARGET_MS} ms); reports written: {written} ({bytes} bytes), of {}",
        parts.len()
    );
    assert_eq!(
        written, 1,
        "a change in one namespace must touch one report"
    );
    assert!(
        cpu_ms <= TARGET_MS,
        "the report step took {cpu_ms:.2} ms of CPU"
    );
}

/// One full audit of the caches and the policy's scope.
fn audit_of(stores: &Stores, policy: &HipaaPolicy) -> (Audit, std::collections::BTreeSet<String>) {
    let inventory = Inventory::from_stores(stores);
    let observation = observe(&inventory, policy);
    let context = inventory.cluster_context();
    let result = audit(AuditInput {
        policy,
        context: &context,
        observation: &observation,
        aws: None,
        previous: None,
        now: Utc::now(),
    });
    (result, observation.scope)
}

/// Makes every container of a workload's pod template privileged.
fn privileged(workload: &mut serde_json::Value) {
    let spec = if workload["kind"] == "CronJob" {
        &mut workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    } else if workload["kind"] == "Pod" {
        &mut workload["spec"]
    } else {
        &mut workload["spec"]["template"]["spec"]
    };
    for container in spec["containers"].as_array_mut().unwrap() {
        container["securityContext"] = serde_json::json!({"privileged": true});
    }
}
