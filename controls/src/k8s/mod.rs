//! The Kubernetes controls, one module per control, and what they share: container iteration,
//! namespace labels from the context, and failure messages that list problems briefly.

pub(crate) mod access;
pub(crate) mod backup;
pub(crate) mod dev_phi;
pub(crate) mod ha;
pub(crate) mod image;
pub(crate) mod netpol;
pub(crate) mod phi_scope;
pub(crate) mod privileged;
pub(crate) mod sa_token;
pub(crate) mod secrets_env;
pub(crate) mod storage;
pub(crate) mod tls_ingress;
pub(crate) mod tls_lb;
pub(crate) mod tls_workload;
pub(crate) mod volumes;

use std::collections::BTreeMap;

use crate::object::pod_spec::{EnvFromSource, EnvVar, PodSpec, SecurityContext, VolumeMount};

use crate::catalog::ids;
use crate::check::{Check, Subject, Verdict};
use crate::context::ClusterContext;

/// The namespace label marking PHI scope.
pub const PHI_LABEL: &str = "hipaaguard.io/phi";
/// The namespace label marking the environment.
pub const ENVIRONMENT_LABEL: &str = "hipaaguard.io/environment";

/// Runs the Kubernetes control `id` on one object.
pub(crate) fn run(id: &str, check: &Check<'_>) -> Verdict {
    match id {
        ids::K8S_TLS_INGRESS => tls_ingress::check(check),
        ids::K8S_TLS_LB => tls_lb::check(check),
        ids::K8S_TLS_WORKLOAD => tls_workload::check(check),
        ids::K8S_NETPOL => netpol::check(check),
        ids::K8S_VOLUME_ENCRYPTION => volumes::check(check),
        ids::K8S_SECRETS_IN_ENV => secrets_env::check(check),
        ids::K8S_PRIVILEGED => privileged::check(check),
        ids::K8S_IMAGE_REGISTRY => image::check(check),
        ids::K8S_HA => ha::check(check),
        ids::K8S_DEV_PHI => dev_phi::check(check),
        ids::K8S_BACKUP => backup::check(check),
        ids::K8S_ACCESS_SECRETS | ids::K8S_ACCESS_EXEC | ids::K8S_CLUSTER_ADMIN => {
            access::check(id, check)
        }
        ids::K8S_SA_TOKEN => sa_token::check(check),
        // A transition: judged by `engine::evaluate_namespace_departures`, never on one object.
        ids::K8S_PHI_SCOPE => Verdict::NotApplicable,
        _ => Verdict::NotApplicable,
    }
}

/// One container of any of the three lists, reduced to what controls read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ContainerRef<'a> {
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub env: &'a [EnvVar],
    pub env_from: &'a [EnvFromSource],
    pub security_context: Option<&'a SecurityContext>,
    pub volume_mounts: &'a [VolumeMount],
}

/// Init containers, containers and ephemeral containers of a pod spec.
pub(crate) fn containers(spec: &PodSpec) -> impl Iterator<Item = ContainerRef<'_>> {
    let init = spec.init_containers.iter().flatten();
    let ephemeral = spec.ephemeral_containers.iter().flatten();
    init.chain(&spec.containers)
        .chain(ephemeral)
        .map(|c| ContainerRef {
            name: &c.name,
            image: c.image.as_deref(),
            env: c.env.as_deref().unwrap_or(&[]),
            env_from: c.env_from.as_deref().unwrap_or(&[]),
            security_context: c.security_context.as_ref(),
            volume_mounts: c.volume_mounts.as_deref().unwrap_or(&[]),
        })
}

/// The labels of the object's namespace. Ok(None) when the context is complete and does not hold
/// the namespace (it has no labels we know of); Err when the context lacks namespaces.
pub(crate) fn namespace_labels<'a>(
    check: &Check<'a>,
) -> Result<Option<&'a BTreeMap<String, String>>, String> {
    labels_of_namespace(check.ctx, check.subject)
}

/// [`namespace_labels`] of `subject`'s namespace, for judgements without a [`Check`].
pub(crate) fn labels_of_namespace<'a>(
    ctx: &'a ClusterContext,
    subject: Subject<'_>,
) -> Result<Option<&'a BTreeMap<String, String>>, String> {
    let Some(name) = subject.namespace else {
        return Ok(None);
    };
    match ctx.namespace(name) {
        Some(ns) => Ok(ns.metadata.labels.as_ref()),
        None if ctx.completeness.namespaces => Ok(None),
        None => Err(format!(
            "cannot evaluate {subject}: the labels of namespace {name} are not known"
        )),
    }
}

/// A label's value in an optional label map.
pub(crate) fn label<'a>(
    labels: Option<&'a BTreeMap<String, String>>,
    key: &str,
) -> Option<&'a str> {
    labels.and_then(|l| l.get(key)).map(String::as_str)
}

/// How many problems a message lists before it says "and N more".
const MAX_LISTED: usize = 5;

/// `Deployment billing/api: p1, p2, p3 and 2 more`; Pass when there is no problem.
pub(crate) fn verdict_from(subject: Subject<'_>, problems: Vec<String>) -> Verdict {
    if problems.is_empty() {
        return Verdict::Pass;
    }
    Verdict::Fail(format!("{subject}: {}", brief_list(&problems)))
}

/// `p1, p2, p3 and 2 more`: the first few problems of a message.
pub(crate) fn brief_list(problems: &[String]) -> String {
    let mut message = String::new();
    for (i, problem) in problems.iter().take(MAX_LISTED).enumerate() {
        if i > 0 {
            message.push_str(", ");
        }
        message.push_str(problem);
    }
    if problems.len() > MAX_LISTED {
        message.push_str(&format!(" and {} more", problems.len() - MAX_LISTED));
    }
    message
}
