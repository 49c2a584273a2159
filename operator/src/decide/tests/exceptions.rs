//! Exceptions: an expired one does not waive, one expiring within 14 days is flagged, each
//! state change planned as an Event once.
use super::*;

pub(super) const EXCEPTIONS: &str = "
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

    let states: Vec<(u32, bool, ExceptionState, Option<String>, u32)> = status
        .exceptions
        .iter()
        .map(|e| {
            let expires_at = e.expires_at.as_ref().map(|t| t.0.to_string());
            (e.index, e.active, e.state, expires_at, e.matched)
        })
        .collect();
    let at = |rfc3339: &str| Some(rfc3339.to_string());
    assert_eq!(
        states,
        [
            (
                0,
                false,
                ExceptionState::Expired,
                at("2026-11-01T00:00:00Z"),
                0
            ),
            (
                1,
                true,
                ExceptionState::ExpiringSoon,
                at("2026-12-05T00:00:00Z"),
                1
            ),
            (
                2,
                true,
                ExceptionState::Active,
                at("2027-06-01T00:00:00Z"),
                1
            ),
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
fn an_expiring_exception_event_says_the_time_left_when_the_audit_ran() {
    // `lastAuditTime` is cut to the second, so an exception a week after it had a moment less
    // than a week left when the audit ran.
    let policy = policy_with(EXCEPTIONS);
    let desired = HipaaPolicyStatus {
        exceptions: vec![hipaa_crds::ExceptionStatus {
            index: 1,
            active: true,
            state: ExceptionState::ExpiringSoon,
            expires_at: Some(crate::time::to_k8s_time(now() + TimeDelta::days(7))),
            matched: 0,
        }],
        last_audit_time: Some(crate::time::to_k8s_time(now())),
        ..Default::default()
    };
    let events = policy_events(None, &desired, &policy.spec.exceptions);
    let notes: Vec<&str> = events.iter().map(|e| e.note.as_str()).collect();
    assert!(
        notes.iter().any(|n| n.contains("expires in 6d (at ")),
        "{notes:?}"
    );
}
