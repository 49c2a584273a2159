//! Fingerprints of the context an evaluation reads besides the object: per namespace (the
//! Namespace, its NetworkPolicies, PVCs and HorizontalPodAutoscalers), cluster-wide
//! (StorageClasses, backup schedules) and access (the RBAC objects and ServiceAccounts the access
//! model is built from, and whether they could be read), which only the access controls read.
//! Equal fingerprints mean an object's verdict cannot have changed through its context, which
//! lets an audit reuse the evaluations of unchanged objects.
//!
//! This relies on the engine reading, for an object, only its own namespace's Namespace,
//! NetworkPolicies, PVCs and HorizontalPodAutoscalers plus the cluster-wide kinds; a control that
//! read another namespace would have to widen these fingerprints.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use kube::Resource;
use serde::Serialize;

use super::Inventory;

/// The context fingerprints of one inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextFingerprints {
    pub global: u64,
    /// The version of the access evidence ([`Inventory::access_version`]): the Namespaces'
    /// access controls and HIPAA-K8S-SA-TOKEN read it, nothing else does.
    pub access: u64,
    namespaces: HashMap<String, u64>,
}

impl ContextFingerprints {
    /// The fingerprint of a namespace's context (a namespace that does not exist has one too).
    pub fn namespace(&self, name: &str) -> u64 {
        self.namespaces.get(name).copied().unwrap_or(0)
    }
}

/// What identifies one version of a context object: its resourceVersion when the API server gave
/// one (it changes on every write), else its whole content.
fn version<K: Resource + Serialize>(object: &K) -> (String, u64) {
    let meta = object.meta();
    let name = meta.name.clone().unwrap_or_default();
    let mut hasher = DefaultHasher::new();
    match &meta.resource_version {
        Some(version) => version.hash(&mut hasher),
        None => serde_json::to_vec(object)
            .unwrap_or_default()
            .hash(&mut hasher),
    }
    (name, hasher.finish())
}

impl Inventory {
    /// Fingerprints of every namespace's context and of the cluster-wide context.
    pub fn fingerprints(&self) -> ContextFingerprints {
        let mut parts: HashMap<String, Vec<(u8, String, u64)>> = HashMap::new();
        for namespace in &self.context.namespaces {
            let (name, version) = version(namespace.as_ref());
            parts
                .entry(name.clone())
                .or_default()
                .push((0, name, version));
        }
        for policy in &self.context.network_policies {
            let namespace = policy.metadata.namespace.clone().unwrap_or_default();
            let (name, version) = version(policy.as_ref());
            parts.entry(namespace).or_default().push((1, name, version));
        }
        for pvc in &self.context.pvcs {
            let namespace = pvc.metadata.namespace.clone().unwrap_or_default();
            let (name, version) = version(pvc.as_ref());
            parts.entry(namespace).or_default().push((2, name, version));
        }
        for autoscaler in &self.context.autoscalers {
            let namespace = autoscaler.metadata.namespace.clone().unwrap_or_default();
            let (name, version) = version(autoscaler.as_ref());
            parts.entry(namespace).or_default().push((3, name, version));
        }
        let namespaces = parts
            .into_iter()
            .map(|(namespace, mut versions)| {
                versions.sort();
                let mut hasher = DefaultHasher::new();
                versions.hash(&mut hasher);
                (namespace, hasher.finish())
            })
            .collect();
        let mut classes: Vec<(String, u64)> = self
            .context
            .storage_classes
            .iter()
            .map(|c| version(c.as_ref()))
            .collect();
        classes.sort();
        let mut schedules: Vec<(&str, &[String], &[String])> = self
            .context
            .backup_schedules
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.included_namespaces.as_slice(),
                    s.excluded_namespaces.as_slice(),
                )
            })
            .collect();
        schedules.sort();
        let mut hasher = DefaultHasher::new();
        classes.hash(&mut hasher);
        schedules.hash(&mut hasher);
        ContextFingerprints {
            global: hasher.finish(),
            access: self.access_version,
            namespaces,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde::Deserialize;

    fn inventory(yaml: &str) -> Inventory {
        let mut inventory = Inventory::default();
        for document in yaml_serde::Deserializer::from_str(yaml) {
            inventory
                .insert_manifest(serde_json::Value::deserialize(document).unwrap())
                .unwrap();
        }
        inventory
    }

    const BASE: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: a, resourceVersion: '1', labels: {x: y}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, resourceVersion: '2'}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: a, resourceVersion: '3'}
spec: {podSelector: {}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: gp3, resourceVersion: '4'}
provisioner: ebs.csi.aws.com
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: b, resourceVersion: '5'}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}, maxReplicas: 4}
";

    #[test]
    fn a_change_moves_only_the_fingerprint_of_its_namespace() {
        let before = inventory(BASE).fingerprints();
        assert_eq!(before, inventory(BASE).fingerprints(), "stable");
        let netpol = inventory(&BASE.replace("resourceVersion: '3'", "resourceVersion: '13'"))
            .fingerprints();
        assert_ne!(netpol.namespace("a"), before.namespace("a"));
        assert_eq!(netpol.namespace("b"), before.namespace("b"));
        assert_eq!(netpol.global, before.global);
        let class = inventory(&BASE.replace("resourceVersion: '4'", "resourceVersion: '14'"))
            .fingerprints();
        assert_ne!(class.global, before.global);
        assert_eq!(class.namespace("a"), before.namespace("a"));
        let autoscaler = inventory(&BASE.replace("resourceVersion: '5'", "resourceVersion: '15'"))
            .fingerprints();
        assert_ne!(autoscaler.namespace("b"), before.namespace("b"));
        assert_eq!(autoscaler.namespace("a"), before.namespace("a"));
        assert_eq!(autoscaler.global, before.global);
    }

    #[test]
    fn without_resource_versions_the_content_counts() {
        let plain = BASE.replace("resourceVersion: '1', ", "");
        let relabelled = plain.replace("labels: {x: y}", "labels: {x: z}");
        assert_ne!(
            inventory(&plain).fingerprints().namespace("a"),
            inventory(&relabelled).fingerprints().namespace("a")
        );
    }
}
