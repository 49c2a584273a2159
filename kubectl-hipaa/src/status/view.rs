//! What `kubectl hipaa status` shows of one HipaaPolicy, taken from the status the operator
//! wrote (the numbers are the status's own) plus the exceptions' expiry computed now.

use chrono::{DateTime, Utc};
use hipaa_controls::tally::{exception_state, expires_in};
use hipaa_crds::{
    CONDITION_COMPLIANT, CONDITION_READY, ComplianceSummary, ControlResult, ExceptionState,
    HipaaPolicy, ViolationStatus,
};
use serde::Serialize;

/// How many violations `status` lists per policy.
pub const WORST_VIOLATIONS: usize = 5;

/// One policy's compliance.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    pub name: String,
    pub enforcement: String,
    /// The `Ready` condition's status (`True`, `False`, `Unknown`), if written.
    pub ready: Option<String>,
    /// The `Ready` condition's message when it is not True.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_message: Option<String>,
    /// The `Compliant` condition's status, if written.
    pub compliant: Option<String>,
    /// The summary exactly as in the status; None before the first audit.
    pub summary: Option<ComplianceSummary>,
    /// Controls whose result is Fail or Error, with counts.
    pub failing_controls: Vec<FailingControl>,
    /// The most severe violations (the status lists them most severe first).
    pub worst_violations: Vec<ViolationStatus>,
    /// More violations exist than the status lists.
    pub truncated: bool,
    /// Exceptions that expired or expire within 14 days.
    pub exceptions_needing_attention: Vec<ExceptionView>,
    /// RFC 3339.
    pub last_audit_time: Option<String>,
    /// The status describes an older spec than the current one.
    pub stale: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailingControl {
    pub id: String,
    pub severity: String,
    pub sections: Vec<String>,
    pub result: ControlResult,
    pub violations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionView {
    pub index: usize,
    pub controls: Vec<String>,
    pub justification: String,
    pub approved_by: String,
    /// RFC 3339.
    pub expires: String,
    pub state: ExceptionState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// The view of `policy` at `now`; with `namespace`, only that namespace's violations.
pub fn policy_view(
    policy: &HipaaPolicy,
    namespace: Option<&str>,
    now: DateTime<Utc>,
) -> PolicyView {
    let status = policy.status.clone().unwrap_or_default();
    let condition = |kind: &str| status.conditions.iter().find(|c| c.type_ == kind);
    let ready = condition(CONDITION_READY);
    let failing_controls = status
        .controls
        .iter()
        .filter(|c| matches!(c.result, ControlResult::Fail | ControlResult::Error))
        .map(|c| FailingControl {
            id: c.id.clone(),
            severity: c.severity.clone(),
            sections: c.sections.clone(),
            result: c.result,
            violations: c.violations,
            message: c.message.clone(),
        })
        .collect();
    let worst_violations = status
        .violations
        .iter()
        .filter(|v| namespace.is_none_or(|ns| v.namespace.as_deref() == Some(ns)))
        .take(WORST_VIOLATIONS)
        .cloned()
        .collect();
    let exceptions_needing_attention = policy
        .spec
        .exceptions
        .iter()
        .enumerate()
        .filter_map(|(index, exception)| {
            let expires = to_chrono(&exception.expires);
            let state = exception_state(expires, now);
            (state != ExceptionState::Active).then(|| ExceptionView {
                index,
                controls: exception.controls.clone(),
                justification: exception.justification.clone(),
                approved_by: exception.approved_by.clone(),
                expires: exception.expires.0.to_string(),
                state,
                expires_in: expires_in(expires, now),
            })
        })
        .collect();
    PolicyView {
        name: policy.metadata.name.clone().unwrap_or_default(),
        enforcement: policy.spec.enforcement.as_str().to_string(),
        ready: ready.map(|c| c.status.clone()),
        ready_message: ready
            .filter(|c| c.status != "True")
            .map(|c| c.message.clone()),
        compliant: condition(CONDITION_COMPLIANT).map(|c| c.status.clone()),
        summary: status.summary.clone(),
        failing_controls,
        worst_violations,
        truncated: status.truncated,
        exceptions_needing_attention,
        last_audit_time: status.last_audit_time.as_ref().map(|t| t.0.to_string()),
        stale: match (status.observed_generation, policy.metadata.generation) {
            (Some(observed), Some(generation)) => observed < generation,
            _ => false,
        },
    }
}

/// A Kubernetes time as chrono's.
pub fn to_chrono(
    time: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Option<DateTime<Utc>> {
    let ts = time.0;
    DateTime::from_timestamp(
        ts.as_second(),
        u32::try_from(ts.subsec_nanosecond()).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const POLICY: &str = r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: production-phi, generation: 3}
spec:
  enforcement: Warn
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  exceptions:
  - controls: [HIPAA-K8S-NETPOL]
    justification: vendor agent
    approvedBy: security@example.com
    expires: "2026-12-05T00:00:00Z"
  - controls: [HIPAA-K8S-HA]
    justification: single zone pilot
    approvedBy: cto@example.com
    expires: "2027-06-01T00:00:00Z"
  - controls: [HIPAA-K8S-TLS-LB]
    justification: old
    approvedBy: cto@example.com
    expires: "2026-01-01T00:00:00Z"
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: Evaluated, message: ok, lastTransitionTime: "2026-11-28T11:00:00Z"}
  - {type: Compliant, status: "False", reason: Violations, message: "3 violations", lastTransitionTime: "2026-11-28T11:00:00Z"}
  summary: {resourcesEvaluated: 42, violations: 3, critical: 1, high: 2, medium: 0, low: 0, score: 93}
  controls:
  - {id: HIPAA-K8S-NETPOL, sections: ["164.312(e)(1)"], severity: HIGH, result: Fail, violations: 2}
  - {id: HIPAA-K8S-HA, sections: ["164.308(a)(7)(ii)(C)"], severity: MEDIUM, result: Pass, violations: 0}
  - {id: HIPAA-ECR-SCAN, sections: ["164.308(a)(1)(ii)(B)"], severity: HIGH, result: Error, violations: 0, message: "lookup failed"}
  violations:
  - {control: HIPAA-K8S-SECRETS-IN-ENV, severity: CRITICAL, kind: Deployment, namespace: billing, name: api, message: "literal"}
  - {control: HIPAA-K8S-NETPOL, severity: HIGH, kind: Deployment, namespace: billing, name: api, message: "no netpol"}
  - {control: HIPAA-K8S-NETPOL, severity: HIGH, kind: Deployment, namespace: claims, name: worker, message: "no netpol"}
  lastAuditTime: "2026-11-28T12:00:00Z"
"#;

    #[test]
    fn the_view_keeps_the_status_numbers_and_flags_what_needs_attention() {
        let policy: HipaaPolicy = yaml_serde::from_str(POLICY).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let view = policy_view(&policy, None, now);
        assert_eq!(view.summary, policy.status.as_ref().unwrap().summary);
        assert_eq!(view.enforcement, "Warn");
        assert_eq!(
            (view.ready.as_deref(), view.compliant.as_deref()),
            (Some("True"), Some("False"))
        );
        let failing: Vec<(&str, ControlResult)> = view
            .failing_controls
            .iter()
            .map(|c| (c.id.as_str(), c.result))
            .collect();
        assert_eq!(
            failing,
            [
                ("HIPAA-K8S-NETPOL", ControlResult::Fail),
                ("HIPAA-ECR-SCAN", ControlResult::Error)
            ]
        );
        assert_eq!(view.worst_violations.len(), 3);
        let attention: Vec<(usize, ExceptionState)> = view
            .exceptions_needing_attention
            .iter()
            .map(|e| (e.index, e.state))
            .collect();
        assert_eq!(
            attention,
            [
                (0, ExceptionState::ExpiringSoon),
                (2, ExceptionState::Expired)
            ]
        );
        assert_eq!(
            view.exceptions_needing_attention[0].expires_in.as_deref(),
            Some("6d")
        );
        assert_eq!(
            view.last_audit_time.as_deref(),
            Some("2026-11-28T12:00:00Z")
        );
        assert!(view.stale);

        let billing = policy_view(&policy, Some("claims"), now);
        assert_eq!(billing.worst_violations.len(), 1);
        assert_eq!(billing.worst_violations[0].name, "worker");
    }
}
