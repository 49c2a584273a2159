//! Reusing evaluations between audits: the same status as a full evaluation, and each kind
//! of change invalidating what it must.
use std::sync::Arc;

use super::*;
use crate::decide::reuse::EvaluationCache;
use crate::decide::{Reuse, audit_reusing};
use crate::observe::compact::Compact;

fn run_reusing(
    policy: &HipaaPolicy,
    inventory: &Inventory,
    cache: &mut EvaluationCache,
    at: DateTime<Utc>,
) -> Audit {
    let observation = observe(inventory, policy);
    let context = inventory.cluster_context();
    let fingerprints = inventory.fingerprints();
    audit_reusing(
        AuditInput {
            policy,
            context: &context,
            observation: &observation,
            aws: None,
            previous: None,
            now: at,
        },
        Some(Reuse {
            fingerprints: &fingerprints,
            cache,
        }),
    )
}

/// The inventory with billing/worker replaced by a fixed version (a new cache entry).
fn with_worker_fixed(inventory: &Inventory) -> Inventory {
    let fixed = super::inventory(&fixed_cluster());
    let worker = fixed
        .objects
        .iter()
        .find(|o| o.name == "worker")
        .unwrap()
        .clone();
    let mut changed = inventory.clone();
    for entry in &mut changed.objects {
        if entry.name == "worker" {
            *entry = Arc::new(Compact::clone(&worker));
        }
    }
    changed
}

#[test]
fn an_unchanged_scope_is_reused_and_gives_the_same_status_as_a_full_evaluation() {
    let policy = policy_with("");
    let cluster = inventory(CLUSTER);
    let mut cache = EvaluationCache::default();
    let first = run_reusing(&policy, &cluster, &mut cache, now());
    assert_eq!(first.reused, 0);
    let second = run_reusing(&policy, &cluster, &mut cache, now());
    assert_eq!(second.reused, 3, "billing, api and worker");
    assert_eq!(second.status, run(&policy, &cluster, None, now()).status);
}

#[test]
fn a_changed_object_is_evaluated_again_and_only_it() {
    let policy = policy_with("");
    let cluster = inventory(CLUSTER);
    let mut cache = EvaluationCache::default();
    run_reusing(&policy, &cluster, &mut cache, now());
    let changed = with_worker_fixed(&cluster);
    let audit = run_reusing(&policy, &changed, &mut cache, now());
    assert_eq!(audit.reused, 2);
    assert_eq!(audit.status.summary.as_ref().unwrap().violations, 0);
    assert_eq!(audit.status, run(&policy, &changed, None, now()).status);
}

#[test]
fn a_changed_namespace_context_re_evaluates_that_namespace() {
    let policy = policy_with("");
    let cluster = inventory(CLUSTER);
    let mut cache = EvaluationCache::default();
    run_reusing(&policy, &cluster, &mut cache, now());
    let mut without_netpol = cluster.clone();
    without_netpol.context.network_policies.clear();
    let audit = run_reusing(&policy, &without_netpol, &mut cache, now());
    assert_eq!(audit.reused, 0);
    assert_eq!(
        result_of(&audit.status, "HIPAA-K8S-NETPOL"),
        ControlResult::Fail
    );
    assert_eq!(
        audit.status,
        run(&policy, &without_netpol, None, now()).status
    );
}

#[test]
fn an_exception_expiring_or_a_new_generation_invalidates_everything() {
    let policy = policy_with(super::exceptions::EXCEPTIONS);
    let cluster = inventory(CLUSTER);
    let mut cache = EvaluationCache::default();
    run_reusing(&policy, &cluster, &mut cache, now());
    assert_eq!(
        run_reusing(&policy, &cluster, &mut cache, now() + TimeDelta::days(1)).reused,
        3
    );
    // Exception 1 expires on 2026-12-05: after it, SECRETS-IN-ENV fails again.
    let after = DateTime::parse_from_rfc3339("2026-12-05T00:00:01Z")
        .unwrap()
        .to_utc();
    let audit = run_reusing(&policy, &cluster, &mut cache, after);
    assert_eq!(audit.reused, 0);
    assert_eq!(
        result_of(&audit.status, "HIPAA-K8S-SECRETS-IN-ENV"),
        ControlResult::Fail
    );
    let mut edited = policy.clone();
    edited.metadata.generation = Some(4);
    assert_eq!(run_reusing(&edited, &cluster, &mut cache, after).reused, 0);
}
