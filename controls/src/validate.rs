//! Checks on a HipaaPolicy spec that the CRD schema cannot express: control IDs that exist,
//! parameters the control reads, values that parse, well-formed selectors and durations; and, for
//! a spec being written (admission), exceptions that expire in the future.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hipaa_crds::{ControlParameters, HipaaPolicySpec, PolicyException};

use crate::catalog::{self, params};
use crate::duration::parse_duration;
use crate::model::Severity;
use crate::selector::selector_problem;

/// Parses `1.33` into `(1, 33)`.
pub fn parse_minor_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A reason a HipaaPolicy spec is invalid beyond what the CRD's schema catches.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("spec.controls[{index}]: unknown control {id} (see kubectl hipaa controls)")]
    UnknownControl { index: usize, id: String },
    #[error("spec.controls[{index}]: {id} is overridden more than once")]
    DuplicateControl { index: usize, id: String },
    #[error("spec.controls[{index}]: {id} does not take the parameter {parameter}")]
    UnexpectedParameter {
        index: usize,
        id: String,
        parameter: String,
    },
    #[error("spec.controls[{index}]: {id}: {message}")]
    InvalidParameter {
        index: usize,
        id: String,
        message: String,
    },
    #[error("spec.exceptions[{index}]: unknown control {id}")]
    UnknownExceptionControl { index: usize, id: String },
    #[error("spec.exceptions[{index}]: {message}")]
    InvalidException { index: usize, message: String },
    #[error(
        "spec.exceptions[{index}]: expires {expires}, which is not in the future (a new or changed \
         exception must expire after it is written)"
    )]
    ExpiredException { index: usize, expires: String },
    #[error("spec.namespaceSelector: {message}")]
    InvalidSelector { message: String },
    #[error("spec.auditInterval: {message}")]
    InvalidInterval { message: String },
}

/// The parameter names a `ControlParameters` value sets.
pub(crate) fn parameters_given(p: &ControlParameters) -> impl Iterator<Item = &'static str> {
    [
        (params::ALLOWED_REGISTRIES, p.allowed_registries.is_some()),
        (params::ALLOWED_SUBJECTS, p.allowed_subjects.is_some()),
        (params::REQUIRE_EGRESS, p.require_egress.is_some()),
        (params::MIN_REPLICAS, p.min_replicas.is_some()),
        (params::MIN_VERSION, p.min_version.is_some()),
        (params::FAIL_ON, p.fail_on.is_some()),
        (params::MAX_AGE_DAYS, p.max_age_days.is_some()),
        (params::ALLOWED_PRINCIPALS, p.allowed_principals.is_some()),
        (params::ALLOW_CONFIG_MAP, p.allow_config_map.is_some()),
        (
            params::VALUE_ENTROPY_THRESHOLD,
            p.value_entropy_threshold.is_some(),
        ),
        (params::MIN_RETENTION_DAYS, p.min_retention_days.is_some()),
        (params::ALLOW_SSE_S3, p.allow_sse_s3.is_some()),
        (params::REQUIRE_FOR_ALL, p.require_for_all.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
}

/// When `exception` stops applying; None when its time cannot be represented.
pub(crate) fn expiry_of(exception: &PolicyException) -> Option<DateTime<Utc>> {
    let ts = exception.expires.0;
    DateTime::from_timestamp(
        ts.as_second(),
        u32::try_from(ts.subsec_nanosecond()).unwrap_or(0),
    )
}

/// Whether `threshold` is a usable `valueEntropyThreshold`: above 0 (0 would take every value
/// for a token) and at most 8 bits per character (the most a byte can carry).
pub fn valid_entropy_threshold(threshold: f64) -> bool {
    threshold.is_finite() && threshold > 0.0 && threshold <= 8.0
}

/// The shortest audit interval the CRD accepts.
pub const MIN_AUDIT_INTERVAL: Duration = Duration::from_secs(10);

/// Every reason `spec` is invalid, or Ok.
pub fn validate_policy(spec: &HipaaPolicySpec) -> Result<(), Vec<PolicyError>> {
    let mut errors = Vec::new();
    for (index, o) in spec.controls.iter().enumerate() {
        let id = || o.id.clone();
        if spec
            .controls
            .iter()
            .take(index)
            .any(|earlier| earlier.id == o.id)
        {
            errors.push(PolicyError::DuplicateControl { index, id: id() });
        }
        let Some(control) = catalog::control(&o.id) else {
            errors.push(PolicyError::UnknownControl { index, id: id() });
            continue;
        };
        let Some(p) = &o.parameters else { continue };
        for parameter in parameters_given(p) {
            if !catalog::reads_parameter(control, parameter) {
                errors.push(PolicyError::UnexpectedParameter {
                    index,
                    id: id(),
                    parameter: parameter.to_string(),
                });
            }
        }
        let mut invalid = |message: String| {
            errors.push(PolicyError::InvalidParameter {
                index,
                id: id(),
                message,
            })
        };
        if let Some(registries) = &p.allowed_registries {
            if registries.is_empty() {
                invalid(format!(
                    "{} must list at least one registry",
                    params::ALLOWED_REGISTRIES
                ));
            }
            if registries
                .iter()
                .any(|r| r.trim().is_empty() || r.contains(char::is_whitespace))
            {
                invalid(format!(
                    "{} entries must be registry hosts without spaces",
                    params::ALLOWED_REGISTRIES
                ));
            }
        }
        for entry in p.allowed_subjects.iter().flatten() {
            if let Err(message) = parse_allowed_subject(entry) {
                invalid(format!("{}: {message}", params::ALLOWED_SUBJECTS));
            }
        }
        if p.allowed_principals.as_ref().is_some_and(|principals| {
            principals
                .iter()
                .any(|a| a.trim().is_empty() || a.contains(char::is_whitespace))
        }) {
            invalid(format!(
                "{} entries must be IAM principal ARNs without spaces",
                params::ALLOWED_PRINCIPALS
            ));
        }
        if p.min_replicas.is_some_and(|m| m < 1) {
            invalid(format!("{} must be at least 1", params::MIN_REPLICAS));
        }
        if p.min_version
            .as_deref()
            .is_some_and(|v| parse_minor_version(v).is_none())
        {
            invalid(format!("{} must look like 1.33", params::MIN_VERSION));
        }
        if p.fail_on
            .as_deref()
            .is_some_and(|s| Severity::parse(s).is_none())
        {
            invalid(format!(
                "{} must be CRITICAL, HIGH, MEDIUM or LOW",
                params::FAIL_ON
            ));
        }
        if p.max_age_days.is_some_and(|d| d < 1) {
            invalid(format!("{} must be at least 1", params::MAX_AGE_DAYS));
        }
        if p.min_retention_days.is_some_and(|d| d < 1) {
            invalid(format!("{} must be at least 1", params::MIN_RETENTION_DAYS));
        }
        if p.value_entropy_threshold
            .is_some_and(|t| !valid_entropy_threshold(t))
        {
            invalid(format!(
                "{} must be a number of bits per character above 0 and at most 8",
                params::VALUE_ENTROPY_THRESHOLD
            ));
        }
    }
    for (index, e) in spec.exceptions.iter().enumerate() {
        if e.controls.is_empty() {
            errors.push(PolicyError::InvalidException {
                index,
                message: "an exception must name at least one control".into(),
            });
        }
        for id in &e.controls {
            if catalog::control(id).is_none() {
                errors.push(PolicyError::UnknownExceptionControl {
                    index,
                    id: id.clone(),
                });
            }
        }
        if e.justification.trim().is_empty() {
            errors.push(PolicyError::InvalidException {
                index,
                message: "an exception needs a justification".into(),
            });
        }
        if e.approved_by.trim().is_empty() {
            errors.push(PolicyError::InvalidException {
                index,
                message: "an exception needs an approver".into(),
            });
        }
    }
    let selector = &spec.namespace_selector;
    if selector.match_labels.as_ref().is_none_or(|l| l.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty())
    {
        errors.push(PolicyError::InvalidSelector {
            message: "namespaceSelector must have matchLabels or matchExpressions".into(),
        });
    }
    if let Some(message) = selector_problem(selector) {
        errors.push(PolicyError::InvalidSelector { message });
    }
    match parse_duration(&spec.audit_interval) {
        Ok(d) if d < MIN_AUDIT_INTERVAL => errors.push(PolicyError::InvalidInterval {
            message: format!("{} is shorter than the minimum of 10s", spec.audit_interval),
        }),
        Ok(_) => {}
        Err(error) => errors.push(PolicyError::InvalidInterval {
            message: error.to_string(),
        }),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Every reason `new` may not be written over `old` (None for a new policy) at `now`: the reasons
/// of [`validate_policy`] (the operator's own checks), then each exception that is new or changed
/// (not in `old` as it is) and does not expire after `now`. An exception that expired while in
/// force may stay, so that the rest of the policy can still be edited: it waives nothing any more,
/// and the operator reports it as expired.
pub fn validate_policy_change(
    old: Option<&HipaaPolicySpec>,
    new: &HipaaPolicySpec,
    now: DateTime<Utc>,
) -> Result<(), Vec<PolicyError>> {
    let mut errors = validate_policy(new).err().unwrap_or_default();
    for (index, exception) in new.exceptions.iter().enumerate() {
        let kept = old.is_some_and(|old| old.exceptions.contains(exception));
        let future = expiry_of(exception).is_some_and(|expires| expires > now);
        if !kept && !future {
            errors.push(PolicyError::ExpiredException {
                index,
                expires: exception.expires.0.to_string(),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The subject kind and the pattern of one `allowedSubjects` entry, or why it is not one.
pub fn parse_allowed_subject(entry: &str) -> Result<(&str, &str), String> {
    let Some((kind, pattern)) = entry.split_once(':') else {
        return Err(format!(
            "{entry:?} must look like User:NAME, Group:NAME or ServiceAccount:NAMESPACE:NAME"
        ));
    };
    if pattern.is_empty() || pattern.contains(char::is_whitespace) {
        return Err(format!(
            "{entry:?} needs a name without spaces after {kind}:"
        ));
    }
    match kind {
        "User" | "Group" => Ok((kind, pattern)),
        "ServiceAccount" if pattern.split(':').count() == 2 => Ok((kind, pattern)),
        "ServiceAccount" => Err(format!(
            "{entry:?}: a ServiceAccount is named ServiceAccount:NAMESPACE:NAME"
        )),
        other => Err(format!(
            "{entry:?}: unknown subject kind {other:?} (User, Group or ServiceAccount)"
        )),
    }
}
