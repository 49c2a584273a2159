//! A webhook judging against the webhook's fixture cluster (tests/fixtures/cluster.yaml: three
//! policies, one per enforcement mode, and the namespaces they select), answering review bodies
//! through [`Webhook::answer_body`], the path `POST /validate` takes once the body is read.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hipaa_webhook::{ClusterState, Exemptions, Limits, Metrics, Snapshot, SnapshotCell, Webhook};
use http::StatusCode;

/// The namespaces the webhook's tests (and the chart) exempt.
pub const EXEMPT: [&str; 2] = ["kube-system", "hipaa-guard"];

/// One webhook per fuzz process, and what the structure-aware target builds reviews from.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    webhook: Webhook,
    /// The fixture cluster's namespaces, the exempt ones, and one the caches do not know.
    pub namespaces: Vec<String>,
    /// Objects to start from, by kind: the fixture reviews' objects, the fixture cluster's
    /// Namespaces and HipaaPolicies.
    pub objects: BTreeMap<String, Vec<serde_json::Value>>,
}

impl Harness {
    pub fn new() -> Self {
        let cluster = crate::fixtures::cluster_documents();
        let state = ClusterState::from_documents(cluster.clone())
            .unwrap_or_else(|err| panic!("the fixture cluster does not load: {err}"));
        let snapshot = Snapshot::from_state(&state);
        assert!(
            snapshot.selected_namespaces() > 0,
            "the fixture cluster's policies select no namespace: nothing would reach the engine"
        );
        // A zero request timeout: a review in a namespace the caches do not know waits up to
        // half the timeout for a snapshot that never comes in a fuzz process; at zero it gets
        // the same retryable denial at once. Everything else runs as in the server.
        let limits = Limits {
            request_timeout: Duration::ZERO,
            ..Limits::default()
        };
        let webhook = Webhook::new(
            Arc::new(SnapshotCell::new(snapshot)),
            Exemptions::new(EXEMPT),
            Arc::new(Metrics::new()),
            limits,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|err| panic!("no tokio runtime: {err}"));
        let mut namespaces = crate::fixtures::namespaces(&cluster);
        namespaces.extend(EXEMPT.iter().map(|ns| (*ns).to_owned()));
        namespaces.push("not-in-the-caches".to_owned());
        namespaces.sort();
        namespaces.dedup();
        let mut objects = crate::fixtures::review_objects();
        for document in cluster {
            if let Some(kind @ ("Namespace" | "HipaaPolicy")) = document["kind"].as_str() {
                objects.entry(kind.to_owned()).or_default().push(document);
            }
        }
        Harness {
            runtime,
            webhook,
            namespaces,
            objects,
        }
    }

    /// The webhook's answer to a review body.
    pub fn answer(&self, body: &[u8]) -> http::Response<Bytes> {
        self.runtime
            .block_on(self.webhook.answer_body(Bytes::copy_from_slice(body)))
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// What every answer must be, whatever the body: a 2xx/4xx or a retryable 503, never an internal
/// error; a 200 is an AdmissionReview response with a uid and an `allowed`. With `expected_uid`
/// (a well-formed review), the answer must be that review's 200.
pub fn check_answer(answer: &http::Response<Bytes>, expected_uid: Option<&str>) {
    let status = answer.status();
    assert!(
        status.is_success()
            || status.is_client_error()
            || status == StatusCode::SERVICE_UNAVAILABLE,
        "unexpected status {status}: {}",
        String::from_utf8_lossy(answer.body())
    );
    if let Some(uid) = expected_uid {
        assert_eq!(
            status,
            StatusCode::OK,
            "a well-formed review was refused: {}",
            String::from_utf8_lossy(answer.body())
        );
        let body: serde_json::Value =
            serde_json::from_slice(answer.body()).unwrap_or_else(|err| panic!("answer: {err}"));
        assert_eq!(
            body["response"]["uid"], uid,
            "the answer names another review"
        );
    }
    if status == StatusCode::OK {
        let body: serde_json::Value = serde_json::from_slice(answer.body())
            .unwrap_or_else(|err| panic!("a 200 that is not JSON: {err}"));
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        assert!(body["response"]["uid"].is_string(), "no uid: {body}");
        assert!(
            body["response"]["allowed"].is_boolean(),
            "no allowed: {body}"
        );
    }
}
