//! Router-level tests of the requests that change a judged field without being a plain write of
//! a workload: NetworkPolicy creations and updates (HIPAA-K8S-NETPOL on the old and the new
//! object), `kubectl debug`'s ephemeral containers, and `kubectl scale` (HIPAA-K8S-HA, unless a
//! HorizontalPodAutoscaler scales the workload).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Harness, fixture, harness, metric};
use hipaa_webhook::router;
use serde_json::Value;

async fn review(harness: &Harness, name: &str) -> Value {
    let response = warp::test::request()
        .method("POST")
        .path("/validate")
        .header("content-type", "application/json")
        .body(fixture(&format!("reviews/{name}.json")))
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    assert_eq!(response.status(), 200, "{name}: {:?}", response.body());
    serde_json::from_slice::<Value>(response.body()).unwrap()["response"].clone()
}

fn reviews(harness: &Harness, kind: &str, operation: &str, decision: &str) -> f64 {
    metric(
        &harness.metrics,
        &format!(
            "hipaaguard_webhook_reviews_total{{kind=\"{kind}\",operation=\"{operation}\",decision=\"{decision}\",dry_run=\"false\"}}"
        ),
    )
}

/// Denied (403) with every needle in the message and the exception hint; the message.
async fn denied(name: &str, needles: &[&str]) -> (Harness, String) {
    let harness = harness();
    let response = review(&harness, name).await;
    assert_eq!(response["allowed"], false, "{name}: {response}");
    assert_eq!(response["status"]["code"], 403, "{name}: {response}");
    let message = response["status"]["message"].as_str().unwrap().to_owned();
    for needle in needles {
        assert!(
            message.contains(needle),
            "{name}: {needle:?} missing from:\n{message}"
        );
    }
    assert!(
        message
            .contains("To request an exception, add to spec.exceptions of HipaaPolicy phi-enforce"),
        "{name}: {message}"
    );
    (harness, message)
}

async fn allowed(name: &str) -> Harness {
    let harness = harness();
    let response = review(&harness, name).await;
    assert_eq!(response["allowed"], true, "{name}: {response}");
    assert!(response.get("warnings").is_none(), "{name}: {response}");
    harness
}

#[tokio::test]
async fn network_policy_changes_that_open_or_uncover_pods_are_denied() {
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "networkpolicy-update-allow-all",
            "UPDATE",
            &[
                "HIPAA Guard denied NetworkPolicy billing/api-allow-web:\n",
                "[HIPAA-K8S-NETPOL] 164.312(e)(1): updating NetworkPolicy billing/api-allow-web lets all ingress reach the pods it selects (ingress rule 2 has no from)",
                "controls [HIPAA-K8S-NETPOL], match {namespaces: [billing], kinds: [NetworkPolicy], names: [api-allow-web]}",
            ],
        ),
        (
            "networkpolicy-update-narrowed",
            "UPDATE",
            &[
                "[HIPAA-K8S-NETPOL] 164.312(e)(1): updating NetworkPolicy billing/default-deny leaves the pods it selects without a NetworkPolicy that restricts ingress",
            ],
        ),
        (
            "networkpolicy-update-egress-only",
            "UPDATE",
            &[
                "updating NetworkPolicy billing/default-deny leaves the pods it selects without a NetworkPolicy that restricts ingress",
            ],
        ),
        (
            "networkpolicy-create-every-namespace",
            "CREATE",
            &[
                "creating NetworkPolicy billing/from-anywhere lets all ingress reach the pods it selects (ingress rule 1 has namespaceSelector: {})",
            ],
        ),
    ];
    for (name, operation, needles) in cases {
        let (harness, _) = denied(name, needles).await;
        assert_eq!(
            reviews(&harness, "NetworkPolicy", operation, "denied"),
            1.0,
            "{name}"
        );
    }
    // A new policy that names its sources is allowed: judged, not skipped.
    let harness = allowed("networkpolicy-create").await;
    assert_eq!(reviews(&harness, "NetworkPolicy", "CREATE", "allowed"), 1.0);
}

#[tokio::test]
async fn a_privileged_debug_container_is_denied_like_a_privileged_pod() {
    let (harness, message) = denied(
        "pod-ephemeral-privileged",
        &[
            "HIPAA Guard denied the ephemeral containers of Pod billing/api:\n",
            "[HIPAA-K8S-PRIVILEGED] 164.312(a)(1):",
            "container debugger-x7k2p is privileged",
        ],
    )
    .await;
    assert!(message.contains("[HIPAA-K8S-IMAGE-REGISTRY]"), "{message}");
    assert_eq!(reviews(&harness, "Pod", "UPDATE", "denied"), 1.0);
}

#[tokio::test]
async fn scaling_a_production_workload_below_the_minimum_is_denied_unless_autoscaled() {
    let (harness, _) = denied(
        "deployment-scale-subresource",
        &[
            "HIPAA Guard denied the scale of Deployment billing/api:\n",
            "[HIPAA-K8S-HA] 164.308(a)(7)(ii)(C): scaling Deployment billing/api to 1 replica(s) leaves fewer than 2",
            "controls [HIPAA-K8S-HA], match {namespaces: [billing], kinds: [Deployment], names: [api]}",
        ],
    )
    .await;
    assert_eq!(reviews(&harness, "Deployment", "UPDATE", "denied"), 1.0);
    // The HorizontalPodAutoscaler of billing/autoscaled scales it through the same subresource.
    let harness = allowed("deployment-scale-autoscaled").await;
    assert_eq!(reviews(&harness, "Deployment", "UPDATE", "allowed"), 1.0);
    let harness = allowed("statefulset-scale-up").await;
    assert_eq!(reviews(&harness, "StatefulSet", "UPDATE", "allowed"), 1.0);
}
