//! Decide: the whole desired status of a policy from what was observed, as a pure function.
//! Every in-scope object goes through the engine in audit mode, the AWS snapshot (when there is
//! one) through the AWS controls, and the tally turns the findings into counts, per-control
//! results, the bounded violation list and exception states. Nothing here touches a client.

pub mod access_events;
pub mod conditions;
pub mod event_budget;
pub mod events;
pub mod reuse;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hipaa_controls::aws::{
    AwsSnapshot, add_resource_links, eks_access_status, evaluate_aws_resources,
};
use hipaa_controls::context::ClusterContext;
use hipaa_controls::duration::parse_duration;
use hipaa_controls::engine::{Evaluation, Mode, evaluate};
use hipaa_controls::model::{Finding, Outcome, Scope};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::{ResourceEvaluation, TallyPart, tally_parts};
use hipaa_crds::{
    ControlResult, HipaaPolicy, HipaaPolicyStatus, MAX_STATUS_VIOLATIONS, default_audit_interval,
};
use kube::ResourceExt;

use crate::observe::fingerprint::ContextFingerprints;
use crate::observe::{Cached, Observation};
use crate::time::to_k8s_time;
use reuse::{EvaluationCache, ReuseInput};

/// What one audit of one policy reads.
#[derive(Clone, Copy)]
pub struct AuditInput<'a> {
    pub policy: &'a HipaaPolicy,
    pub context: &'a ClusterContext,
    pub observation: &'a Observation,
    /// The AWS snapshot for the policy's linked resources, when there is one.
    pub aws: Option<&'a AwsSnapshot>,
    /// The status the policy has now (for transition times).
    pub previous: Option<&'a HipaaPolicyStatus>,
    pub now: DateTime<Utc>,
}

/// The outcome of one audit.
#[derive(Clone, Debug)]
pub struct Audit {
    /// The complete status the policy should have.
    pub status: HipaaPolicyStatus,
    /// Every evaluated resource (empty for an invalid spec).
    pub evaluations: Vec<Arc<ResourceEvaluation>>,
    /// How many of them were reused from the previous audit.
    pub reused: usize,
    /// The audit interval; None when the spec is invalid and nothing runs until it changes.
    pub interval: Option<Duration>,
}

impl Audit {
    /// Every violation (failed, not excepted), unbounded.
    pub fn violations(&self) -> impl Iterator<Item = &Finding> {
        self.evaluations
            .iter()
            .flat_map(|e| e.evaluation.findings.iter())
            .filter(|f| f.is_violation())
    }

    /// Violations counted by (control, severity, namespace), for metrics; empty namespace for
    /// cluster-scoped objects other than Namespaces and for AWS resources.
    pub fn violation_counts(&self) -> BTreeMap<(String, String, String), u32> {
        let mut counts = BTreeMap::new();
        for finding in self.violations() {
            // A Namespace's own violations count in that namespace.
            let namespace = match (&finding.resource.namespace, finding.resource.kind.as_str()) {
                (Some(namespace), _) => namespace.clone(),
                (None, "Namespace") => finding.resource.name.clone(),
                (None, _) => String::new(),
            };
            let key = (
                finding.control.id.to_string(),
                finding.control.severity.as_str().to_string(),
                namespace,
            );
            *counts.entry(key).or_insert(0_u32) += 1;
        }
        counts
    }

    /// True when the spec was valid and evaluated.
    pub fn is_evaluated(&self) -> bool {
        self.interval.is_some()
    }
}

/// Audits one policy, evaluating everything.
pub fn audit(input: AuditInput<'_>) -> Audit {
    audit_reusing(input, None)
}

/// What an audit may reuse: the previous evaluations and the context fingerprints of now.
pub struct Reuse<'a> {
    pub fingerprints: &'a ContextFingerprints,
    pub cache: &'a mut EvaluationCache,
}

/// Audits one policy, reusing the evaluations of unchanged objects when `reuse` is given.
pub fn audit_reusing(input: AuditInput<'_>, reuse: Option<Reuse<'_>>) -> Audit {
    let policy = input.policy;
    let generation = policy.metadata.generation;
    let previous_conditions = input
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or(&[]);
    let effective = match EffectivePolicy::from_policy(policy) {
        Ok(effective) => effective,
        Err(errors) => {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let status = HipaaPolicyStatus {
                observed_generation: generation,
                conditions: conditions::settle(
                    &conditions::invalid(&errors),
                    previous_conditions,
                    generation,
                    input.now,
                ),
                ..HipaaPolicyStatus::default()
            };
            return Audit {
                status,
                evaluations: Vec::new(),
                reused: 0,
                interval: None,
            };
        }
    };
    let interval = parse_duration(&policy.spec.audit_interval)
        .or_else(|_| parse_duration(&default_audit_interval()))
        .unwrap_or(Duration::from_secs(600));

    // Without a cache to keep, a fresh one: the same grouping and parts, all evaluated.
    let mut fresh = EvaluationCache::default();
    let (fingerprints, cache) = match reuse {
        Some(Reuse {
            fingerprints,
            cache,
        }) => (Some(fingerprints), cache),
        None => (None, &mut fresh),
    };
    let unknown = ContextFingerprints::default();
    let version = (policy.metadata.uid.clone(), generation);
    let (mut evaluations, reused) = cache.evaluate(ReuseInput {
        objects: &input.observation.objects,
        context: input.context,
        policy: &effective,
        version: &version,
        fingerprints: fingerprints.unwrap_or(&unknown),
        now: input.now,
    });
    let aws: Vec<Arc<ResourceEvaluation>> = input
        .aws
        .map(|snapshot| evaluate_aws_resources(snapshot, &effective, input.now))
        .unwrap_or_default()
        .into_iter()
        .map(Arc::new)
        .collect();
    let aws_part = TallyPart::new(&effective, aws.iter().cloned(), MAX_STATUS_VIOLATIONS);
    evaluations.extend(aws);
    let tally = tally_parts(
        &effective,
        cache.parts().chain([&aws_part]),
        input.now,
        MAX_STATUS_VIOLATIONS,
    );
    let mut status = HipaaPolicyStatus::default();
    tally.write_status(&policy.name_any(), &mut status);
    if policy.spec.aws.is_some() && input.aws.is_none() {
        explain_missing_snapshot(&mut status);
    }
    status.eks_access = input.aws.and_then(eks_access_status);
    if let Some(snapshot) = input.aws {
        add_resource_links(&mut status.aws_resources, snapshot);
    }
    let summary = status.summary.clone().unwrap_or_default();
    status.conditions = conditions::settle(
        &conditions::evaluated(&summary, input.observation.scope.len()),
        previous_conditions,
        generation,
        input.now,
    );
    status.observed_generation = generation;
    status.last_audit_time = Some(to_k8s_time(input.now));
    Audit {
        status,
        evaluations,
        reused,
        interval: Some(interval),
    }
}

/// Objects per thread below which evaluating in parallel is not worth a thread.
const MIN_OBJECTS_PER_THREAD: usize = 1024;

/// Every in-scope object through the engine, decoded one at a time, split over the available
/// cores when the scope is large. The result keeps the observation's order.
pub fn evaluate_objects(
    observation: &Observation,
    context: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Vec<ResourceEvaluation> {
    evaluate_list(&observation.objects, context, policy, now)
}

/// [`evaluate_objects`] over a list of cached objects.
pub(crate) fn evaluate_list(
    objects: &[Cached],
    context: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Vec<ResourceEvaluation> {
    evaluate_into(objects, context, policy, now, |evaluation| evaluation)
}

/// [`evaluate_list`] with each evaluation shared as it is made: the audit keeps them in `Arc`s,
/// and wrapping them on the judging threads spares a second list of every evaluation by value
/// (at 124,000 objects, about 17 MB more at the audit's peak).
pub(crate) fn evaluate_shared(
    objects: &[Cached],
    context: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Vec<Arc<ResourceEvaluation>> {
    evaluate_into(objects, context, policy, now, Arc::new)
}

/// Every object through the engine, split over the available cores when the list is large,
/// each evaluation passed through `keep`; the result keeps the list's order.
fn evaluate_into<T: Send>(
    objects: &[Cached],
    context: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
    keep: fn(ResourceEvaluation) -> T,
) -> Vec<T> {
    let cores = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    let threads = cores.min(objects.len() / MIN_OBJECTS_PER_THREAD).max(1);
    let judge = |part: &[Cached]| -> Vec<T> {
        part.iter()
            .map(|cached| keep(evaluate_one(cached, context, policy, now)))
            .collect()
    };
    if threads == 1 {
        return judge(objects);
    }
    let chunk = objects.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = objects
            .chunks(chunk)
            .map(|part| scope.spawn(move || judge(part)))
            .collect();
        // Sized up front: collecting a flattened list would grow it by doubling, up to twice
        // its size at the peak.
        let mut all = Vec::with_capacity(objects.len());
        for part in parts {
            match part.join() {
                Ok(evaluations) => all.extend(evaluations),
                // The engine does not panic on any input; if it ever did, re-raise it here.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

fn evaluate_one(
    cached: &Cached,
    context: &ClusterContext,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> ResourceEvaluation {
    match cached.to_object() {
        Ok(object) => {
            let evaluation = evaluate(&object, context, policy, Mode::Audit, now);
            ResourceEvaluation::new(object.resource_ref(), evaluation)
        }
        Err(error) => unreadable(cached, &error, policy),
    }
}

/// An object the cache cannot give back: every control that would judge it reports Error.
fn unreadable(
    cached: &Cached,
    error: &serde_json::Error,
    policy: &EffectivePolicy,
) -> ResourceEvaluation {
    let resource = cached.resource_ref();
    let targets = cached.kind().info().targets;
    let controls = hipaa_controls::catalog()
        .iter()
        .filter(|c| c.scope != Scope::Aws && c.targets.iter().any(|t| targets.contains(t)));
    let findings = controls
        .filter_map(|control| {
            let setting = policy.setting(control.id)?;
            Some(Finding {
                control,
                outcome: Outcome::Error,
                resource: resource.clone(),
                message: format!(
                    "{resource} could not be read from the operator's cache: {}",
                    hipaa_controls::redact::Redacted(error)
                ),
                enforcement: setting.enforcement,
                exception: None,
            })
        })
        .collect::<Vec<_>>();
    let checked = findings.iter().map(|f| f.control).collect();
    ResourceEvaluation::new(resource, Evaluation { findings, checked })
}

/// With `spec.aws` set but no snapshot yet, the AWS controls say so instead of "nothing linked".
fn explain_missing_snapshot(status: &mut HipaaPolicyStatus) {
    for control in &mut status.controls {
        let is_aws =
            hipaa_controls::catalog::control(&control.id).is_some_and(|c| c.scope == Scope::Aws);
        if is_aws && control.result == ControlResult::NotEvaluated {
            control.message =
                Some("the linked AWS resources have not been looked up yet".to_string());
        }
    }
}

#[cfg(test)]
mod tests;
