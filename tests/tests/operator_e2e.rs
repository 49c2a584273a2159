//! `hipaa-operator` on the real control plane: the status of a HipaaPolicy over a mix of
//! compliant and non-compliant workloads (and as `kubectl get hipaapolicies` prints it), fixing
//! and breaking a workload, exceptions that expired or expire soon, an invalid spec that waits
//! for a change instead of hot-looping, and a deleted policy leaving no metric series. Each test
//! runs its own operator, scoped to its own policies by a label.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::time::Duration;

use hipaa_crds::{ControlResult, ExceptionState, HipaaPolicy};
use hipaa_testkit::{apply_yaml_in, fresh_namespace, run};
use kube::ResourceExt;
use operator_support::*;

fn result_of(policy: &HipaaPolicy, id: &str) -> ControlResult {
    control_result(policy, id).unwrap_or_else(|| panic!("no {id} in {:#?}", policy.status))
}

#[tokio::test]
async fn the_status_counts_violations_and_kubectl_prints_them() {
    let case = Case::governed("status", "op-status").await.unwrap();
    let (client, ns) = (&case.client, &case.ns);
    let outside = fresh_namespace(client, "op-status-outside", &[])
        .await
        .unwrap();
    apply_mixed_workloads(client, ns).await.unwrap();
    apply_yaml_in(client, &outside, &non_compliant_deployment("ignored"))
        .await
        .unwrap();

    let _operator = case.start_operator("operator-status", &[]).await.unwrap();
    let (name, policy) = case
        .apply_policy_until("", "audited", Duration::from_secs(30), audited)
        .await
        .unwrap();
    let status = policy.status.clone().unwrap();
    let summary = status.summary.clone().unwrap();

    // worker: SECRETS-IN-ENV (critical), PRIVILEGED (high), IMAGE-REGISTRY (medium); the
    // LoadBalancer Service: TLS-LB (high). Nothing from the namespace outside the scope.
    assert_eq!(
        (
            summary.violations,
            summary.critical,
            summary.high,
            summary.medium,
            summary.low
        ),
        (4, 1, 2, 1, 0),
        "{status:#?}"
    );
    assert_eq!(
        summary.resources_evaluated, 4,
        "Namespace, api, worker and the Service: {status:#?}"
    );
    assert!(
        status
            .violations
            .iter()
            .all(|v| v.namespace.as_deref() == Some(ns.as_str())),
        "{status:#?}"
    );
    assert_eq!(status.violations[0].severity, "CRITICAL");
    assert_eq!(result_of(&policy, "HIPAA-K8S-NETPOL"), ControlResult::Pass);
    assert_eq!(result_of(&policy, "HIPAA-K8S-TLS-LB"), ControlResult::Fail);
    assert_eq!(
        result_of(&policy, "HIPAA-K8S-PRIVILEGED"),
        ControlResult::Fail
    );
    assert_eq!(
        result_of(&policy, "HIPAA-EKS-SECRETS-KMS"),
        ControlResult::NotEvaluated
    );
    assert_eq!(
        condition(&policy, "Ready"),
        Some(("True".into(), "Evaluated".into()))
    );
    assert_eq!(
        condition(&policy, "Compliant"),
        Some(("False".into(), "ViolationsFound".into()))
    );
    let managers: Vec<(String, String)> = policy
        .managed_fields()
        .iter()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.subresource.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("hipaa-operator".into(), "status".into())),
        "{managers:?}"
    );

    let out = run(
        case.plane.kubectl().args(["get", "hipaapolicies", &name]),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 0, "{out}");
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, hipaa_testkit::HIPAA_POLICY_COLUMNS, "{out}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let score = summary.score.to_string();
    assert_eq!(
        row[..5],
        [name.as_str(), "Enforce", "False", score.as_str(), "4"],
        "{out}"
    );
    assert!(summary.score > 0 && summary.score < 100, "{summary:?}");
    let is_age = |text: &str| {
        text.ends_with('s')
            && text
                .trim_end_matches('s')
                .chars()
                .all(|c| c.is_ascii_digit())
    };
    assert!(
        is_age(row[5]) && is_age(row[6]),
        "LAST AUDIT and AGE are recent ages: {out}"
    );
}

#[tokio::test]
async fn fixing_a_violation_turns_compliant_within_two_seconds_and_breaking_it_turns_back_with_events()
 {
    let case = Case::governed("flip", "op-flip").await.unwrap();
    case.apply(&privileged_deployment("api")).await.unwrap();
    let _operator = case.start_operator("operator-flip", &[]).await.unwrap();
    let (name, _) = case
        .apply_policy_until(
            "",
            "non-compliant",
            Duration::from_secs(30),
            compliant_is("False"),
        )
        .await
        .unwrap();
    let (client, ns) = (&case.client, &case.ns);

    // Replaces `api` and waits (up to 10 s) for the condition; it must flip within 2 s.
    let flip = |deployment: String, what: &'static str, wanted: &'static str| {
        let case = &case;
        async move {
            case.apply(&deployment).await.unwrap();
            let timeout = Duration::from_secs(10);
            let (_, took) = case
                .wait_policy(what, timeout, compliant_is(wanted))
                .await
                .unwrap();
            assert!(
                took <= Duration::from_secs(2),
                "turned {what} after {took:?}"
            );
        }
    };
    flip(compliant_deployment("api"), "compliant", "True").await;
    flip(privileged_deployment("api"), "non-compliant again", "False").await;

    // Events are published right after the status write; give them a moment.
    hipaa_testkit::wait_for("the Events of both flips", Duration::from_secs(10), || {
        let client = client.clone();
        let (name, ns) = (name.clone(), ns.clone());
        async move {
            let on_policy = events_about(&client, "default", "HipaaPolicy", &name).await?;
            let on_object = events_about(&client, &ns, "Deployment", "api").await?;
            let flips = (
                occurrences(&on_policy, "NonCompliant"),
                occurrences(&on_policy, "Compliant"),
            );
            let violation_events: Vec<_> = on_object
                .iter()
                .filter(|e| {
                    e.reason.as_deref() == Some("HipaaViolation")
                        && e.action.as_deref() == Some("HIPAA-K8S-PRIVILEGED")
                })
                .collect();
            let reported = occurrences(&on_object, "HipaaViolation");
            let note_ok = violation_events.iter().all(|e| {
                e.note
                    .as_deref()
                    .unwrap_or("")
                    .contains("[HIPAA-K8S-PRIVILEGED] 164.312(a)(1)")
            });
            Ok((flips == (2, 1) && reported == 2 && note_ok).then_some(()))
        }
    })
    .await
    .unwrap();
}

const EXCEPTIONS: &str = "  exceptions:
    - controls: [HIPAA-K8S-PRIVILEGED]
      justification: vendor agent needs privileges
      approvedBy: security@example.com
      expires: \"2020-01-01T00:00:00Z\"
    - controls: [HIPAA-K8S-SECRETS-IN-ENV]
      justification: migration to Secrets Manager in progress
      approvedBy: security@example.com
      expires: \"EXPIRES_SOON\"
";

#[tokio::test]
async fn an_expired_exception_does_not_suppress_and_one_expiring_soon_is_flagged() {
    let case = Case::governed("exc", "op-exc").await.unwrap();
    case.apply(&non_compliant_deployment("worker"))
        .await
        .unwrap();
    let _operator = case
        .start_operator("operator-exceptions", &[])
        .await
        .unwrap();
    let in_a_week = k8s_openapi::jiff::Timestamp::now()
        .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(7 * 24))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let exceptions = EXCEPTIONS.replace("EXPIRES_SOON", &in_a_week);
    let (name, policy) = case
        .apply_policy_until(&exceptions, "audited", Duration::from_secs(30), audited)
        .await
        .unwrap();
    let status = policy.status.clone().unwrap();

    assert_eq!(
        result_of(&policy, "HIPAA-K8S-PRIVILEGED"),
        ControlResult::Fail,
        "the expired exception does not waive"
    );
    assert_eq!(
        result_of(&policy, "HIPAA-K8S-SECRETS-IN-ENV"),
        ControlResult::Excepted
    );
    let summary = status.summary.clone().unwrap();
    assert_eq!(
        (summary.violations, summary.excepted),
        (2, 1),
        "{status:#?}"
    );
    let states: Vec<_> = status
        .exceptions
        .iter()
        .map(|e| {
            let expires_at = e.expires_at.as_ref().map(|t| t.0.to_string());
            (e.index, e.active, e.state, expires_at, e.matched)
        })
        .collect();
    assert_eq!(
        states,
        [
            (
                0,
                false,
                ExceptionState::Expired,
                Some("2020-01-01T00:00:00Z".to_string()),
                0
            ),
            (1, true, ExceptionState::ExpiringSoon, Some(in_a_week), 1)
        ],
        "{status:#?}"
    );
    hipaa_testkit::wait_for("the exception Events", Duration::from_secs(10), || {
        let (client, name) = (&case.client, &name);
        async move {
            let events = events_about(client, "default", "HipaaPolicy", name).await?;
            let expired = events.iter().any(|e| {
                e.reason.as_deref() == Some("ExceptionExpired")
                    && e.note
                        .as_deref()
                        .unwrap_or("")
                        .contains("HIPAA-K8S-PRIVILEGED")
            });
            let soon = events.iter().any(|e| {
                e.reason.as_deref() == Some("ExceptionExpiringSoon")
                    && e.note.as_deref().unwrap_or("").contains("expires in 6d")
            });
            Ok((expired && soon).then_some(()))
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_invalid_policy_is_ready_false_with_the_reason_and_does_not_hot_loop() {
    let case = Case::governed("invalid", "op-invalid").await.unwrap();
    let operator = case.start_operator("operator-invalid", &[]).await.unwrap();
    let bad = "  controls:\n    - id: HIPAA-K8S-NOPE\n";
    let invalid = |p: &HipaaPolicy| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "InvalidSpec")
    };
    let (name, policy) = case
        .apply_policy_until(bad, "Ready=False", Duration::from_secs(30), invalid)
        .await
        .unwrap();
    let ready = policy
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert!(
        ready.message.contains("unknown control HIPAA-K8S-NOPE"),
        "{ready:?}"
    );
    assert!(policy.status.as_ref().unwrap().summary.is_none());

    let series = format!("hipaaguard_operator_reconciles_total{{policy=\"{name}\"}}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = operator.metric(&series).await.unwrap();
    assert!(settled >= 1.0);
    // Changes in its namespace do not wake it, and nothing retries it.
    case.apply(&privileged_deployment("api")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = operator.metric(&series).await.unwrap();
    assert_eq!(
        later,
        settled,
        "reconciles went from {settled} to {later}: {}",
        operator.guard.log_tail(30)
    );
    assert_eq!(
        operator
            .metric(&format!(
                "hipaaguard_operator_status_writes_total{{policy=\"{name}\"}}"
            ))
            .await
            .unwrap(),
        1.0
    );

    // Fixing the spec is a change: it is evaluated at once.
    let ready = |p: &HipaaPolicy| condition(p, "Ready").is_some_and(|(s, _)| s == "True");
    let (_, policy) = case
        .apply_policy_until("", "Ready=True", Duration::from_secs(15), ready)
        .await
        .unwrap();
    assert_eq!(policy.status.unwrap().summary.unwrap().violations, 1);

    // Deleted, it is never reconciled again, yet every series labelled with it goes, counters
    // included: the operator's next scrape drops them.
    let label = format!("policy=\"{name}\"");
    // The gauge follows the status written a moment ago, from the same reconcile.
    let series = format!("hipaaguard_operator_compliance_ratio{{{label}}}");
    let ratio = hipaa_testkit::wait_for("the compliance ratio", Duration::from_secs(5), || {
        let value = operator.metric(&series);
        async move { Ok(value.await.ok().filter(|r| *r > 0.0 && *r < 1.0)) }
    })
    .await;
    assert!(ratio.is_ok(), "{ratio:?}");
    kube::Api::<HipaaPolicy>::all(case.client.clone())
        .delete(&name, &Default::default())
        .await
        .unwrap();
    hipaa_testkit::wait_for(
        "the deleted policy's series to go",
        Duration::from_secs(10),
        || {
            let metrics = operator.metrics();
            let label = label.clone();
            async move { Ok((!metrics.await?.contains(&label)).then_some(())) }
        },
    )
    .await
    .unwrap();
}
