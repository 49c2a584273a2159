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
