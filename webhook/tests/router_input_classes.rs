//! The input classes of docs/reliability.md (The webhook's edge) that router_bad_input.rs does not
//! cover, through the router without a socket: a truncated review, deep nesting (in the envelope
//! and in the object), duplicate keys (in the envelope and in the object), and a kind the webhook
//! does not judge. Each gets a clear answer, never a panic nor a 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{fixture, harness};
use hipaa_webhook::router;
use serde_json::Value;

async fn post(body: Vec<u8>) -> (u16, String) {
    let harness = harness();
    let response = warp::test::request()
        .method("POST")
        .path("/validate")
        .header("content-type", "application/json")
        .body(body)
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    (
        response.status().as_u16(),
        String::from_utf8_lossy(response.body()).into_owned(),
    )
}

fn compliant() -> Value {
    serde_json::from_slice(&fixture("reviews/deployment-compliant.json")).unwrap()
}

/// The review's `response`, from a 200 answer.
fn response(status: u16, body: &str) -> Value {
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(body).unwrap();
    answer["response"].clone()
}

#[tokio::test]
async fn a_truncated_review_gets_400_at_any_cut() {
    let whole = fixture("reviews/deployment-compliant.json");
    for cut in [1, whole.len() / 3, whole.len() / 2, whole.len() - 2] {
        let (status, body) = post(whole[..cut].to_vec()).await;
        assert_eq!(status, 400, "cut at {cut}: {body}");
        assert!(body.contains("not an AdmissionReview v1"), "{body}");
    }
}

#[tokio::test]
async fn deep_nesting_is_answered_without_recursing_through_it() {
    let depth = 100_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // As the whole body, and as the object of a judged review.
    let (status, body) = post(nested.clone().into_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not an AdmissionReview v1"), "{body}");
    let deep_field = format!("{{\"apiVersion\":{nested}}}");
    let (status, body) = post(deep_field.into_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not an AdmissionReview v1"), "{body}");
    let text = serde_json::to_string(&compliant()).unwrap();
    // In a field the kind does not have: skipped as the API server prunes it; allowed.
    let unknown = text.replacen("\"spec\":{", &format!("\"deep\":{nested},\"spec\":{{"), 1);
    assert_ne!(unknown, text);
    let (status, body) = post(unknown.into_bytes()).await;
    assert_eq!(response(status, &body)["allowed"], true, "{body}");
    // In a field the kind has (the template's labels): the object does not parse as its kind.
    let known = text.replacen("\"labels\":{", &format!("\"labels\":{nested},\"x\":{{"), 1);
    assert_ne!(known, text);
    let (status, body) = post(known.into_bytes()).await;
    let denied = response(status, &body);
    assert_eq!(denied["allowed"], false, "{body}");
    let message = denied["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("does not parse as Deployment"),
        "{message}"
    );
}

#[tokio::test]
async fn duplicate_keys_take_the_last_value_in_the_envelope_and_are_refused_in_the_object() {
    let text = serde_json::to_string(&compliant()).unwrap();
    // As the API server's own decoder (Go's encoding/json) does: the last value wins.
    let twice_uid = text.replacen("\"uid\":", "\"uid\":\"other\",\"uid\":", 1);
    let (status, body) = post(twice_uid.into_bytes()).await;
    let first = response(status, &body);
    assert_eq!(first["uid"], compliant()["request"]["uid"], "{body}");

    // A second `spec` in the Deployment: the object does not parse as its kind, and the answer
    // is a denied review carrying the uid.
    let twice_spec = text.replacen("\"spec\":{", "\"spec\":{},\"spec\":{", 1);
    let (status, body) = post(twice_spec.into_bytes()).await;
    let response = response(status, &body);
    assert_eq!(response["uid"], compliant()["request"]["uid"]);
    assert_eq!(response["allowed"], false, "{body}");
    let message = response["status"]["message"].as_str().unwrap();
    assert!(message.contains("duplicate field `spec`"), "{message}");
}

#[tokio::test]
async fn a_kind_the_webhook_does_not_judge_is_allowed_with_its_uid() {
    let mut review = compliant();
    review["request"]["kind"] =
        serde_json::json!({"group": "example.com", "version": "v1", "kind": "Widget"});
    review["request"]["resource"] =
        serde_json::json!({"group": "example.com", "version": "v1", "resource": "widgets"});
    review["request"]["object"] = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"anything": [1, 2, 3]}});
    let (status, body) = post(serde_json::to_vec(&review).unwrap()).await;
    let response = response(status, &body);
    assert_eq!(response["uid"], review["request"]["uid"]);
    assert_eq!(response["allowed"], true, "{body}");
}
