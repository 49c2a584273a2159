//! Publishing Events: on a HipaaPolicy (compliance changed, an exception expired or expires soon)
//! and on an offending object (a new violation). Violation Events pass a token bucket, so that a
//! cluster full of new violations cannot flood the API server; which violations to report, and
//! remembering those reported, is the loop in [`super::violation_events`]. A failed publish is
//! logged, never fatal to the audit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::decide::events::PlannedEvent;
use crate::metrics::Metrics;

/// Events may carry at most 1 kB of note.
const MAX_NOTE_BYTES: usize = 1000;

/// A token bucket: `burst` Events at once, then `per_second`.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(burst: u32, per_second: f64, now: Instant) -> Self {
        TokenBucket {
            burst: f64::from(burst),
            per_second,
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Publishes the operator's Events.
pub struct EventSink {
    client: Client,
    reporter: Reporter,
    /// One recorder for violation Events: a repeat on the same object and control within its
    /// cache window becomes a series instead of a new Event.
    violations: Recorder,
    bucket: Mutex<TokenBucket>,
    metrics: Arc<Metrics>,
}

impl EventSink {
    pub fn new(
        client: Client,
        reporter: Reporter,
        burst: u32,
        per_second: f64,
        metrics: Arc<Metrics>,
    ) -> Self {
        let violations = Recorder::new(client.clone(), reporter.clone());
        EventSink {
            client,
            reporter,
            violations,
            bucket: Mutex::new(TokenBucket::new(burst, per_second, Instant::now())),
            metrics,
        }
    }

    /// Publishes an Event about a policy. Each gets its own recorder, so that every compliance
    /// change is a new Event with its own note.
    pub async fn publish_policy_event(&self, policy: &ObjectReference, planned: &PlannedEvent) {
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        let event = Event {
            type_: if planned.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: planned.reason.to_string(),
            note: Some(bounded_note(&planned.note)),
            action: "Audit".to_string(),
            secondary: None,
        };
        match recorder.publish(&event, policy).await {
            Ok(()) => self.metrics.event_published(planned.reason),
            Err(error) => {
                tracing::warn!(%error, reason = planned.reason, "publishing a policy Event failed")
            }
        }
    }

    /// Takes a token for one violation Event; false when the rate limit holds it back.
    pub fn try_take_token(&self) -> bool {
        self.bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .try_take(Instant::now())
    }

    /// Publishes one violation Event on the offending object `regarding`, with the control ID as
    /// its action.
    pub async fn publish_violation(
        &self,
        regarding: &ObjectReference,
        control: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let event = Event {
            type_: EventType::Warning,
            reason: VIOLATION_REASON.to_string(),
            note: Some(bounded_note(note)),
            action: control.to_string(),
            secondary: None,
        };
        self.violations.publish(&event, regarding).await?;
        self.metrics.event_published(VIOLATION_REASON);
        Ok(())
    }

    /// Counts violation Events the rate limit held back (a later audit publishes them).
    pub fn held_back(&self, count: u64) {
        self.metrics.events_rate_limited(count);
    }
}

/// The reason of a violation Event on an offending object.
pub const VIOLATION_REASON: &str = "HipaaViolation";

/// How long a burst of violation Events takes to refill, for documentation and tests.
pub fn refill_time(burst: u32, per_second: f64) -> Duration {
    Duration::from_secs_f64(f64::from(burst) / per_second.max(f64::MIN_POSITIVE))
}

fn bounded_note(note: &str) -> String {
    if note.len() <= MAX_NOTE_BYTES {
        return note.to_string();
    }
    let mut end = MAX_NOTE_BYTES - 3;
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", note.get(..end).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_refills_over_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, 2.0, start);
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
        let later = start + Duration::from_secs(60);
        assert_eq!(
            (0..10).filter(|_| bucket.try_take(later)).count(),
            3,
            "never more than the burst"
        );
        assert_eq!(refill_time(3, 2.0), Duration::from_millis(1500));
    }

    #[test]
    fn long_notes_are_cut_at_a_character_boundary() {
        let note = "é".repeat(600);
        let cut = bounded_note(&note);
        assert!(cut.len() <= MAX_NOTE_BYTES && cut.ends_with("..."));
        assert_eq!(bounded_note("short"), "short");
    }
}
