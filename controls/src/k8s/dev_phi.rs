//! HIPAA-K8S-DEV-PHI: no PHI in development namespaces: neither a namespace marked both
//! development and PHI, nor a PHI-marked workload, nor a workload referencing a PHI secret.
//!
//! A PHI secret is a Secret or SecretProviderClass whose name has the word `phi` (split on
//! `-`, `_`, `.`, `/`), e.g. `billing-phi-db`: the engine sees references, not the secrets.

use crate::object::pod_spec::PodSpec;

use crate::check::{Check, Verdict};
use crate::k8s::{ENVIRONMENT_LABEL, PHI_LABEL, containers, label, namespace_labels, verdict_from};
use crate::object::Object;

/// The CSI driver of the Secrets Store, whose volumes name a SecretProviderClass.
const SECRETS_STORE_DRIVER: &str = "secrets-store.csi.k8s.io";

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    if let Object::Namespace(ns) = check.object {
        let labels = ns.metadata.labels.as_ref();
        if label(labels, ENVIRONMENT_LABEL) != Some("development") {
            return Verdict::NotApplicable;
        }
        let problems = if label(labels, PHI_LABEL) == Some("true") {
            vec![format!(
                "is labelled {ENVIRONMENT_LABEL}: development and {PHI_LABEL}: \"true\""
            )]
        } else {
            Vec::new()
        };
        return verdict_from(check.subject, problems);
    }
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let labels = match namespace_labels(check) {
        Ok(labels) => labels,
        Err(reason) => return Verdict::Error(reason),
    };
    if label(labels, ENVIRONMENT_LABEL) != Some("development") {
        return Verdict::NotApplicable;
    }
    let mut problems = Vec::new();
    if template.label(PHI_LABEL) == Some("true")
        || label(template.workload_labels, PHI_LABEL) == Some("true")
    {
        problems.push(format!(
            "is labelled {PHI_LABEL}: \"true\" in a development namespace"
        ));
    }
    if let Some(spec) = template.spec {
        for name in phi_secret_references(spec) {
            problems.push(format!(
                "references PHI secret {name} in a development namespace"
            ));
        }
    }
    verdict_from(check.subject, problems)
}

/// Whether a name has `phi` as one of its words.
pub fn names_phi(name: &str) -> bool {
    name.split(['-', '_', '.', '/'])
        .any(|word| word.eq_ignore_ascii_case("phi"))
}

/// Names of PHI Secrets and SecretProviderClasses the pod references, deduplicated.
fn phi_secret_references(spec: &PodSpec) -> Vec<&str> {
    fn remember<'a>(names: &mut Vec<&'a str>, name: &'a str) {
        if names_phi(name) && !names.contains(&name) {
            names.push(name);
        }
    }
    let mut names: Vec<&str> = Vec::new();
    let mut note = |name| remember(&mut names, name);
    for container in containers(spec) {
        for var in container.env {
            if let Some(r) = var
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                note(&r.name);
            }
        }
        for source in container.env_from {
            if let Some(r) = &source.secret_ref {
                note(&r.name);
            }
        }
    }
    for volume in spec.volumes.iter().flatten() {
        if let Some(name) = volume
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref())
        {
            note(name);
        }
        for source in volume
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
        {
            if let Some(secret) = &source.secret {
                note(&secret.name);
            }
        }
        let csi = volume
            .csi
            .as_ref()
            .filter(|c| c.driver == SECRETS_STORE_DRIVER);
        if let Some(class) =
            csi.and_then(|c| c.volume_attributes.as_ref()?.get("secretProviderClass"))
        {
            note(class);
        }
    }
    names
}
