//! The admission decision for a HipaaPolicy CREATE or UPDATE: the validation the operator runs
//! before it audits a policy (`hipaa_controls::validate_policy`, whose failures turn the policy
//! Ready=False), plus exceptions that expire in the future, all listed in one denial. What the
//! CRD's schema and CEL rules can say, the API server refuses before the webhook is asked.

use chrono::{DateTime, Utc};
use hipaa_controls::object::Operation;
use hipaa_controls::validate::PolicyError;
use hipaa_crds::HipaaPolicy;
use serde_json::value::RawValue;

use crate::decide::{Decision, Judgement, Review};
use crate::envelope::Payload;
use crate::review::Answer;

/// Judges a HipaaPolicy review (CREATE or UPDATE).
pub(crate) fn judge(review: &Review<'_>, now: DateTime<Utc>) -> Judgement {
    let new = match review.object {
        Some(Payload::Raw(raw)) => parse(raw, "object"),
        // The reader parses only engine kinds while reading; a HipaaPolicy always stays raw.
        Some(Payload::Parsed(other)) => Err(invalid(format!(
            "the AdmissionReview for HipaaPolicy carries a {}",
            other.kind()
        ))),
        None => Err(invalid(
            "the AdmissionReview for HipaaPolicy has no object".to_owned(),
        )),
    };
    let new = match new {
        Ok(new) => new,
        Err(judgement) => return judgement,
    };
    let old = match (review.operation, review.old_object) {
        (Operation::Update, Some(raw)) => match parse(raw, "oldObject") {
            Ok(old) => Some(old),
            Err(judgement) => return judgement,
        },
        _ => None,
    };
    // Metadata edits (labels, annotations, finalizers) leave the spec as it was: nothing to judge,
    // and a policy that was written before the webhook judged policies stays editable.
    if old.as_ref().is_some_and(|old| old.spec == new.spec) {
        return Judgement::plain(Decision::Skipped, Answer::allow());
    }
    match hipaa_controls::validate_policy_change(old.as_ref().map(|old| &old.spec), &new.spec, now)
    {
        Ok(()) => Judgement::plain(Decision::Allowed, Answer::allow()),
        Err(problems) => {
            let name = new.metadata.name.as_deref().unwrap_or(review.name);
            Judgement::plain(
                Decision::Denied,
                Answer::deny(403, denial_message(name, &problems)),
            )
        }
    }
}

/// `HIPAA Guard denied HipaaPolicy <name>: its spec has N problems:`, one line per problem, then
/// what the operator would do with it and where to look.
fn denial_message(name: &str, problems: &[PolicyError]) -> String {
    let count = match problems.len() {
        1 => "1 problem".to_owned(),
        n => format!("{n} problems"),
    };
    let mut message = format!("HIPAA Guard denied HipaaPolicy {name}: its spec has {count}:\n");
    for problem in problems {
        message.push_str("- ");
        message.push_str(&problem.to_string());
        message.push('\n');
    }
    message.push_str(
        "The operator would not audit this policy (Ready=False, InvalidSpec). Fix every problem \
         and apply again; kubectl hipaa controls lists the controls and the parameters each reads.",
    );
    message
}

/// A HipaaPolicy from raw JSON; metadata.managedFields is skipped.
fn parse(raw: &RawValue, field: &str) -> Result<HipaaPolicy, Judgement> {
    crate::skip::from_str::<HipaaPolicy>(raw.get()).map_err(|err| {
        invalid(format!(
            "{field}: the object does not parse as HipaaPolicy: {err}"
        ))
    })
}

fn invalid(message: String) -> Judgement {
    Judgement::plain(Decision::Invalid, Answer::deny(400, message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_denial_lists_every_problem() {
        let problems = [
            PolicyError::UnknownControl {
                index: 0,
                id: "HIPAA-K8S-NOPE".into(),
            },
            PolicyError::InvalidSelector {
                message: "unknown operator Equals on team (use In, NotIn, Exists or DoesNotExist)"
                    .into(),
            },
        ];
        let message = denial_message("broken", &problems);
        assert_eq!(
            message,
            "HIPAA Guard denied HipaaPolicy broken: its spec has 2 problems:\n\
             - spec.controls[0]: unknown control HIPAA-K8S-NOPE (see kubectl hipaa controls)\n\
             - spec.namespaceSelector: unknown operator Equals on team (use In, NotIn, Exists or \
             DoesNotExist)\n\
             The operator would not audit this policy (Ready=False, InvalidSpec). Fix every problem \
             and apply again; kubectl hipaa controls lists the controls and the parameters each reads."
        );
    }
}
