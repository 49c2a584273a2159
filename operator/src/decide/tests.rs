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
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let value = serde_json::Value::deserialize(document).unwrap();
        if !value.is_null() {
            inventory.insert_manifest(value).unwrap();
        }
    }
    inventory
}

fn policy_with(spec_extra: &str) -> HipaaPolicy {
    serde_yaml::from_str(&format!("{POLICY}{spec_extra}")).unwrap()
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

const EXCEPTIONS: &str = "
  exceptions:
    - controls: [HIPAA-K8S-PRIVILEGED]
      match: {namespaces: [billing], kinds: [Deployment], names: [worker]}
      justification: vendor agent needs privileges
      approvedBy: security@example.com
      expires: \"2026-11-01T00:00:00Z\"
    - controls: [HIPAA-K8S-SECRETS-IN-ENV]
      match: {namespaces: [billing]}
      justification: migration to Secrets Manager in progress
      approvedBy: security@example.com
      expires: \"2026-12-05T00:00:00Z\"
    - controls: [HIPAA-K8S-IMAGE-REGISTRY]
      justification: mirror under review
      approvedBy: security@example.com
      expires: \"2027-06-01T00:00:00Z\"
";

#[test]
fn an_expired_exception_does_not_suppress_and_one_expiring_soon_is_flagged() {
    let policy = policy_with(EXCEPTIONS);
    let audit = run(&policy, &inventory(CLUSTER), None, now());
    let status = &audit.status;
    assert_eq!(
        result_of(status, "HIPAA-K8S-PRIVILEGED"),
        ControlResult::Fail,
        "expired: still a violation"
    );
    assert_eq!(
        result_of(status, "HIPAA-K8S-SECRETS-IN-ENV"),
        ControlResult::Excepted
    );
    assert_eq!(
        result_of(status, "HIPAA-K8S-IMAGE-REGISTRY"),
        ControlResult::Excepted
    );
    let summary = status.summary.as_ref().unwrap();
    assert_eq!(
        (summary.violations, summary.excepted),
        (1, 2),
        "{status:#?}"
    );

    let states: Vec<(u32, bool, ExceptionState, Option<&str>, u32)> = status
        .exceptions
        .iter()
        .map(|e| {
            (
                e.index,
                e.active,
                e.state,
                e.expires_in.as_deref(),
                e.matched,
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (0, false, ExceptionState::Expired, None, 0),
            (1, true, ExceptionState::ExpiringSoon, Some("6d"), 1),
            (2, true, ExceptionState::Active, Some("184d"), 1),
        ]
    );

    let events = policy_events(None, status, &policy.spec.exceptions);
    let reasons: Vec<&str> = events.iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        [
            REASON_BECAME_NON_COMPLIANT,
            REASON_EXCEPTION_EXPIRED,
            REASON_EXCEPTION_EXPIRING
        ]
    );
    assert!(
        events[1].note.contains("HIPAA-K8S-PRIVILEGED") && events[2].note.contains("6d"),
        "{events:?}"
    );
    // Reported once: the next audit with the same states plans no exception Event.
    let next = run(
        &policy,
        &inventory(CLUSTER),
        Some(status),
        now() + TimeDelta::hours(1),
    );
    assert!(policy_events(Some(status), &next.status, &policy.spec.exceptions).is_empty());
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

#[test]
fn aws_controls_wait_for_a_snapshot_and_a_failed_lookup_is_an_error() {
    let aws_spec = "  aws: {region: us-east-1, eksClusterName: prod}\n";
    let policy = policy_with(aws_spec);
    let cluster = inventory(&fixed_cluster());
    let without = run(&policy, &cluster, None, now());
    let eks = without
        .status
        .controls
        .iter()
        .find(|c| c.id == "HIPAA-EKS-SECRETS-KMS")
        .unwrap();
    assert_eq!(eks.result, ControlResult::NotEvaluated);
    assert_eq!(
        eks.message.as_deref(),
        Some("the linked AWS resources have not been looked up yet")
    );
    assert_eq!(
        condition(&without.status, "Compliant"),
        ("True", REASON_COMPLIANT)
    );

    let mut snapshot = AwsSnapshot::empty(now());
    snapshot.eks = Some(LookedUp::failed(
        "prod",
        LookupError::new("AccessDeniedException", "not authorized")
            .with_action("eks:DescribeCluster"),
    ));
    let with = run_with(&policy, &cluster, None, Some(&snapshot), now());
    let eks = with
        .status
        .controls
        .iter()
        .find(|c| c.id == "HIPAA-EKS-SECRETS-KMS")
        .unwrap();
    assert_eq!(eks.result, ControlResult::Error, "{eks:?}");
    assert!(
        eks.message
            .as_deref()
            .unwrap_or_default()
            .contains("eks:DescribeCluster"),
        "{eks:?}"
    );
    assert_eq!(
        condition(&with.status, "Compliant"),
        ("Unknown", REASON_EVALUATION_ERRORS)
    );
    assert!(
        with.status
            .aws_resources
            .iter()
            .any(|r| r.kind == "EKSCluster" && r.result == ControlResult::Error)
    );
}

#[test]
fn each_violation_gets_one_event_until_fixed_and_again_when_it_returns() {
    let policy = policy_with("");
    let broken = run(&policy, &inventory(CLUSTER), None, now());
    let mut memory = ReportedViolations::default();
    let first = memory.unreported(broken.violations(), None);
    assert_eq!(first.len(), 3);
    for finding in &first {
        memory.mark_reported(super::events::ViolationKey::of(finding));
    }
    assert!(
        memory
            .unreported(broken.violations(), Some(&broken.status))
            .is_empty(),
        "deduplicated"
    );

    let fixed = run(
        &policy,
        &inventory(&fixed_cluster()),
        Some(&broken.status),
        now(),
    );
    assert!(
        memory
            .unreported(fixed.violations(), Some(&broken.status))
            .is_empty()
    );
    assert_eq!(
        memory
            .unreported(broken.violations(), Some(&fixed.status))
            .len(),
        3,
        "back again: reported again"
    );
}

#[test]
fn after_a_restart_the_violations_already_in_status_are_not_reported_again() {
    let policy = policy_with("");
    let broken = run(&policy, &inventory(CLUSTER), None, now());
    let mut fresh = ReportedViolations::default();
    assert!(
        fresh
            .unreported(broken.violations(), Some(&broken.status))
            .is_empty()
    );
    let mut truncated_memory = ReportedViolations::default();
    let truncated = HipaaPolicyStatus {
        truncated: true,
        violations: Vec::new(),
        ..broken.status.clone()
    };
    assert!(
        truncated_memory
            .unreported(broken.violations(), Some(&truncated))
            .is_empty()
    );
}

mod reuse {
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
        without_netpol.network_policies.clear();
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
        let policy = policy_with(EXCEPTIONS);
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
}

#[test]
fn a_namespace_s_own_violations_count_in_that_namespace() {
    let development = CLUSTER.replace(
        "hipaaguard.io/environment: production",
        "hipaaguard.io/environment: development",
    );
    let audit = run(&policy_with(""), &inventory(&development), None, now());
    let on_namespace: Vec<_> = audit
        .violations()
        .filter(|f| f.resource.kind == "Namespace")
        .collect();
    assert!(
        !on_namespace.is_empty(),
        "a PHI namespace marked development fails HIPAA-K8S-DEV-PHI: {:#?}",
        audit.status
    );
    let control = on_namespace[0].control;
    let key = (
        control.id.to_string(),
        control.severity.as_str().to_string(),
        "billing".to_string(),
    );
    assert!(
        audit.violation_counts().get(&key).is_some_and(|n| *n >= 1),
        "{:?}",
        audit.violation_counts()
    );
}
