//! Unit tests of the status computation over YAML fixtures: counts, per-control results, the
//! bounded violation list, conditions, exceptions, invalid specs, the AWS seam and Events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{DateTime, TimeDelta, Utc};
use hipaa_controls::aws::{AwsSnapshot, LookedUp, LookupError};
use hipaa_crds::{
    ControlResult, ExceptionState, HipaaPolicy, HipaaPolicyStatus, MAX_STATUS_VIOLATIONS,
};
use serde::Deserialize;

use super::conditions::{
    REASON_COMPLIANT, REASON_EVALUATION_ERRORS, REASON_INVALID_SPEC, REASON_VIOLATIONS_FOUND,
};
use super::events::{
    REASON_BECAME_COMPLIANT, REASON_BECAME_NON_COMPLIANT, REASON_EXCEPTION_EXPIRED,
    REASON_EXCEPTION_EXPIRING, ReportedViolations, policy_events,
};
use super::schedule::{Write, decide_write};
use super::{Audit, AuditInput, audit};
use crate::observe::{Inventory, observe};

const CLUSTER: &str = include_str!("fixtures/cluster.yaml");
const POLICY: &str = include_str!("fixtures/policy.yaml");

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
        .unwrap()
        .to_utc()
}

fn inventory(yaml: &str) -> Inventory {
    let mut inventory = Inventory::default();
    for document in yaml_serde::Deserializer::from_str(yaml) {
        let value = serde_json::Value::deserialize(document).unwrap();
        if !value.is_null() {
            inventory.insert_manifest(value).unwrap();
        }
    }
    inventory
}

fn policy_with(spec_extra: &str) -> HipaaPolicy {
    yaml_serde::from_str(&format!("{POLICY}{spec_extra}")).unwrap()
}

fn run_with(
    policy: &HipaaPolicy,
    inventory: &Inventory,
    previous: Option<&HipaaPolicyStatus>,
    aws: Option<&AwsSnapshot>,
    at: DateTime<Utc>,
) -> Audit {
    let observation = observe(inventory, policy);
    let context = inventory.cluster_context();
    audit(AuditInput {
        policy,
        context: &context,
        observation: &observation,
        aws,
        previous,
        now: at,
    })
}

fn run(
    policy: &HipaaPolicy,
    inventory: &Inventory,
    previous: Option<&HipaaPolicyStatus>,
    at: DateTime<Utc>,
) -> Audit {
    run_with(policy, inventory, previous, None, at)
}

fn condition<'a>(status: &'a HipaaPolicyStatus, type_: &str) -> (&'a str, &'a str) {
    let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
    (c.status.as_str(), c.reason.as_str())
}

fn result_of(status: &HipaaPolicyStatus, id: &str) -> ControlResult {
    status.controls.iter().find(|c| c.id == id).unwrap().result
}

/// The cluster with the worker Deployment fixed (registry, privileges, env).
fn fixed_cluster() -> String {
    CLUSTER
        .replace(
            "docker.io/library/busybox:latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/worker:2.0.1",
        )
        .replace("{privileged: true}", "{allowPrivilegeEscalation: false}")
        .replace(
            "          env:\n            - {name: DB_PASSWORD, value: hunter2}\n",
            "",
        )
}

#[test]
fn the_status_counts_the_violations_of_the_governed_namespaces_only() {
    let audit = run(&policy_with(""), &inventory(CLUSTER), None, now());
    let status = &audit.status;
    let summary = status.summary.as_ref().unwrap();
    // billing (Namespace), billing/api, billing/worker; nothing from scratch.
    assert_eq!(summary.resources_evaluated, 3, "{status:#?}");
    assert_eq!(
        (
            summary.violations,
            summary.critical,
            summary.high,
            summary.medium,
            summary.low
        ),
        (3, 1, 1, 1, 0),
        "{status:#?}"
    );
    assert_eq!(summary.errors, 0, "{status:#?}");
    assert!(summary.score < 100);
    assert!(
        status
            .violations
            .iter()
            .all(|v| v.namespace.as_deref() == Some("billing") && v.name == "worker")
    );
    let order: Vec<&str> = status
        .violations
        .iter()
        .map(|v| v.severity.as_str())
        .collect();
    assert_eq!(order, ["CRITICAL", "HIGH", "MEDIUM"], "most severe first");
    assert!(!status.truncated);

    assert_eq!(
        result_of(status, "HIPAA-K8S-SECRETS-IN-ENV"),
        ControlResult::Fail
    );
    assert_eq!(
        result_of(status, "HIPAA-K8S-PRIVILEGED"),
        ControlResult::Fail
    );
    assert_eq!(
        result_of(status, "HIPAA-K8S-IMAGE-REGISTRY"),
        ControlResult::Fail
    );
    assert_eq!(result_of(status, "HIPAA-K8S-NETPOL"), ControlResult::Pass);
    assert_eq!(result_of(status, "HIPAA-K8S-HA"), ControlResult::Pass);
    assert_eq!(
        result_of(status, "HIPAA-K8S-TLS-INGRESS"),
        ControlResult::NotEvaluated,
        "no Ingress in scope"
    );
    assert_eq!(
        result_of(status, "HIPAA-EKS-SECRETS-KMS"),
        ControlResult::NotEvaluated,
        "no AWS link"
    );
    assert_eq!(
        status.controls.len(),
        hipaa_controls::catalog().len(),
        "one entry per catalog control"
    );

    assert_eq!(condition(status, "Ready"), ("True", "Evaluated"));
    assert_eq!(
        condition(status, "Compliant"),
        ("False", REASON_VIOLATIONS_FOUND)
    );
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(
        serde_json::to_value(&status.last_audit_time).unwrap(),
        "2026-11-28T12:00:00Z"
    );
    assert_eq!(audit.interval, Some(std::time::Duration::from_secs(600)));

    let counts = audit.violation_counts();
    assert_eq!(
        counts.get(&(
            "HIPAA-K8S-PRIVILEGED".into(),
            "HIGH".into(),
            "billing".into()
        )),
        Some(&1)
    );
    assert_eq!(counts.values().sum::<u32>(), 3);
}

#[test]
fn fixing_the_violations_makes_the_policy_compliant_and_flips_the_condition_once() {
    let policy = policy_with("");
    let broken = run(&policy, &inventory(CLUSTER), None, now());
    let later = now() + TimeDelta::seconds(30);
    let fixed = run(
        &policy,
        &inventory(&fixed_cluster()),
        Some(&broken.status),
        later,
    );
    let summary = fixed.status.summary.as_ref().unwrap();
    assert_eq!(
        (summary.violations, summary.score),
        (0, 100),
        "{:#?}",
        fixed.status
    );
    assert_eq!(
        condition(&fixed.status, "Compliant"),
        ("True", REASON_COMPLIANT)
    );
    let transition = |s: &HipaaPolicyStatus, t: &str| {
        s.conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
            .last_transition_time
            .clone()
    };
    assert_ne!(
        transition(&fixed.status, "Compliant"),
        transition(&broken.status, "Compliant")
    );
    assert_eq!(
        transition(&fixed.status, "Ready"),
        transition(&broken.status, "Ready")
    );
    assert_eq!(
        decide_write(Some(&broken.status), &fixed.status, fixed.interval, later),
        Write::Changed
    );

    let events = policy_events(Some(&broken.status), &fixed.status, &policy.spec.exceptions);
    assert_eq!(
        events.iter().map(|e| e.reason).collect::<Vec<_>>(),
        [REASON_BECAME_COMPLIANT]
    );
    assert!(!events[0].warning);

    // The same cluster a minute later: nothing to write, no Event, until the audit is due.
    let again = run(
        &policy,
        &inventory(&fixed_cluster()),
        Some(&fixed.status),
        later + TimeDelta::minutes(1),
    );
    assert_eq!(
        decide_write(
            Some(&fixed.status),
            &again.status,
            again.interval,
            later + TimeDelta::minutes(1)
        ),
        Write::Unchanged
    );
    assert!(policy_events(Some(&fixed.status), &again.status, &policy.spec.exceptions).is_empty());
    let due = later + TimeDelta::minutes(10);
    let periodic = run(
        &policy,
        &inventory(&fixed_cluster()),
        Some(&fixed.status),
        due,
    );
    assert_eq!(
        decide_write(
            Some(&fixed.status),
            &periodic.status,
            periodic.interval,
            due
        ),
        Write::AuditDue
    );

    // Broken again: non-compliant, with a Warning Event.
    let rebroken = run(&policy, &inventory(CLUSTER), Some(&fixed.status), due);
    let events = policy_events(
        Some(&fixed.status),
        &rebroken.status,
        &policy.spec.exceptions,
    );
    assert_eq!(
        events.iter().map(|e| e.reason).collect::<Vec<_>>(),
        [REASON_BECAME_NON_COMPLIANT]
    );
    assert!(
        events[0].warning && events[0].note.contains("3 violations"),
        "{events:?}"
    );
}

#[test]
fn an_invalid_spec_reports_ready_false_with_every_reason_and_no_interval() {
    let policy = policy_with(
        "  controls:\n    - {id: HIPAA-K8S-NOPE}\n    - {id: HIPAA-K8S-HA, parameters: {failOn: HIGH}}\n",
    );
    let audit = run(&policy, &inventory(CLUSTER), None, now());
    assert_eq!(
        audit.interval, None,
        "waits for a change instead of retrying"
    );
    assert!(audit.evaluations.is_empty());
    assert_eq!(
        condition(&audit.status, "Ready"),
        ("False", REASON_INVALID_SPEC)
    );
    assert_eq!(
        condition(&audit.status, "Compliant"),
        ("Unknown", REASON_INVALID_SPEC)
    );
    let message = &audit.status.conditions[0].message;
    assert!(
        message.contains("HIPAA-K8S-NOPE") && message.contains("failOn"),
        "{message}"
    );
    assert!(audit.status.summary.is_none() && audit.status.last_audit_time.is_none());
    // Written once, then nothing more to write for the same generation.
    let again = run(
        &policy,
        &inventory(CLUSTER),
        Some(&audit.status),
        now() + TimeDelta::hours(2),
    );
    assert_eq!(
        decide_write(
            Some(&audit.status),
            &again.status,
            again.interval,
            now() + TimeDelta::hours(2)
        ),
        Write::Unchanged
    );
}

#[test]
fn the_violation_list_is_bounded_most_severe_first() {
    let mut yaml = String::from(CLUSTER);
    for i in 0..150 {
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: batch-{i:03}, namespace: billing}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: b}}}}\n  template:\n    metadata: {{labels: {{app: b}}, annotations: {{linkerd.io/inject: enabled}}}}\n    spec:\n      securityContext: {{runAsNonRoot: true}}\n      topologySpreadConstraints: [{{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule}}]\n      containers: [{{name: b, image: 'quay.io/b:1', securityContext: {{allowPrivilegeEscalation: false}}}}]\n"
        ));
    }
    let audit = run(&policy_with(""), &inventory(&yaml), None, now());
    let status = &audit.status;
    let summary = status.summary.as_ref().unwrap();
    assert_eq!(summary.violations, 153, "{:#?}", status.controls);
    assert_eq!(status.violations.len(), MAX_STATUS_VIOLATIONS);
    assert!(status.truncated);
    assert_eq!(status.violations[0].severity, "CRITICAL");
    assert_eq!(
        audit.violations().count(),
        153,
        "metrics and Events see every violation"
    );
}

mod aws;
mod events;
mod exceptions;
mod incremental;
mod reuse;
