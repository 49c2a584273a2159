//! What AWS linking reads from a workload's pod spec — its images and the secrets it reads —
//! extracted once when the object is cached, so that linking never decodes a compact entry.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodSpec;

/// The CSI driver of the Secrets Store CSI driver.
pub const SECRETS_STORE_DRIVER: &str = "secrets-store.csi.k8s.io";
/// The volume attribute naming the SecretProviderClass.
pub const PROVIDER_CLASS_ATTRIBUTE: &str = "secretProviderClass";

/// Facts about the pods a workload runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodFacts {
    /// Every image (containers, init and ephemeral containers), without repeats.
    pub images: Vec<String>,
    /// The SecretProviderClasses its Secrets Store CSI volumes mount.
    pub secret_provider_classes: Vec<String>,
    /// The Kubernetes Secrets it mounts or reads environment variables from.
    pub secret_names: Vec<String>,
    /// The ServiceAccount its pods run as (`default` when the spec names none): its IAM role
    /// (IRSA or EKS Pod Identity) is what the pods reach AWS data with.
    pub service_account: String,
}

impl PodFacts {
    pub fn of(spec: &PodSpec) -> PodFacts {
        PodFacts {
            images: images(spec)
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            secret_provider_classes: provider_classes(spec)
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            secret_names: kubernetes_secret_names(spec)
                .into_iter()
                .map(str::to_string)
                .collect(),
            service_account: service_account(spec).to_string(),
        }
    }
}

/// The pod's ServiceAccount: `serviceAccountName`, else the deprecated `serviceAccount`, else
/// `default`, as the API server fills it in.
fn service_account(spec: &PodSpec) -> &str {
    #[allow(deprecated)]
    let legacy = spec.service_account.as_deref();
    spec.service_account_name
        .as_deref()
        .or(legacy)
        .filter(|name| !name.is_empty())
        .unwrap_or("default")
}

/// Every image of the pod (containers, init and ephemeral containers).
fn images(spec: &PodSpec) -> impl Iterator<Item = &str> {
    spec.containers
        .iter()
        .map(|c| c.image.as_deref())
        .chain(
            spec.init_containers
                .iter()
                .flatten()
                .map(|c| c.image.as_deref()),
        )
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.image.as_deref()),
        )
        .flatten()
}

/// The SecretProviderClasses of the pod's Secrets Store CSI volumes.
fn provider_classes(spec: &PodSpec) -> impl Iterator<Item = &str> {
    spec.volumes
        .iter()
        .flatten()
        .filter_map(|volume| volume.csi.as_ref())
        .filter(|csi| csi.driver == SECRETS_STORE_DRIVER)
        .filter_map(|csi| {
            csi.volume_attributes
                .as_ref()?
                .get(PROVIDER_CLASS_ATTRIBUTE)
        })
        .map(String::as_str)
}

/// Names of the Kubernetes Secrets a pod mounts or reads environment variables from.
fn kubernetes_secret_names(spec: &PodSpec) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    for volume in spec.volumes.iter().flatten() {
        if let Some(name) = volume
            .secret
            .as_ref()
            .and_then(|s| s.secret_name.as_deref())
        {
            names.insert(name);
        }
        let projected = volume.projected.as_ref().and_then(|p| p.sources.as_ref());
        for source in projected.into_iter().flatten() {
            if let Some(secret) = &source.secret {
                names.insert(secret.name.as_str());
            }
        }
    }
    // Ephemeral containers (`kubectl debug`) read Secrets like the others; their type differs.
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .map(|c| (c.env.as_deref(), c.env_from.as_deref()));
    let ephemeral = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .map(|c| (c.env.as_deref(), c.env_from.as_deref()));
    for (env, env_from) in containers.chain(ephemeral) {
        for env in env.into_iter().flatten() {
            if let Some(reference) = env
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                names.insert(reference.name.as_str());
            }
        }
        for source in env_from.into_iter().flatten() {
            if let Some(reference) = &source.secret_ref {
                names.insert(reference.name.as_str());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn images_and_secret_references_are_collected_once_each() {
        let spec: PodSpec = yaml_serde::from_str(
            "
containers:
  - {name: a, image: 'repo/a:1', env: [{name: T, valueFrom: {secretKeyRef: {name: token, key: t}}}], envFrom: [{secretRef: {name: bulk}}]}
  - {name: b, image: 'repo/a:1'}
initContainers: [{name: i, image: 'repo/init:2'}]
ephemeralContainers: [{name: d, image: 'repo/debug:3', envFrom: [{secretRef: {name: debug}}]}]
volumes:
  - {name: s, csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: db}}}
  - {name: o, csi: {driver: other.csi, volumeAttributes: {secretProviderClass: ignored}}}
  - {name: m, secret: {secretName: mounted}}
  - {name: p, projected: {sources: [{secret: {name: projected}}]}}
",
        )
        .unwrap();
        let facts = PodFacts::of(&spec);
        assert_eq!(facts.images, ["repo/a:1", "repo/debug:3", "repo/init:2"]);
        assert_eq!(facts.secret_provider_classes, ["db"]);
        assert_eq!(
            facts.secret_names,
            ["bulk", "debug", "mounted", "projected", "token"]
        );
    }
}
