//! Router-level tests without sockets: every judged kind allowed and denied, every decision
//! (warn, audit, unselected, exempt, excepted, skipped, not ready), through `POST /validate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{Harness, fixture, harness, harness_with, metric};
use hipaa_webhook::{Limits, Snapshot, router};
use serde_json::Value;

/// Posts a fixture review and returns the AdmissionReview response.
async fn review(harness: &Harness, name: &str) -> Value {
    let body = fixture(&format!("reviews/{name}.json"));
    let sent: Value = serde_json::from_slice(&body).unwrap();
    let response = warp::test::request()
        .method("POST")
        .path("/validate")
        .header("content-type", "application/json")
        .body(body)
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    assert_eq!(response.status(), 200, "{name}: {:?}", response.body());
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(
        answer["response"]["uid"], sent["request"]["uid"],
        "{name}: uid echoed"
    );
    answer["response"].clone()
}

fn decisions(harness: &Harness, kind: &str, operation: &str, decision: &str, dry_run: bool) -> f64 {
    metric(
        &harness.metrics,
        &format!(
            "hipaaguard_webhook_reviews_total{{kind=\"{kind}\",operation=\"{operation}\",decision=\"{decision}\",dry_run=\"{dry_run}\"}}"
        ),
    )
}

fn assert_allowed_clean(name: &str, response: &Value) {
    assert_eq!(response["allowed"], true, "{name}: {response}");
    assert!(response.get("status").is_none(), "{name}: {response}");
    assert!(response.get("warnings").is_none(), "{name}: {response}");
}

fn assert_denied(name: &str, response: &Value, needles: &[&str]) -> String {
    assert_eq!(response["allowed"], false, "{name}: {response}");
    assert_eq!(response["status"]["code"], 403, "{name}: {response}");
    assert_eq!(response["status"]["reason"], "Forbidden");
    let message = response["status"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("HIPAA Guard denied "),
        "{name}: {message}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "{name}: {needle:?} missing from:\n{message}"
        );
    }
    assert!(
        message
            .contains("To request an exception, add to spec.exceptions of HipaaPolicy phi-enforce")
    );
    assert!(message.contains("justification, approvedBy and expires"));
    message
}

#[tokio::test]
async fn compliant_objects_of_every_kind_are_allowed() {
    let cases = [
        ("pod-compliant", "Pod", "CREATE"),
        ("deployment-compliant", "Deployment", "CREATE"),
        ("statefulset-compliant", "StatefulSet", "CREATE"),
        ("daemonset-compliant", "DaemonSet", "CREATE"),
        ("replicaset-compliant", "ReplicaSet", "CREATE"),
        ("job-compliant", "Job", "CREATE"),
        ("cronjob-compliant", "CronJob", "CREATE"),
        ("service-loadbalancer-tls", "Service", "CREATE"),
        ("ingress-tls", "Ingress", "CREATE"),
        ("pvc-encrypted", "PersistentVolumeClaim", "CREATE"),
        ("networkpolicy-delete-covered", "NetworkPolicy", "DELETE"),
    ];
    for (name, kind, operation) in cases {
        let harness = harness();
        let response = review(&harness, name).await;
        assert_allowed_clean(name, &response);
        assert_eq!(
            decisions(&harness, kind, operation, "allowed", false),
            1.0,
            "{name}"
        );
    }
}

#[tokio::test]
async fn non_compliant_objects_of_every_kind_are_denied_with_control_and_section() {
    let cases: [(&str, &str, &[&str]); 11] = [
        (
            "deployment-no-networkpolicy",
            "Deployment",
            &[
                "HIPAA Guard denied Deployment billing-bare/api:\n",
                "[HIPAA-K8S-NETPOL] 164.312(e)(1): no NetworkPolicy selects pods of Deployment billing-bare/api",
                "(see kubectl hipaa controls HIPAA-K8S-NETPOL)",
                "controls [HIPAA-K8S-NETPOL]",
            ],
        ),
        (
            "pod-privileged",
            "Pod",
            &[
                "[HIPAA-K8S-PRIVILEGED] 164.312(a)(1):",
                "Pod billing/debug",
                "hostNetwork",
            ],
        ),
        (
            "statefulset-unencrypted-claim",
            "StatefulSet",
            &[
                "[HIPAA-K8S-VOLUME-ENCRYPTION] 164.312(a)(2)(iv):",
                "gp2-plain",
            ],
        ),
        (
            "daemonset-hostpath",
            "DaemonSet",
            &["[HIPAA-K8S-VOLUME-ENCRYPTION]", "hostPath"],
        ),
        (
            "replicaset-unpinned-image",
            "ReplicaSet",
            &[
                "[HIPAA-K8S-IMAGE-REGISTRY] 164.308(a)(5)(ii)(B):",
                "nginx:latest",
            ],
        ),
        (
            "job-secret-in-env",
            "Job",
            &["[HIPAA-K8S-SECRETS-IN-ENV] 164.312(a)(1):", "DB_PASSWORD"],
        ),
        (
            "cronjob-no-mtls",
            "CronJob",
            &[
                "[HIPAA-K8S-TLS-WORKLOAD] 164.312(e)(1):",
                "CronJob billing/nightly-invoices",
            ],
        ),
        (
            "service-loadbalancer-no-cert",
            "Service",
            &[
                "[HIPAA-K8S-TLS-LB] 164.312(e)(1):",
                "aws-load-balancer-ssl-cert",
            ],
        ),
        (
            "ingress-no-tls",
            "Ingress",
            &["[HIPAA-K8S-TLS-INGRESS] 164.312(e)(1):", "has no spec.tls"],
        ),
        (
            "pvc-unencrypted",
            "PersistentVolumeClaim",
            &["[HIPAA-K8S-VOLUME-ENCRYPTION]", "gp2-plain"],
        ),
        (
            "networkpolicy-delete-last",
            "NetworkPolicy",
            &[
                "HIPAA Guard denied the deletion of NetworkPolicy billing/default-deny:",
                "[HIPAA-K8S-NETPOL] 164.312(e)(1): deleting NetworkPolicy billing/default-deny",
            ],
        ),
    ];
    for (name, kind, needles) in cases {
        let harness = harness();
        let response = review(&harness, name).await;
        let message = assert_denied(name, &response, needles);
        let operation = if kind == "NetworkPolicy" {
            "DELETE"
        } else {
            "CREATE"
        };
        assert_eq!(
            decisions(&harness, kind, operation, "denied", false),
            1.0,
            "{name}"
        );
        // One line per failed control between the heading and the exception hint.
        for line in message
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("To request"))
        {
            assert!(line.starts_with("[HIPAA-"), "{name}: {line}");
        }
    }
}

#[tokio::test]
async fn the_denial_never_quotes_object_content() {
    let harness = harness();
    let response = review(&harness, "job-secret-in-env").await;
    assert!(!response.to_string().contains("hunter2"), "{response}");
}

#[tokio::test]
async fn warn_mode_allows_with_one_warning_per_failed_control() {
    let harness = harness();
    let response = review(&harness, "deployment-warn").await;
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("status").is_none());
    let warnings = response["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.starts_with("[HIPAA-K8S-IMAGE-REGISTRY] 164.308(a)(5)(ii)(B): "),
        "{warning}"
    );
    assert!(!warning.contains('\n'));
    assert_eq!(
        decisions(&harness, "Deployment", "CREATE", "warned", false),
        1.0
    );
}

#[tokio::test]
async fn audit_mode_allows_silently_and_records_the_failure() {
    let harness = harness();
    let response = review(&harness, "deployment-audit").await;
    assert_allowed_clean("deployment-audit", &response);
    assert_eq!(
        decisions(&harness, "Deployment", "CREATE", "audited", false),
        1.0
    );
    let series = "hipaaguard_webhook_control_findings_total{control=\"HIPAA-K8S-IMAGE-REGISTRY\",kind=\"Deployment\",outcome=\"fail\",enforcement=\"Audit\",dry_run=\"false\"}";
    assert_eq!(metric(&harness.metrics, series), 1.0);
}

#[tokio::test]
async fn unselected_and_exempt_namespaces_pass_untouched() {
    let harness = harness();
    assert_allowed_clean(
        "deployment-unselected",
        &review(&harness, "deployment-unselected").await,
    );
    assert_allowed_clean(
        "deployment-exempt",
        &review(&harness, "deployment-exempt").await,
    );
    assert_eq!(
        decisions(&harness, "Deployment", "CREATE", "unselected", false),
        1.0
    );
    assert_eq!(
        decisions(&harness, "Deployment", "CREATE", "exempt", false),
        1.0
    );
}

#[tokio::test]
async fn active_exceptions_waive_and_expired_ones_do_not() {
    let harness = harness();
    assert_allowed_clean(
        "deployment-excepted",
        &review(&harness, "deployment-excepted").await,
    );
    let series = "hipaaguard_webhook_control_findings_total{control=\"HIPAA-K8S-IMAGE-REGISTRY\",kind=\"Deployment\",outcome=\"excepted\",enforcement=\"Enforce\",dry_run=\"false\"}";
    assert_eq!(metric(&harness.metrics, series), 1.0);
    let expired = review(&harness, "deployment-exception-expired").await;
    assert_denied(
        "deployment-exception-expired",
        &expired,
        &[
            "[HIPAA-K8S-IMAGE-REGISTRY]",
            "Deployment billing/expired-batch",
        ],
    );
}

#[tokio::test]
async fn dry_run_and_update_are_judged_like_create() {
    let harness = harness();
    let response = review(&harness, "deployment-dry-run").await;
    assert_denied(
        "deployment-dry-run",
        &response,
        &["[HIPAA-K8S-IMAGE-REGISTRY]"],
    );
    assert_eq!(
        decisions(&harness, "Deployment", "CREATE", "denied", true),
        1.0
    );
    let response = review(&harness, "deployment-update").await;
    assert_denied(
        "deployment-update",
        &response,
        &["[HIPAA-K8S-IMAGE-REGISTRY]", "nginx:latest"],
    );
    assert_eq!(
        decisions(&harness, "Deployment", "UPDATE", "denied", false),
        1.0
    );
}

#[tokio::test]
async fn what_the_webhook_does_not_judge_is_allowed_and_counted_as_skipped() {
    let harness = harness();
    for name in ["deployment-delete", "pod-status-subresource", "configmap"] {
        assert_allowed_clean(name, &review(&harness, name).await);
    }
    assert_eq!(
        decisions(&harness, "Deployment", "DELETE", "skipped", false),
        1.0
    );
    assert_eq!(decisions(&harness, "Pod", "UPDATE", "skipped", false), 1.0);
    assert_eq!(
        decisions(&harness, "other", "CREATE", "skipped", false),
        1.0
    );
}

#[tokio::test]
async fn before_the_caches_sync_reviews_in_scope_get_a_retryable_denial() {
    let harness = harness_with(Snapshot::starting(), Limits::default());
    let response = review(&harness, "deployment-compliant").await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 503);
    assert_eq!(response["status"]["reason"], "ServiceUnavailable");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.starts_with("HIPAA Guard is starting"), "{message}");
    assert!(message.contains("retry"), "{message}");
    // Exempt namespaces never wait for the caches.
    assert_allowed_clean(
        "deployment-exempt",
        &review(&harness, "deployment-exempt").await,
    );
    assert_eq!(
        decisions(&harness, "Deployment", "CREATE", "not_ready", false),
        1.0
    );
}

#[tokio::test]
async fn a_namespace_the_caches_have_not_seen_gets_a_retryable_denial_after_a_short_wait() {
    let limits = Limits {
        request_timeout: Duration::from_millis(400),
        ..Limits::default()
    };
    let harness = harness_with(Snapshot::from_state(&common::cluster_state()), limits);
    let response = review(&harness, "deployment-unknown-namespace").await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 503);
    assert!(
        response["status"]["message"]
            .as_str()
            .unwrap()
            .contains("has not seen namespace \"brand-new\"")
    );
}

#[tokio::test]
async fn a_review_waiting_for_its_namespace_is_judged_once_the_namespace_arrives() {
    let limits = Limits {
        request_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let harness = harness_with(Snapshot::from_state(&common::cluster_state()), limits);
    let snapshots = harness.snapshots.clone();
    let publisher = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut state = common::cluster_state();
        let namespace = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "brand-new", "labels": {"hipaaguard.io/phi": "true", "guard-test/mode": "enforce"}}});
        state.context.namespaces.push(std::sync::Arc::new(
            serde_json::from_value(namespace).unwrap(),
        ));
        snapshots.publish(hipaa_webhook::Snapshot::build(&state, true, 2, None));
    });
    let response = review(&harness, "deployment-unknown-namespace").await;
    publisher.await.unwrap();
    // brand-new has no NetworkPolicy: judged, and denied for it.
    assert_denied(
        "deployment-unknown-namespace",
        &response,
        &["[HIPAA-K8S-NETPOL]", "Deployment brand-new/api"],
    );
}
