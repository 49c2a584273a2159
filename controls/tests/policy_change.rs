//! A HipaaPolicy as admission validates it when it is written: the operator's checks, and
//! exceptions that expire in the future unless they were already in force before the change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::validate::PolicyError;
use hipaa_controls::{HipaaPolicySpec, validate_policy_change};

/// common::now() is 2026-06-01: one exception in the past, one in the future.
const THREE_PROBLEMS: &str = r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: broken}
spec:
  namespaceSelector:
    matchExpressions: [{key: hipaaguard.io/phi, operator: Equals, values: ["true"]}]
  controls:
    - {id: HIPAA-K8S-NOPE}
  exceptions:
    - controls: [HIPAA-K8S-NETPOL]
      justification: legacy ingress, replaced in Q2
      approvedBy: CHG-1
      expires: "2026-01-01T00:00:00Z"
    - controls: [HIPAA-K8S-HA]
      justification: single replica until the migration
      approvedBy: CHG-2
      expires: "2026-12-01T00:00:00Z"
"#;

fn spec(yaml: &str) -> HipaaPolicySpec {
    common::policy(yaml).spec
}

#[test]
fn a_new_policy_gets_every_problem_at_once() {
    let errors = validate_policy_change(None, &spec(THREE_PROBLEMS), common::now()).unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "spec.controls[0]: unknown control HIPAA-K8S-NOPE (see kubectl hipaa controls)",
            "spec.namespaceSelector: unknown operator Equals on hipaaguard.io/phi (use In, NotIn, \
             Exists or DoesNotExist)",
            "spec.exceptions[0]: expires 2026-01-01T00:00:00Z, which is not in the future (a new \
             or changed exception must expire after it is written)",
        ]
    );
    assert!(matches!(
        errors[2],
        PolicyError::ExpiredException { index: 0, .. }
    ));
}

#[test]
fn an_exception_that_expired_in_force_may_stay_but_not_be_rewritten() {
    let fixed = THREE_PROBLEMS
        .replace("operator: Equals", "operator: In")
        .replace("- {id: HIPAA-K8S-NOPE}", "- {id: HIPAA-K8S-HA}");
    let old = spec(&fixed);
    // The same spec with another audit interval: the expired exception is carried over as it was.
    let edited = spec(&format!("{fixed}  auditInterval: 5m\n"));
    assert_eq!(
        validate_policy_change(Some(&old), &edited, common::now()),
        Ok(())
    );
    // Changing the expired exception (here its justification) makes it a new one: refused.
    let rewritten = spec(&fixed.replace("replaced in Q2", "replaced in Q3"));
    let errors = validate_policy_change(Some(&old), &rewritten, common::now()).unwrap_err();
    assert!(
        matches!(
            errors.as_slice(),
            [PolicyError::ExpiredException { index: 0, .. }]
        ),
        "{errors:?}"
    );
    // A new policy may not start with it.
    assert!(validate_policy_change(None, &old, common::now()).is_err());
}

#[test]
fn an_exception_expiring_exactly_now_is_not_in_the_future() {
    let at_now = THREE_PROBLEMS
        .replace("operator: Equals", "operator: In")
        .replace("- {id: HIPAA-K8S-NOPE}", "- {id: HIPAA-K8S-HA}")
        .replace("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    let errors = validate_policy_change(None, &spec(&at_now), common::now()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
}
