//! The automatic fix a denial carries (router level, no sockets): the readable lines first, then
//! the `kubectl hipaa fix` line and the JSON patch; the patch applied to the object makes the
//! fixed controls pass on a second review; warnings never carry a patch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Harness, fixture, harness};
use hipaa_webhook::router;
use serde_json::Value;

async fn post(harness: &Harness, body: Vec<u8>) -> Value {
    let response = warp::test::request()
        .method("POST")
        .path("/validate")
        .header("content-type", "application/json")
        .body(body)
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_slice(response.body()).unwrap();
    answer["response"].clone()
}

fn message(response: &Value) -> String {
    response["status"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The JSON patch in a denial's fix section.
fn patch_of(message: &str) -> json_patch::Patch {
    let marker = "apply this JSON patch to it: ";
    let start = message.find(marker).expect("a patch") + marker.len();
    let end = message[start..]
        .find('\n')
        .map_or(message.len(), |e| start + e);
    serde_json::from_str(&message[start..end]).unwrap()
}

#[tokio::test]
async fn a_privileged_pod_is_denied_with_a_patch_that_makes_it_pass() {
    let harness = harness();
    let body = fixture("reviews/pod-privileged.json");
    let response = post(&harness, body.clone()).await;
    assert_eq!(response["allowed"], false);
    let text = message(&response);
    let denial = text.find("[HIPAA-K8S-PRIVILEGED] 164.312(a)(1):").unwrap();
    let fix = text
        .find("Automatic fix for HIPAA-K8S-PRIVILEGED: run `kubectl hipaa fix -f <your-file> --write`")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(denial < fix, "the readable line comes first:\n{text}");
    assert!(
        text.contains("- HIPAA-K8S-PRIVILEGED: set hostNetwork: false"),
        "{text}"
    );

    let mut review: Value = serde_json::from_slice(&body).unwrap();
    json_patch::patch(&mut review["request"]["object"], &patch_of(&text).0).unwrap();
    assert_eq!(review["request"]["object"]["spec"]["hostNetwork"], false);
    let again = post(&harness, serde_json::to_vec(&review).unwrap()).await;
    assert!(
        !message(&again).contains("HIPAA-K8S-PRIVILEGED"),
        "fixed: {again}"
    );
}

#[tokio::test]
async fn a_workload_without_network_policy_is_told_what_to_create() {
    let harness = harness();
    let response = post(
        &harness,
        fixture("reviews/deployment-no-networkpolicy.json"),
    )
    .await;
    let text = message(&response);
    let create = text
        .lines()
        .find_map(|l| l.strip_prefix("Create too: "))
        .unwrap_or_else(|| panic!("{text}"));
    let policy: Value = serde_json::from_str(create).unwrap();
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["metadata"]["namespace"], "billing-bare");
    assert_eq!(policy["spec"]["podSelector"], serde_json::json!({}));
}

#[tokio::test]
async fn a_literal_credential_moves_to_a_secret_without_its_value() {
    let harness = harness();
    let response = post(&harness, fixture("reviews/job-secret-in-env.json")).await;
    let text = message(&response);
    assert!(text.contains("Automatic fix for "), "{text}");
    assert!(text.contains("secretKeyRef"), "{text}");
    assert!(text.contains("kubectl create secret generic"), "{text}");
    assert!(!response.to_string().contains("hunter2"), "{response}");
    assert!(
        !text.contains("\"kind\":\"Secret\""),
        "no skeleton in a denial: {text}"
    );
}

#[tokio::test]
async fn warnings_stay_short_and_carry_no_patch() {
    let harness = harness();
    let response = post(&harness, fixture("reviews/deployment-warn.json")).await;
    assert_eq!(response["allowed"], true);
    for warning in response["warnings"].as_array().unwrap() {
        let warning = warning.as_str().unwrap();
        assert!(!warning.contains("\"op\""), "{warning}");
        assert!(!warning.contains("Automatic fix"), "{warning}");
    }
}
