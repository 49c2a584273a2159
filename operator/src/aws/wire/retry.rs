//! A wire call's lifetime, as the SDK's standard retry mode runs it for the SDK clients: one
//! concurrency permit and one count for the call, attempts up to `max_attempts` each within
//! `attempt_timeout`, exponential backoff with full jitter on throttling, 5xx and transport
//! errors, everything within `call_timeout`, and each attempt and the call's duration recorded
//! in the call metrics under the service's SDK name and the operation.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use hipaa_controls::aws::{Lookup, LookupError};

use super::super::call_metrics::Outcome;
use super::transport::{AttemptError, Incoming, Outgoing};
use super::{Call, Protocol, Wire};

/// The longest backoff between two attempts, as the SDK's standard mode caps it.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Sends `outgoing` for `call`, retrying what is worth retrying; the successful answer, or the
/// error as a [`LookupError`] naming the call's IAM action.
pub(crate) async fn send(wire: &Wire<'_>, call: Call<'_>, outgoing: Outgoing) -> Lookup<Incoming> {
    let settings = wire.clients.settings();
    let metrics = wire.clients.metrics();
    let _permit = wire.clients.permit().await;
    let started = Instant::now();
    let attempts = attempts(wire, call, &outgoing);
    let result = match tokio::time::timeout(settings.call_timeout, attempts).await {
        Ok(result) => result,
        Err(_) => Err(LookupError::new(
            "Timeout",
            format!(
                "AWS did not answer {} within {:?}",
                call.operation, settings.call_timeout
            ),
        )),
    };
    metrics.record_call(
        call.service.sdk_name,
        call.operation,
        started.elapsed().as_secs_f64(),
    );
    result.map_err(|error| error.with_action(call.action))
}

async fn attempts(wire: &Wire<'_>, call: Call<'_>, outgoing: &Outgoing) -> Lookup<Incoming> {
    let settings = wire.clients.settings();
    let metrics = wire.clients.metrics();
    let transport = wire.clients.transport();
    let max_attempts = settings.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let answer = tokio::time::timeout(
            settings.attempt_timeout,
            transport.attempt(wire, call.service, outgoing),
        )
        .await;
        let (outcome, error) = match answer {
            Ok(Ok(incoming)) if (200..300).contains(&incoming.status) => {
                metrics.record_attempt(call.service.sdk_name, call.operation, Outcome::Success);
                return Ok(incoming);
            }
            Ok(Ok(incoming)) => {
                let error = service_error(call, &incoming);
                let outcome = Outcome::of(Some(incoming.status), Some(&error.code));
                (outcome, error)
            }
            Ok(Err(AttemptError::Setup(error))) => return Err(error),
            Ok(Err(AttemptError::Transport(message))) => (
                Outcome::NoResponse,
                LookupError::new(
                    "DispatchFailure",
                    format!("the request could not be sent: {message}"),
                ),
            ),
            Err(_) => (
                Outcome::NoResponse,
                LookupError::new(
                    "Timeout",
                    format!("no answer within {:?}", settings.attempt_timeout),
                ),
            ),
        };
        metrics.record_attempt(call.service.sdk_name, call.operation, outcome);
        let retryable = matches!(
            outcome,
            Outcome::Throttled | Outcome::ServerError | Outcome::NoResponse
        );
        if !retryable || attempt >= max_attempts {
            return Err(error);
        }
        let pause = backoff(settings.initial_backoff, attempt);
        tracing::debug!(
            service = call.service.sdk_name,
            operation = call.operation,
            attempt,
            code = %error.code,
            pause_ms = pause.as_millis() as u64,
            "retrying an AWS call"
        );
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// The error of a non-2xx answer, parsed in the service's protocol; named by its HTTP status
/// when the body says nothing.
fn service_error(call: Call<'_>, incoming: &Incoming) -> LookupError {
    let parsed = match call.service.protocol {
        Protocol::Query { .. } => super::query::error_of(incoming.text()),
        Protocol::Json { .. } | Protocol::RestJson => {
            super::json::error_of(incoming.error_type.as_deref(), &incoming.body)
        }
    };
    let (code, message) = parsed.unwrap_or_else(|| {
        (
            format!("HTTP{}", incoming.status),
            one_line(incoming.text()).chars().take(300).collect(),
        )
    });
    LookupError::new(code, one_line(&message))
}

/// Backoff before attempt `attempt + 1`: a random share of `initial * 2^(attempt - 1)` (full
/// jitter), capped at [`MAX_BACKOFF`].
fn backoff(initial: Duration, attempt: u32) -> Duration {
    let ceiling = initial
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(random_fraction())
}

/// A fraction in [0, 1): the standard library's per-instance random hash keys are enough for
/// jitter, which only has to keep clients from retrying in step.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Messages end up in a status field and in logs: keep them on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_cap() {
        let initial = Duration::from_millis(100);
        for attempt in 1..=12 {
            let pause = backoff(initial, attempt);
            let ceiling = (initial * 2u32.pow(attempt - 1)).min(MAX_BACKOFF);
            assert!(pause <= ceiling, "{attempt}: {pause:?} > {ceiling:?}");
        }
        let spread: std::collections::HashSet<Duration> = (0..20)
            .map(|_| backoff(Duration::from_secs(1), 3))
            .collect();
        assert!(spread.len() > 1, "jitter varies the pauses");
    }
}
