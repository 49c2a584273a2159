//! HIPAA-K8S-HA: in production namespaces, Deployments and StatefulSets run enough replicas and
//! spread them across zones.

use crate::object::pod_spec::PodSpec;

use crate::check::{Check, Verdict};
use crate::k8s::{ENVIRONMENT_LABEL, label, namespace_labels, verdict_from};
use crate::object::Object;

/// Node labels that name a zone.
const ZONE_KEYS: &[&str] = &[
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let replicas = match check.object {
        Object::Deployment(workload) | Object::StatefulSet(workload) => workload.replicas,
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
    let replicas = replicas.unwrap_or(1);
    if replicas < min {
        problems.push(format!("runs {replicas} replica(s), fewer than {min}"));
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

/// A topologySpreadConstraint or a pod anti-affinity term on a zone key.
fn spreads_across_zones(spec: &PodSpec) -> bool {
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
