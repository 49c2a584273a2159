//! The tally of everything in a policy's scope: per-control results, counts by severity, the
//! compliance score, exception states and a bounded, most-severe-first violation list. The
//! operator writes it into a HipaaPolicy's status; `kubectl hipaa scan` and `report` print it.
//!
//! Score (also in docs/controls.md): the controls that apply and were evaluated (result Pass,
//! Excepted, Fail or Error) each weigh their severity's weight (LOW 1, MEDIUM 2, HIGH 4,
//! CRITICAL 8); the score is the passing weight (Pass or Excepted) over the total weight, times
//! 100, rounded down, so any failure or error keeps it below 100. NotEvaluated and Disabled
//! controls do not count; with nothing evaluated the score is 100.

mod parts;
mod status;

pub use parts::TallyPart;
pub use status::{exception_state, expires_in, to_time};

use std::borrow::Borrow;

use chrono::{DateTime, Utc};
use hipaa_crds::{ComplianceSummary, ControlResult, ExceptionState, MAX_STATUS_VIOLATIONS};

use crate::catalog;
use crate::engine::Evaluation;
use crate::model::{
    Control, Finding, KIND_ALB, KIND_AWS_ACCOUNT, KIND_DYNAMODB_TABLE, KIND_ECR_REPOSITORY,
    KIND_EFS_FILE_SYSTEM, KIND_EKS_CLUSTER, KIND_IAM_ROLE, KIND_KMS_KEY, KIND_RDS_CLUSTER,
    KIND_RDS_INSTANCE, KIND_S3_BUCKET, KIND_SECRETS_MANAGER_SECRET, ResourceRef, Scope, Target,
};
use crate::policy::EffectivePolicy;
use parts::ControlPart;

/// The kinds of AWS resources (their evaluations also get a per-resource result).
const AWS_KINDS: &[&str] = &[
    KIND_EKS_CLUSTER,
    KIND_ECR_REPOSITORY,
    KIND_SECRETS_MANAGER_SECRET,
    KIND_KMS_KEY,
    KIND_IAM_ROLE,
    KIND_S3_BUCKET,
    KIND_RDS_INSTANCE,
    KIND_RDS_CLUSTER,
    KIND_DYNAMODB_TABLE,
    KIND_ALB,
    KIND_EFS_FILE_SYSTEM,
    KIND_AWS_ACCOUNT,
];

/// One resource (Kubernetes object or AWS resource) and what the engine found on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceEvaluation {
    pub resource: ResourceRef,
    pub evaluation: Evaluation,
    /// When the evidence was observed (the AWS snapshot's time); `None` for Kubernetes objects.
    pub observed_at: Option<DateTime<Utc>>,
}

impl ResourceEvaluation {
    pub fn new(resource: ResourceRef, evaluation: Evaluation) -> Self {
        ResourceEvaluation {
            resource,
            evaluation,
            observed_at: None,
        }
    }
}

/// One control's result over the whole scope.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlTally {
    pub control: &'static Control,
    pub result: ControlResult,
    /// Resources that fail it (not excepted).
    pub violations: u32,
    /// Resources whose failure an exception waives.
    pub excepted: u32,
    /// Resources on which it could not be evaluated.
    pub errors: u32,
    /// Resources it was checked on.
    pub resources_checked: u32,
    /// Why the result is Error or NotEvaluated, or which checks errored besides failures.
    pub message: Option<String>,
}

/// The state of one exception of the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionTally {
    pub policy: String,
    /// Its index in the policy's `spec.exceptions`.
    pub index: usize,
    pub state: ExceptionState,
    /// When it stops applying; `None` when the expiry cannot be represented (it counts as
    /// expired).
    pub expires_at: Option<DateTime<Utc>>,
    /// Failures it waived.
    pub matched: u32,
}

/// The result over one AWS resource.
#[derive(Clone, Debug, PartialEq)]
pub struct AwsResourceTally {
    pub resource: ResourceRef,
    pub result: ControlResult,
    /// Controls that fail or could not be evaluated on it, in catalog order.
    pub failed_controls: Vec<&'static str>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// Everything the status and the reports say about a policy's scope.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    /// One entry per catalog control, in catalog order.
    pub controls: Vec<ControlTally>,
    pub summary: ComplianceSummary,
    /// Violations (failed, not excepted), most severe first, at most the limit given.
    pub violations: Vec<Finding>,
    /// True when more violations exist than `violations` holds (`summary.violations` counts all).
    pub truncated: bool,
    /// One entry per exception of the policy, in policy order.
    pub exceptions: Vec<ExceptionTally>,
    /// AWS resources, failing first.
    pub aws_resources: Vec<AwsResourceTally>,
}

impl Tally {
    /// No control fails and none could not be evaluated (an error never counts as compliant).
    pub fn is_compliant(&self) -> bool {
        self.controls
            .iter()
            .all(|c| !matches!(c.result, ControlResult::Fail | ControlResult::Error))
    }

    /// The tally of one control.
    pub fn control(&self, id: &str) -> Option<&ControlTally> {
        self.controls.iter().find(|c| c.control.id == id)
    }
}

/// Tallies `evaluations` (every in-scope object and AWS resource) under `policy` at `now`,
/// keeping at most [`MAX_STATUS_VIOLATIONS`] violations.
pub fn tally<'a>(
    policy: &EffectivePolicy,
    evaluations: impl IntoIterator<Item = &'a ResourceEvaluation>,
    now: DateTime<Utc>,
) -> Tally {
    tally_with_limit(policy, evaluations, now, MAX_STATUS_VIOLATIONS)
}

/// [`tally`] with another bound on the violation list (reports may want them all).
pub fn tally_with_limit<'a>(
    policy: &EffectivePolicy,
    evaluations: impl IntoIterator<Item = &'a ResourceEvaluation>,
    now: DateTime<Utc>,
    max_violations: usize,
) -> Tally {
    let part = TallyPart::new(policy, evaluations, max_violations);
    tally_parts(policy, [&part], now, max_violations)
}

/// The tally of several parts (see [`TallyPart`]), each built under `policy` with a violation
/// bound of at least `max_violations`; equal to the tally of all their evaluations at once.
pub fn tally_parts<'p, E: Borrow<ResourceEvaluation> + 'p>(
    policy: &EffectivePolicy,
    parts: impl IntoIterator<Item = &'p TallyPart<E>>,
    now: DateTime<Utc>,
    max_violations: usize,
) -> Tally {
    let parts: Vec<&TallyPart<E>> = parts.into_iter().collect();
    let controls: Vec<ControlTally> = catalog::catalog()
        .iter()
        .enumerate()
        .map(|(position, control)| {
            let counts = parts.iter().filter_map(|part| part.controls.get(position));
            control_tally(control, policy, counts)
        })
        .collect();
    let sum = |of: fn(&TallyPart<E>) -> usize| count(parts.iter().map(|part| of(part)).sum());
    let by_severity = |slot: usize| {
        count(
            parts
                .iter()
                .filter_map(|part| part.by_severity.get(slot))
                .sum(),
        )
    };
    let violation_total: usize = parts.iter().map(|part| part.violation_total).sum();
    let summary = ComplianceSummary {
        resources_evaluated: sum(|part| part.resources_evaluated),
        violations: count(violation_total),
        critical: by_severity(3),
        high: by_severity(2),
        medium: by_severity(1),
        low: by_severity(0),
        excepted: sum(|part| part.excepted),
        errors: sum(|part| part.errors),
        score: score(&controls),
    };
    let matched: Vec<usize> = (0..policy.exceptions.len())
        .map(|position| {
            parts
                .iter()
                .filter_map(|part| part.exception_matches.get(position))
                .sum()
        })
        .collect();
    Tally {
        controls,
        summary,
        violations: parts::merge_violations(&parts, max_violations),
        truncated: violation_total > max_violations,
        exceptions: status::exception_tallies(policy, &matched, now),
        aws_resources: parts::merge_aws(&parts),
    }
}

/// One control's result from its counts in every part.
fn control_tally<'p, E: Borrow<ResourceEvaluation> + 'p>(
    control: &'static Control,
    policy: &EffectivePolicy,
    counts: impl Iterator<Item = &'p ControlPart<E>>,
) -> ControlTally {
    let mut tally = ControlTally {
        control,
        result: ControlResult::Disabled,
        violations: 0,
        excepted: 0,
        errors: 0,
        resources_checked: 0,
        message: None,
    };
    if policy.setting(control.id).is_none() {
        return tally;
    }
    let (mut checked, mut failed, mut excepted, mut errors) = (0, 0, 0, 0);
    let mut first_error: Option<&Finding> = None;
    for part in counts {
        checked += part.checked;
        failed += part.failed;
        excepted += part.excepted;
        errors += part.errors;
        let candidate = part.first_error.as_ref().and_then(|at| at.finding());
        if parts::compare_findings(candidate, first_error, parts::error_order).is_lt() {
            first_error = candidate;
        }
    }
    tally.resources_checked = count(checked);
    tally.violations = count(failed);
    tally.excepted = count(excepted);
    tally.errors = count(errors);
    tally.result = if checked == 0 {
        ControlResult::NotEvaluated
    } else if failed > 0 {
        ControlResult::Fail
    } else if errors > 0 {
        ControlResult::Error
    } else if excepted > 0 {
        ControlResult::Excepted
    } else {
        ControlResult::Pass
    };
    tally.message = match tally.result {
        ControlResult::NotEvaluated => Some(not_evaluated_reason(control)),
        _ => first_error.map(|first| error_summary(first, errors)),
    };
    tally
}

/// `<first error>`, or `<first error> (and 3 more resources could not be evaluated)`.
fn error_summary(first: &Finding, errors: usize) -> String {
    match errors.saturating_sub(1) {
        0 => first.message.clone(),
        more => format!(
            "{} (and {more} more resources could not be evaluated)",
            first.message
        ),
    }
}

/// Why nothing was evaluated, by what the control looks at.
fn not_evaluated_reason(control: &Control) -> String {
    match control.targets.first() {
        Some(Target::EksCluster) => "no EKS cluster is linked (spec.aws.eksClusterName)".to_string(),
        Some(Target::EcrRepository) => {
            "no ECR repository is linked (spec.aws.ecrRepositories) or runs an in-scope image".to_string()
        }
        Some(Target::SecretsManagerSecret) => {
            "no Secrets Manager secret is linked (spec.aws.secrets) or referenced by an in-scope workload".to_string()
        }
        Some(Target::KmsKey) => "no KMS key is used by the linked AWS resources".to_string(),
        _ if control.scope == Scope::Aws => "no linked AWS resource".to_string(),
        _ if control.targets.contains(&Target::Rbac) => {
            "no governed Namespace whose RBAC is known (a scan judges access when its inputs \
             hold Roles or bindings, or with --cluster)"
                .to_string()
        }
        _ if control.scope == Scope::KubernetesAdmission => {
            "not applicable in audits: judged at admission only, on the change".to_string()
        }
        _ => {
            let kinds: Vec<&str> = control.targets.iter().map(|t| t.as_str()).collect();
            format!("nothing in scope that the control applies to ({})", kinds.join(", "))
        }
    }
}

/// The severity-weighted share of evaluated controls that pass (see the module documentation).
pub fn score(controls: &[ControlTally]) -> u8 {
    let mut total: u64 = 0;
    let mut passing: u64 = 0;
    for tally in controls {
        let weight = u64::from(tally.control.severity.weight());
        match tally.result {
            ControlResult::Pass | ControlResult::Excepted => {
                total += weight;
                passing += weight;
            }
            ControlResult::Fail | ControlResult::Error => total += weight,
            ControlResult::NotEvaluated | ControlResult::Disabled => {}
        }
    }
    if total == 0 {
        return 100;
    }
    u8::try_from(passing * 100 / total).unwrap_or(100)
}

/// A count for the status (which uses u32), saturating.
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
