//! Violation Events: one per violation until fixed, none repeated after a restart, and metrics
//! counting a Namespace's own violations in it.
use super::*;

#[test]
fn each_violation_gets_one_event_until_fixed_and_again_when_it_returns() {
    let policy = policy_with("");
    let broken = run(&policy, &inventory(CLUSTER), None, now());
    let mut memory = ReportedViolations::default();
    let first = memory.unreported(broken.violations(), None);
    assert_eq!(first.len(), 3);
    for finding in &first {
        memory.mark_reported(crate::decide::events::ViolationKey::of(finding));
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
