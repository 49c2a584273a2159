//! Router-level tests of the two cluster-scoped kinds the webhook judges, without sockets:
//! Namespace CREATE/UPDATE (HIPAA-K8S-DEV-PHI on the new labels, HIPAA-K8S-PHI-SCOPE when the new
//! labels leave a policy while the namespace holds workloads) and HipaaPolicy CREATE/UPDATE (the
//! operator's validation and future expiries, every problem in one denial). Reviews are built
//! here from the objects they carry; the cluster is tests/fixtures/cluster.yaml.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Harness, harness, harness_with, metric};
use hipaa_webhook::{Limits, Snapshot, router};
use serde_json::{Value, json};

const PHI_ENFORCE: [(&str, &str); 2] = [
    ("hipaaguard.io/phi", "true"),
    ("guard-test/mode", "enforce"),
];

fn namespace(name: &str, labels: &[(&str, &str)]) -> Value {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": labels,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:metadata": {}}}]}})
}

/// An AdmissionReview as the API server sends it for `object` (and `old` on an UPDATE).
fn review_of(
    group: &str,
    version: &str,
    kind: &str,
    operation: &str,
    object: &Value,
    old: Option<&Value>,
) -> Value {
    let name = object["metadata"]["name"].clone();
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "00000000-0000-4000-8000-0000000000aa",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": "x"},
        // The API server names a Namespace as its own namespace on an UPDATE.
        "name": name, "namespace": if operation == "UPDATE" { name.clone() } else { json!("") },
        "operation": operation,
        "userInfo": {"username": "alice@example.com"},
        "object": object, "oldObject": old, "dryRun": false}})
}

async fn post(harness: &Harness, review: &Value) -> Value {
    let response = warp::test::request()
        .method("POST")
        .path("/validate")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(review).unwrap())
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let answer: Value = serde_json::from_slice(response.body()).unwrap();
    answer["response"].clone()
}

async fn relabel(
    harness: &Harness,
    name: &str,
    old: &[(&str, &str)],
    new: &[(&str, &str)],
) -> Value {
    let (old, new) = (namespace(name, old), namespace(name, new));
    post(
        harness,
        &review_of("", "v1", "Namespace", "UPDATE", &new, Some(&old)),
    )
    .await
}

fn denial(response: &Value) -> &str {
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403, "{response}");
    response["status"]["message"].as_str().unwrap()
}

fn decisions(harness: &Harness, kind: &str, operation: &str, decision: &str) -> f64 {
    metric(
        &harness.metrics,
        &format!(
            "hipaaguard_webhook_reviews_total{{kind=\"{kind}\",operation=\"{operation}\",decision=\"{decision}\",dry_run=\"false\"}}"
        ),
    )
}

#[tokio::test]
async fn a_development_namespace_labelled_phi_is_denied_on_creation() {
    let harness = harness();
    let mut labels = PHI_ENFORCE.to_vec();
    labels.push(("hipaaguard.io/environment", "development"));
    let object = namespace("sandbox", &labels);
    let response = post(
        &harness,
        &review_of("", "v1", "Namespace", "CREATE", &object, None),
    )
    .await;
    assert_eq!(
        denial(&response),
        "HIPAA Guard denied Namespace sandbox:\n\
         [HIPAA-K8S-DEV-PHI] 164.308(a)(4)(ii)(A): Namespace sandbox: is labelled \
         hipaaguard.io/environment: development and hipaaguard.io/phi: \"true\"; move PHI workloads \
         and their secrets out of development namespaces and use synthetic data there (see kubectl \
         hipaa controls HIPAA-K8S-DEV-PHI)\n\
         To request an exception, add to spec.exceptions of HipaaPolicy phi-enforce: controls \
         [HIPAA-K8S-DEV-PHI], match {namespaces: [sandbox]}, justification, approvedBy and expires."
    );
    // The same namespace without the development label is created.
    let object = namespace("sandbox", &PHI_ENFORCE);
    let response = post(
        &harness,
        &review_of("", "v1", "Namespace", "CREATE", &object, None),
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(decisions(&harness, "Namespace", "CREATE", "denied"), 1.0);
    assert_eq!(decisions(&harness, "Namespace", "CREATE", "allowed"), 1.0);
}

#[tokio::test]
async fn removing_the_phi_label_from_a_namespace_with_workloads_is_denied_naming_the_policy() {
    let harness = harness();
    let response = relabel(
        &harness,
        "billing",
        &PHI_ENFORCE,
        &[("guard-test/mode", "enforce")],
    )
    .await;
    let message = denial(&response);
    assert!(
        message.starts_with(
            "HIPAA Guard denied Namespace billing:\n[HIPAA-K8S-PHI-SCOPE] 164.308(a)(1)(ii)(B): \
             Namespace billing: the new labels take it out of the scope of HipaaPolicy phi-enforce \
             (its namespaceSelector matches the old labels, not the new ones) while it holds 1 Pod, \
             1 Deployment; keep the labels"
        ),
        "{message}"
    );
    assert!(
        message.ends_with(
            "To request an exception, add to spec.exceptions of HipaaPolicy phi-enforce: controls \
             [HIPAA-K8S-PHI-SCOPE], match {namespaces: [billing]}, justification, approvedBy and \
             expires."
        ),
        "{message}"
    );
    assert_eq!(decisions(&harness, "Namespace", "UPDATE", "denied"), 1.0);
}

#[tokio::test]
async fn leaving_is_admitted_for_an_empty_namespace_or_under_an_exception() {
    let harness = harness();
    // billing-bare holds no workload.
    let response = relabel(&harness, "billing-bare", &PHI_ENFORCE, &[]).await;
    assert_eq!(response["allowed"], true, "{response}");
    // billing-archive holds a CronJob, and phi-enforce has an exception for it.
    let response = relabel(&harness, "billing-archive", &PHI_ENFORCE, &[]).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert!(response.get("warnings").is_none(), "{response}");
    assert_eq!(decisions(&harness, "Namespace", "UPDATE", "allowed"), 2.0);
    let excepted = metric(
        &harness.metrics,
        "hipaaguard_webhook_control_findings_total{control=\"HIPAA-K8S-PHI-SCOPE\",kind=\"Namespace\",outcome=\"excepted\",enforcement=\"Enforce\",dry_run=\"false\"}",
    );
    assert_eq!(excepted, 1.0);
}

#[tokio::test]
async fn leaving_a_warn_policy_warns_and_staying_in_scope_is_judged_on_the_new_labels_only() {
    let harness = harness();
    let warn = [("hipaaguard.io/phi", "true"), ("guard-test/mode", "warn")];
    let response = relabel(
        &harness,
        "claims-warn",
        &warn,
        &[("guard-test/mode", "warn")],
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
    let warnings = response["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().starts_with("[HIPAA-K8S-PHI-SCOPE] 164.308(a)(1)(ii)(B): Namespace claims-warn: the new labels take it out of the scope of HipaaPolicy phi-warn"),
        "{warnings:?}"
    );
    // Moving billing from the Enforce to the Warn policy: it leaves phi-enforce while it holds
    // workloads (denied), even though phi-warn now governs it.
    let response = relabel(&harness, "billing", &PHI_ENFORCE, &warn).await;
    assert!(
        denial(&response).contains("HipaaPolicy phi-enforce"),
        "{response}"
    );
    // An added label that keeps every policy: judged on the new labels, which pass.
    let mut more = PHI_ENFORCE.to_vec();
    more.push(("team", "payments"));
    let response = relabel(&harness, "billing", &PHI_ENFORCE, &more).await;
    assert_eq!(response["allowed"], true, "{response}");
}

#[tokio::test]
async fn edits_that_keep_the_labels_exempt_namespaces_and_unselected_ones_are_not_judged() {
    let harness = harness();
    // Same labels (e.g. an annotation added): skipped.
    let response = relabel(&harness, "billing", &PHI_ENFORCE, &PHI_ENFORCE).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(decisions(&harness, "Namespace", "UPDATE", "skipped"), 1.0);
    // kube-system is exempt, whatever its labels do.
    let response = relabel(&harness, "kube-system", &PHI_ENFORCE, &[]).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(decisions(&harness, "Namespace", "UPDATE", "exempt"), 1.0);
    // No policy before nor after.
    let response = relabel(&harness, "marketing", &[], &[("team", "growth")]).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(
        decisions(&harness, "Namespace", "UPDATE", "unselected"),
        1.0
    );
}

#[tokio::test]
async fn before_the_caches_sync_a_relabel_gets_a_retryable_denial() {
    let harness = harness_with(Snapshot::starting(), Limits::default());
    let response = relabel(&harness, "billing", &PHI_ENFORCE, &[]).await;
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 503, "{response}");
}

fn policy(spec: &str) -> Value {
    let yaml = format!(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {{name: broken}}\nspec:\n{spec}"
    );
    let value: yaml_serde::Value = yaml_serde::from_str(&yaml).unwrap();
    serde_json::to_value(value).unwrap()
}

const THREE_PROBLEMS: &str = r#"  namespaceSelector:
    matchExpressions: [{key: hipaaguard.io/phi, operator: Equals, values: ["true"]}]
  controls:
    - {id: HIPAA-K8S-NOPE}
  exceptions:
    - controls: [HIPAA-K8S-NETPOL]
      justification: legacy ingress, replaced next quarter
      approvedBy: CHG-1
      expires: "2020-01-01T00:00:00Z"
"#;

const VALID: &str = r#"  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
"#;

#[tokio::test]
async fn a_policy_with_three_problems_gets_one_denial_listing_them_all() {
    let harness = harness();
    let object = policy(THREE_PROBLEMS);
    let review = review_of(
        "hipaaguard.io",
        "v1alpha1",
        "HipaaPolicy",
        "CREATE",
        &object,
        None,
    );
    let message = denial(&post(&harness, &review).await).to_owned();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(
        lines[0],
        "HIPAA Guard denied HipaaPolicy broken: its spec has 3 problems:"
    );
    assert_eq!(
        lines[1],
        "- spec.controls[0]: unknown control HIPAA-K8S-NOPE (see kubectl hipaa controls)"
    );
    assert!(
        lines[2].starts_with("- spec.namespaceSelector: unknown operator Equals"),
        "{message}"
    );
    assert!(
        lines[3].starts_with(
            "- spec.exceptions[0]: expires 2020-01-01T00:00:00Z, which is not in the future"
        ),
        "{message}"
    );
    assert!(
        lines[4].starts_with("The operator would not audit this policy"),
        "{message}"
    );
    // A valid one is created.
    let review = review_of(
        "hipaaguard.io",
        "v1alpha1",
        "HipaaPolicy",
        "CREATE",
        &policy(VALID),
        None,
    );
    assert_eq!(post(&harness, &review).await["allowed"], true);
    assert_eq!(decisions(&harness, "HipaaPolicy", "CREATE", "denied"), 1.0);
    assert_eq!(decisions(&harness, "HipaaPolicy", "CREATE", "allowed"), 1.0);
}

#[tokio::test]
async fn a_policy_update_is_judged_when_its_spec_changes() {
    let harness = harness();
    let (valid, broken) = (policy(VALID), policy(THREE_PROBLEMS));
    // Breaking a valid policy: denied.
    let review = review_of(
        "hipaaguard.io",
        "v1alpha1",
        "HipaaPolicy",
        "UPDATE",
        &broken,
        Some(&valid),
    );
    assert!(denial(&post(&harness, &review).await).contains("3 problems"));
    // A metadata edit of a policy that was already invalid: its spec did not change, admitted.
    let mut labelled = broken.clone();
    labelled["metadata"]["labels"] = json!({"team": "security"});
    let review = review_of(
        "hipaaguard.io",
        "v1alpha1",
        "HipaaPolicy",
        "UPDATE",
        &labelled,
        Some(&broken),
    );
    assert_eq!(post(&harness, &review).await["allowed"], true);
    // Fixing it: admitted.
    let review = review_of(
        "hipaaguard.io",
        "v1alpha1",
        "HipaaPolicy",
        "UPDATE",
        &valid,
        Some(&broken),
    );
    assert_eq!(post(&harness, &review).await["allowed"], true);
    assert_eq!(decisions(&harness, "HipaaPolicy", "UPDATE", "skipped"), 1.0);
}
