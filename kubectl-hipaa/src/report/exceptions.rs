//! The report's exceptions: each `spec.exceptions` entry of each policy with its justification,
//! approver, expiry and state now, and the failures the last audit says it waived.

use chrono::{DateTime, Utc};
use hipaa_controls::tally::{exception_state, expires_in};
use hipaa_crds::{ExceptionState, HipaaPolicy};
use serde::Serialize;

use crate::status::view::to_chrono;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionEvidence {
    pub policy: String,
    pub index: usize,
    pub controls: Vec<String>,
    pub namespaces: Vec<String>,
    pub kinds: Vec<String>,
    pub names: Vec<String>,
    pub justification: String,
    pub approved_by: String,
    pub expires: String,
    pub state: ExceptionState,
    pub expires_in: Option<String>,
    /// Failures it waived in the last audit (from the status).
    pub matched: Option<u32>,
}

/// The exceptions of `policy`, in spec order, as of `now`.
pub(super) fn exceptions(policy: &HipaaPolicy, now: DateTime<Utc>) -> Vec<ExceptionEvidence> {
    let name = policy.metadata.name.clone().unwrap_or_default();
    let statuses = policy
        .status
        .as_ref()
        .map(|s| s.exceptions.as_slice())
        .unwrap_or(&[]);
    policy
        .spec
        .exceptions
        .iter()
        .enumerate()
        .map(|(index, exception)| {
            let expires = to_chrono(&exception.expires);
            ExceptionEvidence {
                policy: name.clone(),
                index,
                controls: exception.controls.clone(),
                namespaces: exception.match_.namespaces.clone(),
                kinds: exception.match_.kinds.clone(),
                names: exception.match_.names.clone(),
                justification: exception.justification.clone(),
                approved_by: exception.approved_by.clone(),
                expires: exception.expires.0.to_string(),
                state: exception_state(expires, now),
                expires_in: expires_in(expires, now),
                matched: statuses
                    .iter()
                    .find(|s| usize::try_from(s.index).ok() == Some(index))
                    .map(|s| s.matched),
            }
        })
        .collect()
}
