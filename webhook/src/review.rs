//! The AdmissionReview v1 answer: allowed or denied, with status and warnings, serialised
//! straight into a pre-sized buffer. (Decoding the review is `envelope`'s.)

use serde::Serialize;

/// The only review version the webhook speaks (`admissionReviewVersions: [v1]`).
pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// The answer to one review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub allowed: bool,
    /// HTTP-like status code for denials (403 for a policy denial, 503 for "retry later").
    pub code: u16,
    pub message: Option<String>,
    pub warnings: Vec<String>,
}

impl Answer {
    /// Allowed, with nothing to say.
    pub fn allow() -> Self {
        Answer {
            allowed: true,
            code: 200,
            message: None,
            warnings: Vec::new(),
        }
    }

    /// Allowed, with one kubectl warning per entry.
    pub fn allow_with_warnings(warnings: Vec<String>) -> Self {
        Answer {
            allowed: true,
            code: 200,
            message: None,
            warnings,
        }
    }

    /// Denied with a status code and a message kubectl shows after "denied the request:".
    pub fn deny(code: u16, message: String) -> Self {
        Answer {
            allowed: false,
            code,
            message: Some(message),
            warnings: Vec::new(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewOut<'a> {
    api_version: &'static str,
    kind: &'static str,
    response: ResponseOut<'a>,
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusOut<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

#[derive(Serialize)]
struct StatusOut<'a> {
    status: &'static str,
    code: u16,
    reason: &'static str,
    message: &'a str,
}

/// The `reason` of a metav1.Status for a code.
fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        403 => "Forbidden",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// Serialises the AdmissionReview response for `uid`.
pub fn render(uid: &str, answer: &Answer) -> Vec<u8> {
    let status = answer.message.as_deref().map(|message| StatusOut {
        status: if answer.allowed { "Success" } else { "Failure" },
        code: answer.code,
        reason: if answer.allowed {
            ""
        } else {
            reason_for(answer.code)
        },
        message,
    });
    let review = ReviewOut {
        api_version: API_VERSION,
        kind: KIND,
        response: ResponseOut {
            uid,
            allowed: answer.allowed,
            status,
            warnings: &answer.warnings,
        },
    };
    let extra: usize = answer.message.as_ref().map_or(0, String::len)
        + answer.warnings.iter().map(|w| w.len() + 4).sum::<usize>();
    let mut out = Vec::with_capacity(160 + uid.len() + extra);
    // Serialising plain strings and integers into a Vec cannot fail.
    if serde_json::to_writer(&mut out, &review).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn renders_a_denial_with_status_and_warnings() {
        let answer = Answer {
            allowed: false,
            code: 403,
            message: Some("line one\nline two".into()),
            warnings: vec!["careful".into()],
        };
        let out: serde_json::Value = serde_json::from_slice(&render("u-2", &answer)).unwrap();
        assert_eq!(out["apiVersion"], API_VERSION);
        assert_eq!(out["kind"], KIND);
        assert_eq!(out["response"]["uid"], "u-2");
        assert_eq!(out["response"]["allowed"], false);
        assert_eq!(out["response"]["status"]["code"], 403);
        assert_eq!(out["response"]["status"]["reason"], "Forbidden");
        assert_eq!(out["response"]["status"]["message"], "line one\nline two");
        assert_eq!(out["response"]["warnings"][0], "careful");
    }

    #[test]
    fn renders_a_plain_allow_without_status() {
        let out: serde_json::Value =
            serde_json::from_slice(&render("u-3", &Answer::allow())).unwrap();
        assert_eq!(out["response"]["allowed"], true);
        assert!(out["response"].get("status").is_none());
        assert!(out["response"].get("warnings").is_none());
    }
}
