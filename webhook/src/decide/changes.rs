//! The reviews of a change the object alone does not show, and the parse of the new object: a
//! NetworkPolicy's creation, update or deletion (what it uncovers, read from the old object too),
//! and a write of a workload's `scale` subresource (the replica count asked for).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use hipaa_controls::object::{ObjectKind, Operation};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::{Evaluation, Object};
use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::{Decision, Judgement, Review};
use crate::envelope::Payload;
use crate::kinds::ParseError;
use crate::review::Answer;
use crate::snapshot::Snapshot;

/// The subresource `kubectl scale` (and an autoscaler) writes: its object is an
/// `autoscaling/v1` `Scale`, not the workload.
pub(super) const SCALE: &str = "scale";

/// A review that cannot be judged as sent (an object missing or not of its kind): denied.
pub(super) type Refused = Judgement;

fn missing(kind: ObjectKind, what: &str) -> Refused {
    let message = format!("the AdmissionReview for {} has no {what}", kind.as_str());
    Judgement::plain(Decision::Invalid, Answer::deny(400, message))
}

fn invalid(err: ParseError) -> Refused {
    Judgement::plain(Decision::Invalid, Answer::deny(400, err.to_string()))
}

/// The new object: parsed while the review was read, or parsed here.
pub(super) fn new_object<'r>(
    kind: ObjectKind,
    review: &'r Review<'r>,
) -> Result<Cow<'r, Object>, Refused> {
    match review.object {
        None => Err(missing(kind, "object")),
        Some(Payload::Parsed(object)) => Ok(Cow::Borrowed(object)),
        Some(Payload::Raw(raw)) => crate::kinds::parse(kind, raw, review.namespace, review.name)
            .map(Cow::Owned)
            .map_err(invalid),
    }
}

/// The old object of a NetworkPolicy review.
fn old_network_policy(review: &Review<'_>) -> Result<Box<NetworkPolicy>, Refused> {
    let raw = review
        .old_object
        .ok_or_else(|| missing(ObjectKind::NetworkPolicy, "oldObject"))?;
    crate::kinds::parse_network_policy(raw, review.namespace, review.name).map_err(invalid)
}

/// A NetworkPolicy creation, update or deletion: a rule that lets everything in (the new object),
/// and what the update or deletion uncovers (the old object).
pub(super) fn judge_network_policy_change(
    review: &Review<'_>,
    snapshot: &Snapshot,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Result<Evaluation, Refused> {
    let context = &snapshot.context;
    if review.operation == Operation::Delete {
        let old = old_network_policy(review)?;
        return Ok(hipaa_controls::evaluate_network_policy_deletion(
            &old, context, policy, now,
        ));
    }
    let object = new_object(ObjectKind::NetworkPolicy, review)?;
    let Object::NetworkPolicy(new) = object.as_ref() else {
        return Err(missing(ObjectKind::NetworkPolicy, "NetworkPolicy object"));
    };
    Ok(match review.operation {
        Operation::Update => {
            let old = old_network_policy(review)?;
            hipaa_controls::evaluate_network_policy_update(&old, new, context, policy, now)
        }
        _ => hipaa_controls::evaluate_network_policy_creation(new, context, policy, now),
    })
}

/// A write of a workload's `scale` subresource: the replica count it asks for.
pub(super) fn judge_scale(
    kind: ObjectKind,
    review: &Review<'_>,
    snapshot: &Snapshot,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Result<Evaluation, Refused> {
    let replicas = match review.object {
        None => return Err(missing(kind, "object")),
        Some(Payload::Raw(raw)) => crate::kinds::parse_scale_replicas(raw).map_err(invalid)?,
        // Parsed while reading only when the review named the workload's own kind: the lean
        // parse of a workload reads `spec.replicas` from the Scale just the same.
        Some(Payload::Parsed(Object::Deployment(workload) | Object::StatefulSet(workload))) => {
            workload.replicas.unwrap_or(0)
        }
        Some(Payload::Parsed(_)) => return Err(missing(kind, "Scale object")),
    };
    Ok(hipaa_controls::evaluate_scale(
        kind,
        review.namespace,
        review.name,
        replicas,
        &snapshot.context,
        policy,
        now,
    ))
}
