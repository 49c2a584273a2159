//! HIPAA-K8S-TLS-WORKLOAD: traffic to the pods is encrypted by mesh mTLS or by the pod itself.

use crate::object::pod_spec::PodSpec;

use crate::check::{Check, Verdict};
use crate::k8s::{containers, label};

const LINKERD_INJECT: &str = "linkerd.io/inject";
const ISTIO_INJECT: &str = "sidecar.istio.io/inject";
const ISTIO_NAMESPACE_INJECTION: &str = "istio-injection";
const ISTIO_REVISION: &str = "istio.io/rev";
/// Annotation naming the Secret that holds the pod's own serving certificate.
pub const TLS_SECRET_ANNOTATION: &str = "hipaaguard.io/tls-secret";

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let pod_says = |key: &str| template.label(key).or_else(|| template.annotation(key));
    let linkerd = pod_says(LINKERD_INJECT);
    let istio = pod_says(ISTIO_INJECT);
    if linkerd == Some("enabled") || istio == Some("true") {
        return Verdict::Pass;
    }
    let tls_secret = template
        .annotation(TLS_SECRET_ANNOTATION)
        .filter(|s| !s.is_empty());
    if let (Some(secret), Some(spec)) = (tls_secret, template.spec)
        && mounts_secret(spec, secret)
    {
        return Verdict::Pass;
    }

    let namespace = match check.subject.namespace {
        None => None,
        Some(name) => match check.ctx.namespace(name) {
            Some(ns) => Some(ns),
            None if check.ctx.completeness.namespaces => None,
            None => {
                return Verdict::Error(format!(
                    "cannot evaluate {}: namespace {name} is not known, and its mesh injection settings decide",
                    check.subject
                ));
            }
        },
    };
    if let Some(ns) = namespace {
        let labels = ns.metadata.labels.as_ref();
        let annotations = ns.metadata.annotations.as_ref();
        let istio_namespace = label(labels, ISTIO_NAMESPACE_INJECTION) == Some("enabled")
            || label(labels, ISTIO_REVISION).is_some_and(|r| !r.is_empty());
        let linkerd_namespace = label(annotations, LINKERD_INJECT) == Some("enabled");
        if (istio_namespace && istio != Some("false"))
            || (linkerd_namespace && linkerd != Some("disabled"))
        {
            return Verdict::Pass;
        }
    }
    let message = match tls_secret {
        Some(secret) => format!(
            "{}: {TLS_SECRET_ANNOTATION} names Secret {secret}, but no container mounts it, and the pods get no mesh mTLS",
            check.subject
        ),
        None => format!(
            "{}: the pods get no mesh mTLS and declare no TLS Secret ({TLS_SECRET_ANNOTATION})",
            check.subject
        ),
    };
    Verdict::Fail(message)
}

/// Whether a volume holding Secret `secret` (directly or projected) is mounted by a container.
pub(crate) fn mounts_secret(spec: &PodSpec, secret: &str) -> bool {
    spec.volumes.iter().flatten().any(|volume| {
        let direct = volume
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref())
            == Some(secret);
        let projected = volume
            .projected
            .as_ref()
            .and_then(|p| p.sources.as_ref())
            .is_some_and(|sources| {
                sources
                    .iter()
                    .any(|s| s.secret.as_ref().is_some_and(|s| s.name == secret))
            });
        (direct || projected)
            && containers(spec).any(|c| c.volume_mounts.iter().any(|m| m.name == volume.name))
    })
}
