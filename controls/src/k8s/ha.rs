//! HIPAA-K8S-HA: in production namespaces, Deployments and StatefulSets run enough replicas and
//! spread them across zones; and a write of their `scale` subresource (`kubectl scale`) does not
//! take them below that.
//!
//! A HorizontalPodAutoscaler whose `scaleTargetRef` names the workload owns its replica count:
//! the workload's own `replicas` is whatever the autoscaler last wrote, so the count judged is the
//! autoscaler's `minReplicas` (1 when unset), and the autoscaler's writes of the `scale`
//! subresource are its to make (the scale judgement passes).

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use crate::object::pod_spec::PodSpec;

use crate::check::{Check, Subject, Verdict};
use crate::context::ClusterContext;
use crate::k8s::{ENVIRONMENT_LABEL, label, labels_of_namespace, namespace_labels, verdict_from};
use crate::object::{Object, ObjectKind};
use crate::policy::Parameters;

/// Node labels that name a zone.
const ZONE_KEYS: &[&str] = &[
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let (kind, replicas) = match check.object {
        Object::Deployment(workload) => (ObjectKind::Deployment, workload.replicas),
        Object::StatefulSet(workload) => (ObjectKind::StatefulSet, workload.replicas),
        _ => return Verdict::NotApplicable,
    };
    let labels = match namespace_labels(check) {
        Ok(labels) => labels,
        Err(reason) => return Verdict::Error(reason),
    };
    if label(labels, ENVIRONMENT_LABEL) != Some("production") {
        return Verdict::NotApplicable;
    }
    let min = check.parameters.min_replicas;
    let mut problems = Vec::new();
    match autoscaler(check.ctx, kind, check.subject) {
        Some(hpa) => {
            let floor = autoscaler_floor(hpa);
            if floor < min {
                problems.push(format!(
                    "HorizontalPodAutoscaler {} scales it down to {floor} replica(s), fewer than {min}",
                    hpa.metadata.name.as_deref().unwrap_or("")
                ));
            }
        }
        None => {
            let replicas = replicas.unwrap_or(1);
            if replicas < min {
                problems.push(format!("runs {replicas} replica(s), fewer than {min}"));
            }
        }
    }
    if !check
        .template
        .and_then(|t| t.spec)
        .is_some_and(spreads_across_zones)
    {
        problems.push("does not spread its pods across zones".to_string());
    }
    verdict_from(check.subject, problems)
}

/// Judges a write of `replicas` to the `scale` subresource of the workload `subject` (of `kind`).
pub(crate) fn scale(
    kind: ObjectKind,
    replicas: i32,
    subject: Subject<'_>,
    ctx: &ClusterContext,
    parameters: &Parameters,
) -> Verdict {
    if !matches!(kind, ObjectKind::Deployment | ObjectKind::StatefulSet) {
        return Verdict::NotApplicable;
    }
    let labels = match labels_of_namespace(ctx, subject) {
        Ok(labels) => labels,
        Err(reason) => return Verdict::Error(reason),
    };
    if label(labels, ENVIRONMENT_LABEL) != Some("production") {
        return Verdict::NotApplicable;
    }
    if autoscaler(ctx, kind, subject).is_some() {
        return Verdict::Pass;
    }
    let min = parameters.min_replicas;
    if replicas < min {
        Verdict::Fail(format!(
            "scaling {subject} to {replicas} replica(s) leaves fewer than {min}; \
             scale it to at least {min} or let a HorizontalPodAutoscaler scale it"
        ))
    } else {
        Verdict::Pass
    }
}

/// The autoscaler that scales the workload, if any.
fn autoscaler<'c>(
    ctx: &'c ClusterContext,
    kind: ObjectKind,
    subject: Subject<'_>,
) -> Option<&'c HorizontalPodAutoscaler> {
    ctx.autoscaler_of(
        subject.namespace.unwrap_or("default"),
        kind.info().group(),
        kind.as_str(),
        subject.name,
    )
}

/// The fewest replicas an autoscaler keeps (`minReplicas`, 1 when unset as in the API).
fn autoscaler_floor(hpa: &HorizontalPodAutoscaler) -> i32 {
    hpa.spec
        .as_ref()
        .and_then(|spec| spec.min_replicas)
        .unwrap_or(1)
}

/// A topologySpreadConstraint or a pod anti-affinity term on a zone key.
pub(crate) fn spreads_across_zones(spec: &PodSpec) -> bool {
    let zone = |key: &str| ZONE_KEYS.contains(&key);
    let spread = spec
        .topology_spread_constraints
        .iter()
        .flatten()
        .any(|c| zone(&c.topology_key));
    let anti = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref());
    let required = anti
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_some_and(|terms| terms.iter().any(|t| zone(&t.topology_key)));
    let preferred = anti
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .is_some_and(|terms| {
            terms
                .iter()
                .any(|t| zone(&t.pod_affinity_term.topology_key))
        });
    spread || required || preferred
}
