//! Bad input never panics and always gets a clear answer: non-JSON, wrong content type, a review
//! without a request, an object that does not parse as its kind, a body over the cap, wrong
//! method or path. Plus the admin router: health, readiness and metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::{fixture, harness, harness_with, metric};
use hipaa_webhook::{Limits, Snapshot, SyncState, admin_router, router};
use serde_json::Value;

async fn post(
    body: Vec<u8>,
    content_type: Option<&str>,
    limits: Limits,
) -> (u16, Vec<u8>, common::Harness) {
    let harness = harness_with(Snapshot::from_state(&common::cluster_state()), limits);
    let mut request = warp::test::request()
        .method("POST")
        .path("/validate")
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    (
        response.status().as_u16(),
        response.body().to_vec(),
        harness,
    )
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

fn bad_requests(harness: &common::Harness, reason: &str) -> f64 {
    metric(
        &harness.metrics,
        &format!("hipaaguard_webhook_bad_requests_total{{reason=\"{reason}\"}}"),
    )
}

#[tokio::test]
async fn malformed_bodies_get_400_with_the_reason() {
    let cases = [
        ("bad/not-json.txt", "not an AdmissionReview v1"),
        ("bad/json-array.json", "not an AdmissionReview v1"),
        ("bad/request-without-uid.json", "missing field `uid`"),
        ("bad/no-request.json", "the AdmissionReview has no request"),
        (
            "bad/wrong-api-version.json",
            "expected apiVersion admission.k8s.io/v1",
        ),
    ];
    for (name, needle) in cases {
        let (status, body, _) =
            post(fixture(name), Some("application/json"), Limits::default()).await;
        assert_eq!(status, 400, "{name}");
        assert!(text(&body).contains(needle), "{name}: {}", text(&body));
    }
    let (status, body, _) = post(Vec::new(), Some("application/json"), Limits::default()).await;
    assert_eq!(status, 400, "{}", text(&body));
    let mut latin1 = fixture("reviews/deployment-compliant.json");
    let at = latin1.iter().position(|b| *b == b'a').unwrap();
    latin1[at] = 0xe9;
    let (status, body, _) = post(latin1, Some("application/json"), Limits::default()).await;
    assert_eq!(status, 400, "{}", text(&body));
    assert!(
        text(&body).contains("the body is not UTF-8"),
        "{}",
        text(&body)
    );
}

#[tokio::test]
async fn reviews_whose_object_is_wrong_get_an_admission_review_error() {
    let cases = [
        (
            "bad/object-not-a-deployment.json",
            "the object does not parse as Deployment",
        ),
        (
            "bad/missing-object.json",
            "the AdmissionReview for Deployment has no object",
        ),
        ("bad/unknown-operation.json", "unknown operation \"PATCH\""),
    ];
    for (name, needle) in cases {
        let sent: Value = serde_json::from_slice(&fixture(name)).unwrap();
        let (status, body, harness) =
            post(fixture(name), Some("application/json"), Limits::default()).await;
        assert_eq!(status, 200, "{name}");
        let answer: Value = serde_json::from_slice(&body).unwrap();
        let response = &answer["response"];
        assert_eq!(response["uid"], sent["request"]["uid"], "{name}");
        assert_eq!(response["allowed"], false, "{name}");
        assert_eq!(response["status"]["code"], 400, "{name}");
        assert_eq!(response["status"]["reason"], "BadRequest", "{name}");
        assert!(
            response["status"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{name}: {response}"
        );
        if name != "bad/unknown-operation.json" {
            let series = "hipaaguard_webhook_reviews_total{kind=\"Deployment\",operation=\"CREATE\",decision=\"invalid\",dry_run=\"false\"}";
            assert_eq!(metric(&harness.metrics, series), 1.0, "{name}");
        }
    }
}

#[tokio::test]
async fn a_wrong_or_missing_content_type_gets_415() {
    let body = fixture("reviews/deployment-compliant.json");
    for content_type in [Some("text/plain"), Some("application/yaml"), None] {
        let (status, answer, harness) = post(body.clone(), content_type, Limits::default()).await;
        assert_eq!(status, 415, "{content_type:?}");
        assert!(text(&answer).contains("Content-Type: application/json"));
        assert_eq!(bad_requests(&harness, "content_type"), 1.0);
    }
    let (status, _, _) = post(
        body,
        Some("application/json; charset=utf-8"),
        Limits::default(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_body_over_the_cap_gets_413() {
    let limits = Limits {
        body_limit: 1024,
        ..Limits::default()
    };
    let (status, body, harness) = post(
        fixture("reviews/deployment-compliant.json"),
        Some("application/json"),
        limits,
    )
    .await;
    assert_eq!(status, 413);
    assert!(text(&body).contains("exceeds the 1024 byte limit"));
    assert_eq!(bad_requests(&harness, "body_too_large"), 1.0);
    // The default cap is 4 MiB.
    let big = vec![b' '; 4 * 1024 * 1024 + 1];
    let (status, _, _) = post(big, Some("application/json"), Limits::default()).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn wrong_method_and_path_are_refused() {
    let harness = harness();
    let filter = router(harness.webhook.clone(), || Ok(()));
    let get = warp::test::request()
        .method("GET")
        .path("/validate")
        .reply(&filter)
        .await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    let other = warp::test::request()
        .method("POST")
        .path("/mutate")
        .header("content-type", "application/json")
        .body("{}")
        .reply(&filter)
        .await;
    assert_eq!(other.status(), 404);
    assert!(text(other.body()).contains("POST /validate"));
}

#[tokio::test]
async fn admin_port_reports_health_readiness_and_metrics() {
    let harness = harness_with(Snapshot::starting(), Limits::default());
    let sync = Arc::new(SyncState::new());
    let admin = admin_router(
        harness.snapshots.clone(),
        sync.clone(),
        harness.metrics.clone(),
    );

    let health = warp::test::request().path("/healthz").reply(&admin).await;
    assert_eq!(health.status(), 200);
    let ready = warp::test::request().path("/readyz").reply(&admin).await;
    assert_eq!(ready.status(), 503);
    assert!(
        text(ready.body()).contains("waiting for the watch caches of hipaapolicies, namespaces")
    );

    for resource in hipaa_webhook::sync::Resource::ALL {
        sync.mark_synced(resource);
    }
    harness
        .snapshots
        .publish(Snapshot::from_state(&common::cluster_state()));
    let ready = warp::test::request().path("/readyz").reply(&admin).await;
    assert_eq!(ready.status(), 200);

    // Draining after SIGTERM: not ready any more, yet reviews are still answered below.
    sync.start_draining();
    let ready = warp::test::request().path("/readyz").reply(&admin).await;
    assert_eq!(ready.status(), 503);
    assert!(text(ready.body()).contains("shutting down"));

    let review = warp::test::request()
        .method("POST")
        .path("/validate")
        .header("content-type", "application/json")
        .body(fixture("reviews/deployment-audit.json"))
        .reply(&router(harness.webhook.clone(), || Ok(())))
        .await;
    assert_eq!(review.status(), 200);
    let metrics = warp::test::request().path("/metrics").reply(&admin).await;
    assert_eq!(metrics.status(), 200);
    let body = text(metrics.body());
    for name in [
        "hipaaguard_webhook_reviews_total",
        "hipaaguard_webhook_control_findings_total",
        "hipaaguard_webhook_review_duration_seconds",
        "hipaaguard_webhook_cache_synced",
        "hipaaguard_webhook_tls_reloads_total",
    ] {
        assert!(
            body.contains(&format!("# TYPE {}", name.trim_end_matches("_total"))),
            "{name} in\n{body}"
        );
    }
    assert!(
        body.contains("hipaaguard_webhook_cache_synced{resource=\"persistentvolumeclaims\"} 0"),
        "{body}"
    );
    assert!(body.contains("decision=\"audited\""), "{body}");
    let post = warp::test::request()
        .method("POST")
        .path("/metrics")
        .reply(&admin)
        .await;
    assert_eq!(post.status(), 404);
}
