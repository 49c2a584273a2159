//! Publishing Events: on a HipaaPolicy (compliance changed, an exception expired or expires soon,
//! an access was granted or revoked in its namespaces) and on an offending object (a new
//! violation). Every Event passes the budget of
//! [`crate::decide::event_budget`]: violation Events an operator-wide token bucket, so that a
//! cluster full of new violations cannot flood the API server, and every Event a bucket per object
//! and topic, so that a flapping object or policy cannot either. Which violations to report, and
//! remembering those reported, is the loop in [`super::violation_events`]. A failed publish is
//! logged, never fatal to the audit.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::decide::event_budget::{BudgetLimits, EventBudget, HeldBack};
use crate::decide::events::{
    PlannedEvent, REASON_BECAME_COMPLIANT, REASON_BECAME_NON_COMPLIANT, REASON_COMPLIANCE_UNKNOWN,
};
use crate::metrics::Metrics;

/// Events may carry at most 1 kB of note.
const MAX_NOTE_BYTES: usize = 1000;

/// Publishes the operator's Events.
pub struct EventSink {
    client: Client,
    reporter: Reporter,
    /// One recorder for violation Events: a repeat on the same object and control within its
    /// cache window becomes a series instead of a new Event.
    violations: Recorder,
    budget: Mutex<EventBudget>,
    metrics: Arc<Metrics>,
}

impl EventSink {
    pub fn new(
        client: Client,
        reporter: Reporter,
        limits: BudgetLimits,
        metrics: Arc<Metrics>,
    ) -> Self {
        let violations = Recorder::new(client.clone(), reporter.clone());
        EventSink {
            client,
            reporter,
            violations,
            budget: Mutex::new(EventBudget::new(limits, Instant::now())),
            metrics,
        }
    }

    /// Publishes an Event about a policy. Each gets its own recorder, so that every compliance
    /// change is a new Event with its own note. A policy whose compliance flaps past its share
    /// of repeats gets no Event for it (its status still says where it stands), counted in
    /// `events_rate_limited`.
    pub async fn publish_policy_event(&self, policy: &ObjectReference, planned: &PlannedEvent) {
        self.publish_on_policy(policy, planned, policy_topic(planned.reason))
            .await;
    }

    /// Publishes an access Event on a policy ([`crate::decide::access_events`]). Its repeats are
    /// counted per note (one subject's access in one namespace), so that the Events of one audit
    /// do not hold each other back, while one binding created and deleted over and over gets its
    /// share of Events and then one per repeat interval.
    pub async fn publish_access_event(&self, policy: &ObjectReference, planned: &PlannedEvent) {
        self.publish_on_policy(policy, planned, &access_topic(planned))
            .await;
    }

    async fn publish_on_policy(
        &self,
        policy: &ObjectReference,
        planned: &PlannedEvent,
        topic: &str,
    ) {
        let key = repeat_key(policy, topic);
        if let Err(held) = self.budget().try_repeat(&key, Instant::now()) {
            self.metrics.events_rate_limited(1);
            tracing::debug!(reason = planned.reason, ?held, "policy Event held back");
            return;
        }
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

    /// Takes the tokens for one violation Event of `control` on `regarding`; why not, when a
    /// rate limit holds it back.
    pub fn try_take_token(
        &self,
        regarding: &ObjectReference,
        control: &str,
    ) -> Result<(), HeldBack> {
        self.budget()
            .try_violation(&repeat_key(regarding, control), Instant::now())
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, EventBudget> {
        self.budget
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// What repeats of an Event are counted under: the object (its uid too, so that a re-created
/// object starts afresh) and a topic.
fn repeat_key(object: &ObjectReference, topic: &str) -> String {
    format!(
        "{}/{}/{}/{}#{topic}",
        object.kind.as_deref().unwrap_or_default(),
        object.namespace.as_deref().unwrap_or_default(),
        object.name.as_deref().unwrap_or_default(),
        object.uid.as_deref().unwrap_or_default(),
    )
}

/// The topic of a policy Event: the three compliance reasons are one topic (a policy flapping
/// between Compliant and NonCompliant is one repeat), each exception reason its own.
fn policy_topic(reason: &'static str) -> &'static str {
    match reason {
        REASON_BECAME_COMPLIANT | REASON_BECAME_NON_COMPLIANT | REASON_COMPLIANCE_UNKNOWN => {
            "compliance"
        }
        other => other,
    }
}

/// The repeat topic of an access Event: the access it is about (its note up to the path), so
/// that a grant and its revocation flapping share one bucket.
fn access_topic(planned: &PlannedEvent) -> String {
    let about = planned
        .note
        .split(" through ")
        .next()
        .unwrap_or_default()
        .split(" (was granted")
        .next()
        .unwrap_or_default()
        .replace(" can now ", " ")
        .replace(" can no longer ", " ");
    format!("access:{about}")
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
    fn compliance_reasons_share_a_topic_and_keys_tell_objects_apart() {
        assert_eq!(policy_topic(REASON_BECAME_COMPLIANT), "compliance");
        assert_eq!(policy_topic(REASON_BECAME_NON_COMPLIANT), "compliance");
        assert_eq!(policy_topic(REASON_COMPLIANCE_UNKNOWN), "compliance");
        assert_eq!(
            policy_topic(crate::decide::events::REASON_EXCEPTION_EXPIRED),
            crate::decide::events::REASON_EXCEPTION_EXPIRED
        );
        let object = |name: &str, uid: &str| ObjectReference {
            kind: Some("Deployment".into()),
            namespace: Some("billing".into()),
            name: Some(name.into()),
            uid: Some(uid.into()),
            ..ObjectReference::default()
        };
        assert_eq!(
            repeat_key(&object("api", "u1"), "PRIVILEGED"),
            "Deployment/billing/api/u1#PRIVILEGED"
        );
        assert_ne!(
            repeat_key(&object("api", "u1"), "PRIVILEGED"),
            repeat_key(&object("api", "u2"), "PRIVILEGED"),
            "a re-created object is another object"
        );
    }

    #[test]
    fn a_grant_and_its_revocation_share_a_topic() {
        let event = |note: &str| PlannedEvent {
            warning: false,
            reason: "AccessGranted",
            note: note.to_owned(),
        };
        let granted = access_topic(&event(
            "User mallory can now read-secrets in namespace billing through RoleBinding billing/r → Role billing/reader, rule 0",
        ));
        let revoked = access_topic(&event(
            "User mallory can no longer read-secrets in namespace billing (was granted through RoleBinding billing/r → Role billing/reader, rule 0)",
        ));
        assert_eq!(
            granted,
            "access:User mallory read-secrets in namespace billing"
        );
        assert_eq!(granted, revoked);
    }

    #[test]
    fn long_notes_are_cut_at_a_character_boundary() {
        let note = "é".repeat(600);
        let cut = bounded_note(&note);
        assert!(cut.len() <= MAX_NOTE_BYTES && cut.ends_with("..."));
        assert_eq!(bounded_note("short"), "short");
    }
}
