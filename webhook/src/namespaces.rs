//! The admission decision for a Namespace CREATE or UPDATE: HIPAA-K8S-DEV-PHI (and every other
//! control that judges a Namespace) under the policies its new labels select, and, when its labels
//! change, HIPAA-K8S-PHI-SCOPE under each policy its old labels selected and its new ones do not.
//! A plain function of the review, the snapshot (policies, context, workloads per namespace), the
//! exempt namespaces and the time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::model::Finding;
use hipaa_controls::object::{Object, ObjectKind, Operation};
use hipaa_controls::policy::EffectivePolicy;
use k8s_openapi::api::core::v1::Namespace;
use serde_json::value::RawValue;

use crate::decide::{
    Decision, Exemptions, Judgement, Review, STARTING_MESSAGE, denied_controls, verdict,
};
use crate::envelope::Payload;
use crate::kinds::ParseError;
use crate::review::Answer;
use crate::snapshot::Snapshot;

/// Who can waive the denied controls: the policies an exception must go into, and the controls.
struct Waivers {
    policies: String,
    controls: Vec<&'static str>,
}

/// Judges a Namespace review (CREATE or UPDATE of the object itself).
pub(crate) fn judge(
    review: &Review<'_>,
    snapshot: &Snapshot,
    exemptions: &Exemptions,
    now: DateTime<Utc>,
) -> Judgement {
    let new = match new_namespace(review) {
        Ok(new) => new,
        Err(judgement) => return judgement,
    };
    let name = new.metadata.name.as_deref().unwrap_or(review.name);
    if exemptions.contains(name) {
        return Judgement::plain(Decision::Exempt, Answer::allow());
    }
    let old = match (review.operation, review.old_object) {
        (Operation::Update, Some(raw)) => match parse(raw, "oldObject") {
            Ok(old) => Some(old),
            Err(judgement) => return judgement,
        },
        (Operation::Update, None) => return missing("oldObject"),
        _ => None,
    };
    // Both controls read labels only: an update that keeps them (annotations, finalizers, the
    // namespace controller's bookkeeping) changes nothing they judge, and a namespace that already
    // fails is the audit's to report, not a reason to block its other edits.
    if old
        .as_ref()
        .is_some_and(|old| old.metadata.labels == new.metadata.labels)
    {
        return Judgement::plain(Decision::Skipped, Answer::allow());
    }
    if !snapshot.synced {
        return Judgement::plain(
            Decision::NotReady,
            Answer::deny(503, STARTING_MESSAGE.to_owned()),
        );
    }
    let policies = || snapshot.policies.iter().map(Arc::as_ref);
    let mut findings: Vec<Finding> = Vec::new();
    let mut waivers: Vec<Waivers> = Vec::new();
    let governed = EffectivePolicy::for_namespace(policies(), &new);
    if let Some(policy) = &governed {
        let object = Object::Namespace(Box::new(new.clone()));
        let evaluation = hipaa_controls::evaluate(
            &object,
            &snapshot.context,
            policy,
            hipaa_controls::Mode::Admission,
            now,
        );
        waivers.push(Waivers {
            policies: policy.policies.join(", "),
            controls: denied_controls(&evaluation.findings),
        });
        findings.extend(evaluation.findings);
    }
    let mut departed = false;
    if let Some(old) = &old {
        let held = snapshot.workloads.held(name);
        for departure in
            hipaa_controls::evaluate_namespace_departures(old, &new, policies(), &held, now)
        {
            departed = true;
            waivers.push(Waivers {
                controls: denied_controls(&departure.evaluation.findings),
                policies: departure.policy,
            });
            findings.extend(departure.evaluation.findings);
        }
    }
    if governed.is_none() && !departed {
        return Judgement::plain(Decision::Unselected, Answer::allow());
    }
    verdict(findings, |lines, _| denial_message(name, lines, &waivers))
}

/// `HIPAA Guard denied Namespace <name>:`, one line per failed control, then, per policy whose
/// controls deny, the exception that would waive them.
fn denial_message(name: &str, lines: &[String], waivers: &[Waivers]) -> String {
    let mut message = format!("HIPAA Guard denied Namespace {name}:\n");
    for line in lines {
        message.push_str(line);
        message.push('\n');
    }
    let mut first = true;
    for waiver in waivers.iter().filter(|w| !w.controls.is_empty()) {
        if !first {
            message.push('\n');
        }
        first = false;
        message.push_str(&format!(
            "To request an exception, add to spec.exceptions of HipaaPolicy {}: controls [{}], \
             match {{namespaces: [{name}]}}, justification, approvedBy and expires.",
            waiver.policies,
            waiver.controls.join(", "),
        ));
    }
    message
}

/// The new Namespace, parsed while the review was read or here.
fn new_namespace(review: &Review<'_>) -> Result<Namespace, Judgement> {
    match review.object {
        None => Err(missing("object")),
        Some(Payload::Parsed(Object::Namespace(ns))) => Ok(ns.as_ref().clone()),
        Some(Payload::Parsed(other)) => Err(invalid(format!(
            "the AdmissionReview for Namespace carries a {}",
            other.kind()
        ))),
        Some(Payload::Raw(raw)) => parse(raw, "object"),
    }
}

/// A Namespace from raw JSON; metadata.managedFields is skipped.
fn parse(raw: &RawValue, field: &str) -> Result<Namespace, Judgement> {
    crate::skip::from_str::<Namespace>(raw.get()).map_err(|source| {
        let err = ParseError {
            kind: ObjectKind::Namespace.as_str(),
            source,
        };
        invalid(format!("{field}: {err}"))
    })
}

fn missing(what: &str) -> Judgement {
    invalid(format!("the AdmissionReview for Namespace has no {what}"))
}

fn invalid(message: String) -> Judgement {
    Judgement::plain(Decision::Invalid, Answer::deny(400, message))
}
