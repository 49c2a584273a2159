//! Every way the webhook's HTTP edge turns a request away instead of judging it: one type that
//! knows each refusal's HTTP status, its `bad_requests` metric label and its message, and renders
//! it. The handler and the routers only say which refusal applies.

use http::{StatusCode, header};

use crate::metrics::Metrics;
use crate::review::{self, Answer};
use crate::wire::{BodyError, HttpAnswer, json, plain};

/// A request refused before (or instead of) a judgement. The message (`Display`) is the body the
/// client reads, so it carries its cause inline rather than as a `source` (which error reporters
/// would print a second time).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// `Content-Type` is missing or not `application/json`.
    #[error("POST /validate takes an AdmissionReview v1 as Content-Type: application/json")]
    ContentType,
    /// `Content-Length` or the bytes that arrived exceed the cap.
    #[error("the review body exceeds the {limit} byte limit")]
    BodyTooLarge { limit: usize },
    /// The connection failed while the body was arriving.
    #[error("reading the request body failed: {0}")]
    BodyRead(warp::Error),
    /// The body did not arrive within `--body-timeout` (a slow client; it held no review slot).
    #[error("the request body did not arrive within {timeout:?}")]
    BodyTimeout { timeout: std::time::Duration },
    /// The body is not JSON, or not shaped as an AdmissionReview.
    #[error("the body is not an AdmissionReview v1: {}", hipaa_controls::redact::Redacted(.0))]
    NotAReview(serde_json::Error),
    /// An AdmissionReview of another version (or another kind of object altogether).
    #[error("expected apiVersion admission.k8s.io/v1 and kind AdmissionReview")]
    WrongApiVersion,
    #[error("the AdmissionReview has no request")]
    NoRequest,
    /// A well-formed review with an operation Kubernetes does not have: answered as a review
    /// (the API server shows its message), not as an HTTP error.
    #[error("unknown operation {operation:?}")]
    UnknownOperation { uid: String, operation: String },
    /// Not answered within `--request-timeout` (waiting for the budget or a slot included).
    #[error("the review was not answered within the request timeout; retry")]
    Timeout,
    /// The review slots are closed: the process is stopping.
    #[error("the webhook is shutting down")]
    ShuttingDown,
    #[error("use {allowed}")]
    MethodNotAllowed { allowed: &'static str },
    #[error("not found; this port serves {serves}")]
    NotFound { serves: &'static str },
}

impl Refusal {
    /// The HTTP status of the answer. An unknown operation is a 200 carrying a denied review.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Refusal::BodyRead(_)
            | Refusal::NotAReview(_)
            | Refusal::WrongApiVersion
            | Refusal::NoRequest => StatusCode::BAD_REQUEST,
            Refusal::UnknownOperation { .. } => StatusCode::OK,
            Refusal::Timeout | Refusal::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::NotFound { .. } => StatusCode::NOT_FOUND,
        }
    }

    /// The `reason` label of `hipaaguard_webhook_bad_requests_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::ContentType => "content_type",
            Refusal::BodyTooLarge { .. } => "body_too_large",
            Refusal::BodyRead(_) => "body_read",
            Refusal::BodyTimeout { .. } => "body_timeout",
            // One label for every body that is not a v1 review: alerts need not tell them apart.
            Refusal::NotAReview(_) | Refusal::WrongApiVersion => "not_a_review",
            Refusal::NoRequest => "no_request",
            Refusal::UnknownOperation { .. } => "operation",
            Refusal::Timeout => "timeout",
            Refusal::ShuttingDown => "shutting_down",
            Refusal::MethodNotAllowed { .. } => "method",
            Refusal::NotFound { .. } => "not_found",
        }
    }

    /// Counts the refusal in `bad_requests` and renders it: the review port's refusals.
    pub fn answer(self, metrics: &Metrics) -> HttpAnswer {
        metrics.bad_request(self.label());
        self.into_response()
    }

    /// Renders the refusal without counting it.
    pub fn into_response(self) -> HttpAnswer {
        match &self {
            Refusal::UnknownOperation { uid, .. } => {
                let answer = Answer::deny(400, self.to_string());
                json(review::render(uid, &answer))
            }
            Refusal::MethodNotAllowed { allowed } => {
                let mut response = plain(self.status(), &self.to_string());
                response
                    .headers_mut()
                    .insert(header::ALLOW, http::HeaderValue::from_static(allowed));
                response
            }
            _ => plain(self.status(), &self.to_string()),
        }
    }
}

impl From<BodyError> for Refusal {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooLarge { limit } => Refusal::BodyTooLarge { limit },
            BodyError::Read(err) => Refusal::BodyRead(err),
            BodyError::TooSlow | BodyError::Busy => Refusal::Timeout,
            BodyError::Closed => Refusal::ShuttingDown,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn body(response: &HttpAnswer) -> String {
        String::from_utf8(response.body().to_vec()).unwrap()
    }

    #[test]
    fn each_refusal_has_its_status_label_and_plain_text_message() {
        let not_json = serde_json::from_str::<serde_json::Value>("nope").unwrap_err();
        let cases = [
            (
                Refusal::ContentType,
                415,
                "content_type",
                "Content-Type: application/json",
            ),
            (
                Refusal::BodyTooLarge { limit: 1024 },
                413,
                "body_too_large",
                "exceeds the 1024 byte limit",
            ),
            (
                Refusal::NotAReview(not_json),
                400,
                "not_a_review",
                "the body is not an AdmissionReview v1: expected",
            ),
            (
                Refusal::WrongApiVersion,
                400,
                "not_a_review",
                "expected apiVersion admission.k8s.io/v1",
            ),
            (
                Refusal::NoRequest,
                400,
                "no_request",
                "the AdmissionReview has no request",
            ),
            (
                Refusal::Timeout,
                503,
                "timeout",
                "within the request timeout; retry",
            ),
            (Refusal::ShuttingDown, 503, "shutting_down", "shutting down"),
            (
                Refusal::BodyTimeout {
                    timeout: std::time::Duration::from_secs(3),
                },
                408,
                "body_timeout",
                "did not arrive within 3s",
            ),
            (
                Refusal::NotFound {
                    serves: "POST /validate",
                },
                404,
                "not_found",
                "this port serves POST /validate",
            ),
        ];
        for (refusal, status, label, needle) in cases {
            assert_eq!(refusal.label(), label, "{refusal:?}");
            let response = refusal.into_response();
            assert_eq!(response.status().as_u16(), status, "{label}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
            let text = body(&response);
            assert!(
                text.contains(needle) && text.ends_with('\n'),
                "{label}: {text}"
            );
        }
    }

    #[test]
    fn a_wrong_method_names_the_allowed_one() {
        let response = Refusal::MethodNotAllowed { allowed: "POST" }.into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "POST");
        assert_eq!(body(&response), "use POST\n");
    }

    #[test]
    fn an_unknown_operation_is_a_denied_review_that_echoes_the_uid() {
        let refusal = Refusal::UnknownOperation {
            uid: "u-7".into(),
            operation: "PATCH".into(),
        };
        assert_eq!(refusal.label(), "operation");
        let response = refusal.into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let review: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(review["response"]["uid"], "u-7");
        assert_eq!(review["response"]["allowed"], false);
        assert_eq!(review["response"]["status"]["code"], 400);
        assert_eq!(
            review["response"]["status"]["message"],
            "unknown operation \"PATCH\""
        );
    }

    #[test]
    fn answering_counts_the_refusal_under_its_label() {
        let metrics = Metrics::new();
        let response = Refusal::Timeout.answer(&metrics);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        Refusal::BodyTooLarge { limit: 8 }.answer(&metrics);
        Refusal::BodyTooLarge { limit: 8 }.answer(&metrics);
        let text = metrics.encode();
        assert!(
            text.contains("hipaaguard_webhook_bad_requests_total{reason=\"timeout\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("hipaaguard_webhook_bad_requests_total{reason=\"body_too_large\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn body_errors_become_refusals_that_keep_the_limit() {
        let refusal = Refusal::from(BodyError::TooLarge { limit: 4096 });
        assert!(matches!(refusal, Refusal::BodyTooLarge { limit: 4096 }));
        assert_eq!(refusal.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
