//! The violation-Event loop of one audit, whole: pick the violations no Event reported yet,
//! publish one Event per violation on the offending object as the rate limits allow, and mark
//! those published as reported. A violation held back by a rate limit (operator-wide, or the
//! repeats of one object and control: a flapping object), or whose publish failed, stays
//! unreported, so a later audit publishes it if it is still there.

use std::collections::HashSet;

use hipaa_crds::HipaaPolicyStatus;
use k8s_openapi::api::core::v1::ObjectReference;
use tracing::instrument;

use crate::decide::Audit;
use crate::decide::events::{ReportedViolations, ViolationKey};
use crate::observe::Observation;
use crate::write::events::EventSink;

/// What one audit of one policy says about violations, and what was reported before.
pub struct AuditedViolations<'a> {
    /// The policy's name, in every note.
    pub policy: &'a str,
    pub audit: &'a Audit,
    /// Where the offending objects are (for the Events' references).
    pub observation: &'a Observation,
    /// The status in force before this audit: after a start or a change of leader, the
    /// violations it lists count as reported.
    pub previous: Option<&'a HipaaPolicyStatus>,
}

/// A violation Event waiting to be published.
struct Pending {
    key: ViolationKey,
    regarding: ObjectReference,
    note: String,
}

/// What one pass of the loop did, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reported {
    pub published: usize,
    /// Held back by the rate limit.
    pub held_back: usize,
    pub failed: usize,
}

/// Reports the violations of `audited` that have no Event yet, and remembers those published in
/// `reported` (the policy's own record, which the caller holds for the whole reconcile).
#[instrument(skip_all)]
pub async fn report_new_violations(
    sink: &EventSink,
    reported: &mut ReportedViolations,
    audited: AuditedViolations<'_>,
) -> Reported {
    let pending = pick(reported, &audited);
    let mut outcome = Reported::default();
    for item in pending {
        // Tokens per Event, taken just before publishing: the buckets may refill meanwhile.
        if sink
            .try_take_token(&item.regarding, &item.key.control)
            .is_err()
        {
            outcome.held_back += 1;
            continue;
        }
        match sink
            .publish_violation(&item.regarding, &item.key.control, &item.note)
            .await
        {
            Ok(()) => {
                reported.mark_reported(item.key);
                outcome.published += 1;
            }
            Err(error) => {
                outcome.failed += 1;
                tracing::warn!(%error, control = %item.key.control, object = %item.key.resource, "publishing a violation Event failed");
            }
        }
    }
    if outcome.held_back > 0 {
        sink.held_back(outcome.held_back as u64);
        tracing::debug!(
            held_back = outcome.held_back,
            "violation Events held back by the rate limit"
        );
    }
    outcome
}

/// The violations not reported yet, with the reference and note of their Event. Violations of
/// objects outside the observation (AWS resources) have nothing to attach an Event to and are
/// left out.
fn pick(reported: &mut ReportedViolations, audited: &AuditedViolations<'_>) -> Vec<Pending> {
    let policy = audited.policy;
    let unreported: Vec<(ViolationKey, String)> = reported
        .unreported(audited.audit.violations(), audited.previous)
        .into_iter()
        .map(|finding| {
            (
                ViolationKey::of(finding),
                format!("HipaaPolicy {policy}: {}", finding.denial_line()),
            )
        })
        .collect();
    if unreported.is_empty() {
        return Vec::new();
    }
    // References are built only for the objects named, and only when something is to publish.
    let wanted: HashSet<_> = unreported
        .iter()
        .map(|(key, _)| key.resource.clone())
        .collect();
    let references = audited.observation.references(&wanted);
    unreported
        .into_iter()
        .filter_map(|(key, note)| {
            let regarding = references.get(&key.resource)?.clone();
            Some(Pending {
                key,
                regarding,
                note,
            })
        })
        .collect()
}
