//! Metrics of the operator's AWS calls, recorded by an SDK interceptor on every client: each
//! attempt by service, operation and outcome (so that retries, throttling and missing permissions
//! show), and each call's duration, its retries and backoff included.

use std::time::Instant;

use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Deserialize;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    /// The service as a [`service_label`], e.g. `secrets_manager`.
    pub service: String,
    /// The API operation, e.g. `DescribeSecret`.
    pub operation: String,
    /// See [`Outcome`].
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub service: String,
    pub operation: String,
}

type HistogramFamily = Family<CallLabels, Histogram, fn() -> Histogram>;

/// The AWS call metrics; clones share the same series.
#[derive(Clone, Debug)]
pub struct AwsCallMetrics {
    attempts: Family<AttemptLabels, Counter>,
    durations: HistogramFamily,
}

impl Default for AwsCallMetrics {
    fn default() -> Self {
        fn histogram() -> Histogram {
            // 10 ms to about 80 s: a call may wait out several backoffs.
            Histogram::new(exponential_buckets(0.01, 2.0, 14))
        }
        AwsCallMetrics {
            attempts: Family::default(),
            durations: HistogramFamily::new_with_constructor(histogram),
        }
    }
}

impl AwsCallMetrics {
    /// Adds the series to `registry` (prefixed there: `hipaaguard_operator_aws_attempts_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "aws_attempts",
            "AWS API attempts (retries count again) by service, operation and outcome: success, throttled, access_denied, client_error, server_error or no_response",
            self.attempts.clone(),
        );
        registry.register(
            "aws_call_duration_seconds",
            "Duration of AWS API calls, retries and backoff included",
            self.durations.clone(),
        );
    }

    /// Attempts so far with these labels (tests and diagnostics); `service` as the SDK names it
    /// (`Secrets Manager`) or as the label says (`secrets_manager`).
    pub fn attempts(&self, service: &str, operation: &str, outcome: Outcome) -> u64 {
        let labels = AttemptLabels {
            service: service_label(service),
            operation: operation.to_string(),
            outcome: outcome.as_str(),
        };
        self.attempts
            .get(&labels)
            .map_or(0, |counter| counter.get())
    }

    /// Records one attempt of a call made without the SDK ([`super::wire`]), labelled as the
    /// SDK's interceptor labels its calls.
    pub(crate) fn record_attempt(&self, service: &str, operation: &str, outcome: Outcome) {
        let labels = AttemptLabels {
            service: service_label(service),
            operation: operation.to_string(),
            outcome: outcome.as_str(),
        };
        self.attempts.get_or_create(&labels).inc();
    }

    /// Records the duration of a call made without the SDK, its retries and backoff included.
    pub(crate) fn record_call(&self, service: &str, operation: &str, seconds: f64) {
        let labels = CallLabels {
            service: service_label(service),
            operation: operation.to_string(),
        };
        self.durations.get_or_create(&labels).observe(seconds);
    }

    /// The interceptor that records into these metrics, for every client's configuration.
    pub fn interceptor(&self) -> CallMetricsInterceptor {
        CallMetricsInterceptor(self.clone())
    }
}

/// How one attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A throttling error code (the SDK's list) or HTTP 429: the SDK backs off and retries.
    Throttled,
    /// The operator's role lacks the permission (see docs/aws-iam.md).
    AccessDenied,
    ClientError,
    ServerError,
    /// No answer: a timeout or a connection failure.
    NoResponse,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Throttled => "throttled",
            Outcome::AccessDenied => "access_denied",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
            Outcome::NoResponse => "no_response",
        }
    }

    /// Classifies an attempt by its HTTP status and, for errors, the AWS error code.
    pub fn of(status: Option<u16>, error_code: Option<&str>) -> Outcome {
        let Some(status) = status else {
            return Outcome::NoResponse;
        };
        if (200..300).contains(&status) {
            return Outcome::Success;
        }
        let code = error_code.unwrap_or("");
        if status == 429 || THROTTLING_ERRORS.contains(&code) {
            Outcome::Throttled
        } else if status == 403 || code.starts_with("AccessDenied") {
            Outcome::AccessDenied
        } else if status >= 500 {
            Outcome::ServerError
        } else {
            Outcome::ClientError
        }
    }
}

/// The AWS error code of an error response: the `x-amzn-ErrorType` header (REST-JSON services
/// such as EKS), else the body's `__type` or `code` (JSON services such as ECR, KMS and Secrets
/// Manager); a `namespace#Code` or `Code:uri` form is cut to the code.
pub fn error_code(response: &HttpResponse) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        type_: Option<String>,
        code: Option<String>,
    }
    let raw = response
        .headers()
        .get("x-amzn-errortype")
        .map(str::to_string)
        .or_else(|| {
            let body: ErrorBody = serde_json::from_slice(response.body().bytes()?).ok()?;
            body.type_.or(body.code)
        })?;
    let code = raw.split(':').next().unwrap_or(&raw);
    let code = code.rsplit('#').next().unwrap_or(code).trim();
    (!code.is_empty()).then(|| code.to_string())
}

/// The SDK's service name (`EKS`, `ECR`, `Secrets Manager`, `KMS`) as a stable label value:
/// lower case, with `_` for anything not a letter or digit (`secrets_manager`). The SDK's names
/// are display text, and a label value with spaces is awkward in every query language.
pub fn service_label(service: &str) -> String {
    let mut label = String::with_capacity(service.len());
    for c in service.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.is_empty() && !label.ends_with('_') {
            label.push('_');
        }
    }
    while label.ends_with('_') {
        label.pop();
    }
    label
}

/// When the current call started (kept in the call's config bag).
#[derive(Clone, Copy, Debug)]
struct CallStarted(Instant);

impl Storable for CallStarted {
    type Storer = StoreReplace<Self>;
}

/// Records attempts and call durations into [`AwsCallMetrics`].
#[derive(Debug)]
pub struct CallMetricsInterceptor(AwsCallMetrics);

impl CallMetricsInterceptor {
    fn call_labels(cfg: &ConfigBag) -> CallLabels {
        let metadata = cfg.load::<Metadata>();
        CallLabels {
            service: service_label(metadata.map_or("unknown", Metadata::service)),
            operation: metadata.map_or("unknown", Metadata::name).to_string(),
        }
    }
}

impl Intercept for CallMetricsInterceptor {
    fn name(&self) -> &'static str {
        "HipaaGuardCallMetrics"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(CallStarted(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.map(|r| r.status().as_u16());
        let code = response
            .filter(|r| !r.status().is_success())
            .and_then(error_code);
        let CallLabels { service, operation } = Self::call_labels(cfg);
        let labels = AttemptLabels {
            service,
            operation,
            outcome: Outcome::of(status, code.as_deref()).as_str(),
        };
        self.0.attempts.get_or_create(&labels).inc();
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallStarted(started)) = cfg.load::<CallStarted>().copied() {
            self.0
                .durations
                .get_or_create(&Self::call_labels(cfg))
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16, header: Option<&str>, body: &str) -> HttpResponse {
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body.to_string()),
        );
        if let Some(value) = header {
            response
                .headers_mut()
                .insert("x-amzn-ErrorType", value.to_string());
        }
        response
    }

    #[test]
    fn outcomes_follow_the_status_and_the_error_code() {
        assert_eq!(Outcome::of(Some(200), None), Outcome::Success);
        assert_eq!(Outcome::of(None, None), Outcome::NoResponse);
        assert_eq!(Outcome::of(Some(429), None), Outcome::Throttled);
        // JSON services throttle with 400 and a code.
        let throttled = Outcome::of(Some(400), Some("ThrottlingException"));
        assert_eq!(throttled, Outcome::Throttled);
        let denied = Outcome::of(Some(400), Some("AccessDeniedException"));
        assert_eq!(denied, Outcome::AccessDenied);
        assert_eq!(Outcome::of(Some(403), None), Outcome::AccessDenied);
        let missing = Outcome::of(Some(400), Some("ResourceNotFoundException"));
        assert_eq!(missing, Outcome::ClientError);
        assert_eq!(Outcome::of(Some(503), None), Outcome::ServerError);
    }

    #[test]
    fn the_error_code_comes_from_the_header_or_the_body() {
        let rest = response(
            429,
            Some("TooManyRequestsException:http://internal.amazon.com/coral/"),
            "{}",
        );
        assert_eq!(
            error_code(&rest).as_deref(),
            Some("TooManyRequestsException")
        );
        let json = response(
            400,
            None,
            r#"{"__type":"com.amazonaws.kms#AccessDeniedException","message":"no"}"#,
        );
        assert_eq!(error_code(&json).as_deref(), Some("AccessDeniedException"));
        assert_eq!(error_code(&response(500, None, "not json")), None);
    }

    #[test]
    fn attempts_are_read_back_by_their_labels() {
        let metrics = AwsCallMetrics::default();
        let labels = AttemptLabels {
            service: "kms".into(),
            operation: "DescribeKey".into(),
            outcome: Outcome::Throttled.as_str(),
        };
        metrics.attempts.get_or_create(&labels).inc_by(2);
        assert_eq!(
            metrics.attempts("kms", "DescribeKey", Outcome::Throttled),
            2
        );
        assert_eq!(metrics.attempts("kms", "DescribeKey", Outcome::Success), 0);
        assert_eq!(
            metrics.attempts("KMS", "DescribeKey", Outcome::Throttled),
            2,
            "the SDK's name finds the label"
        );
        let mut registry = Registry::with_prefix(crate::metrics::PREFIX);
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            r#"hipaaguard_operator_aws_attempts_total{service="kms",operation="DescribeKey",outcome="throttled"} 2"#
        ), "{text}");
    }

    #[test]
    fn service_labels_are_stable_tokens() {
        let labels: Vec<String> = ["EKS", "ECR", "Secrets Manager", "KMS", " Odd -- Name! "]
            .into_iter()
            .map(service_label)
            .collect();
        assert_eq!(labels, ["eks", "ecr", "secrets_manager", "kms", "odd_name"]);
    }
}
