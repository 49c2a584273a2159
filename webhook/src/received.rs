//! A review whose body has already been received, answered as `POST /validate` answers it: the
//! entry point for callers without a socket (the fuzz targets in `fuzz/`, offline replays).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};

use crate::handler::Webhook;
use crate::wire::HttpAnswer;

impl Webhook {
    /// Answers `body` as the review port answers a `POST /validate` with
    /// `Content-Type: application/json` whose body arrived in one piece: the same checks, decode,
    /// judgement, record and answer ([`Webhook::handle`]).
    pub async fn answer_body(&self, body: Bytes) -> HttpAnswer {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let chunks = futures::stream::iter([Ok::<Bytes, warp::Error>(body)]);
        self.handle(&headers, chunks).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use std::sync::Arc;

    use super::*;
    use crate::decide::Exemptions;
    use crate::handler::Limits;
    use crate::metrics::Metrics;
    use crate::snapshot::{Snapshot, SnapshotCell};

    fn webhook(limits: Limits) -> Webhook {
        Webhook::new(
            Arc::new(SnapshotCell::new(Snapshot::starting())),
            Exemptions::default(),
            Arc::new(Metrics::new()),
            limits,
        )
    }

    #[tokio::test]
    async fn a_received_body_is_answered_like_a_posted_one() {
        let review = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
            "request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"ConfigMap"},
            "namespace":"default","operation":"CREATE","object":{}}}"#;
        let answer = webhook(Limits::default())
            .answer_body(Bytes::from_static(review))
            .await;
        assert_eq!(answer.status(), http::StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(body["response"]["uid"], "u-1");
        assert_eq!(body["response"]["allowed"], true);
    }

    #[tokio::test]
    async fn a_received_body_gets_the_same_refusals() {
        let answer = webhook(Limits::default())
            .answer_body(Bytes::from_static(b"not json"))
            .await;
        assert_eq!(answer.status(), http::StatusCode::BAD_REQUEST);
        let small = Limits {
            body_limit: 4,
            ..Limits::default()
        };
        let answer = webhook(small)
            .answer_body(Bytes::from_static(b"{\"a\":1}"))
            .await;
        assert_eq!(answer.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }
}
