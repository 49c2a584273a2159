//! Whether Kubernetes serves an object's `apiVersion` for its kind. For the built-in kinds
//! HIPAA Guard reads (the rows of the kind table, `hipaa_controls::object::KINDS`, that are not
//! optional CRDs or HIPAA Guard's own), an object of a Kubernetes API group written at a version
//! Kubernetes does not serve (a `v1` Deployment, an `extensions/v1beta1` Ingress) is invalid
//! input that names the `apiVersion` that serves the kind, rather than a kind skipped unjudged:
//! `kubectl apply` would refuse it. Offline, the built-in table of Kubernetes 1.35 decides; with
//! `--cluster`, the live cluster's discovery does ([`ServedApis::Cluster`]).
//!
//! A kind of the same name in another group is someone's CRD (Calico's `NetworkPolicy`,
//! Knative's `Service`), and is left alone: Kubernetes' own groups are the ones without a dot
//! (`apps`, `batch`, `extensions`; a CRD's group must have one) and those under `.k8s.io`.

use std::collections::BTreeSet;
use std::sync::Arc;

use hipaa_controls::object::{HIPAA_POLICY, KINDS, KindInfo};

/// The Kubernetes release the built-in table describes (k8s-openapi's `v1_35`).
pub const KUBERNETES_RELEASE: &str = "1.35";

/// Versions Kubernetes stopped serving, for the kinds of the kind table: `apiVersion`, kind, and
/// the release that removed it (the Kubernetes deprecated API migration guide).
const REMOVED: &[(&str, &str, &str)] = &[
    ("extensions/v1beta1", "Deployment", "1.16"),
    ("apps/v1beta1", "Deployment", "1.16"),
    ("apps/v1beta2", "Deployment", "1.16"),
    ("apps/v1beta1", "StatefulSet", "1.16"),
    ("apps/v1beta2", "StatefulSet", "1.16"),
    ("extensions/v1beta1", "DaemonSet", "1.16"),
    ("apps/v1beta2", "DaemonSet", "1.16"),
    ("extensions/v1beta1", "ReplicaSet", "1.16"),
    ("apps/v1beta2", "ReplicaSet", "1.16"),
    ("extensions/v1beta1", "NetworkPolicy", "1.16"),
    ("batch/v2alpha1", "CronJob", "1.21"),
    ("extensions/v1beta1", "Ingress", "1.22"),
    ("networking.k8s.io/v1beta1", "Ingress", "1.22"),
    ("storage.k8s.io/v1beta1", "StorageClass", "1.22"),
    ("rbac.authorization.k8s.io/v1beta1", "Role", "1.22"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", "1.22"),
    ("rbac.authorization.k8s.io/v1beta1", "RoleBinding", "1.22"),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRoleBinding",
        "1.22",
    ),
    ("rbac.authorization.k8s.io/v1alpha1", "Role", "1.22"),
    ("rbac.authorization.k8s.io/v1alpha1", "ClusterRole", "1.22"),
    ("rbac.authorization.k8s.io/v1alpha1", "RoleBinding", "1.22"),
    (
        "rbac.authorization.k8s.io/v1alpha1",
        "ClusterRoleBinding",
        "1.22",
    ),
    ("batch/v1beta1", "CronJob", "1.25"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26"),
];

/// Versions Kubernetes 1.35 serves that the kind table does not read (the table lists only the
/// versions HIPAA Guard parses): valid objects, skipped as kinds not judged.
const ALSO_SERVED: &[(&str, &str)] = &[("autoscaling/v1", "HorizontalPodAutoscaler")];

/// What decides which versions are served.
#[derive(Clone, Debug, Default)]
pub enum ServedApis {
    /// Kubernetes 1.35, from the built-in table.
    #[default]
    BuiltIn,
    /// The live cluster's discovery: every (`apiVersion`, kind) it serves in the groups of the
    /// kind table's built-in kinds.
    Cluster(Arc<BTreeSet<(String, String)>>),
}

impl ServedApis {
    /// Whether `api_version` serves `kind`; Err with the message when it does not, for a built-in
    /// kind HIPAA Guard reads written in a Kubernetes API group. Anything else is Ok (a CRD, a
    /// kind HIPAA Guard does not read).
    pub fn check(&self, api_version: &str, kind: &str) -> Result<(), String> {
        let Some(row) = built_in_row(kind) else {
            return Ok(());
        };
        if !is_kubernetes_group(group_of(api_version)) {
            return Ok(());
        }
        let removed = REMOVED
            .iter()
            .find(|(v, k, _)| *v == api_version && *k == kind)
            .map(|(_, _, release)| *release);
        match self {
            ServedApis::BuiltIn => {
                let served = row.api_versions.contains(&api_version)
                    || ALSO_SERVED.contains(&(api_version, kind));
                if served {
                    return Ok(());
                }
                let removed = removed
                    .map(|release| format!(", which Kubernetes removed in {release}"))
                    .unwrap_or_default();
                Err(format!(
                    "{kind} has apiVersion {api_version}{removed}; Kubernetes {KUBERNETES_RELEASE} serves it as {}",
                    row.api_version()
                ))
            }
            ServedApis::Cluster(served) => {
                let key = (api_version.to_string(), kind.to_string());
                if served.contains(&key) {
                    return Ok(());
                }
                let removed = removed
                    .map(|release| format!(" (removed from Kubernetes in {release})"))
                    .unwrap_or_default();
                let serving = cluster_versions(served, row);
                if serving.is_empty() {
                    return Err(format!(
                        "{kind} has apiVersion {api_version}{removed}; the cluster does not serve {kind}"
                    ));
                }
                Err(format!(
                    "{kind} has apiVersion {api_version}{removed}; the cluster serves it as {}",
                    serving.join(" or ")
                ))
            }
        }
    }
}

/// The API groups the cluster's discovery is asked about: those of the built-in kinds, and the
/// groups their removed versions were in (an old cluster may still serve them).
pub fn discovery_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = KINDS
        .iter()
        .filter(|row| is_built_in(row))
        .map(KindInfo::group)
        .chain(
            REMOVED
                .iter()
                .map(|(api_version, _, _)| group_of(api_version)),
        )
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The built-in kinds' names, to keep of the cluster's discovery.
pub fn is_built_in_kind(kind: &str) -> bool {
    built_in_row(kind).is_some()
}

/// The `apiVersion`s the cluster serves `row`'s kind at, the table's preferred one first.
fn cluster_versions(served: &BTreeSet<(String, String)>, row: &KindInfo) -> Vec<String> {
    let mut versions: Vec<String> = served
        .iter()
        .filter(|(api_version, kind)| kind == row.kind && group_of(api_version) == row.group())
        .map(|(api_version, _)| api_version.clone())
        .collect();
    versions.sort_by_key(|v| v != row.api_version());
    versions
}

fn built_in_row(kind: &str) -> Option<&'static KindInfo> {
    KINDS
        .iter()
        .find(|row| row.kind == kind && is_built_in(row))
}

/// Rows of Kubernetes' own kinds: not an optional CRD, not HIPAA Guard's own.
fn is_built_in(row: &KindInfo) -> bool {
    !row.optional && *row != HIPAA_POLICY && is_kubernetes_group(row.group())
}

/// `apps/v1` -> `apps`; `v1` -> `` (the core group).
fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(group, _)| group)
}

/// Kubernetes' own API groups: the core group, names without a dot (a CRD's group needs one),
/// and names under `.k8s.io`.
fn is_kubernetes_group(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_served_versions_of_judged_and_context_kinds_pass() {
        let served = ServedApis::BuiltIn;
        for row in KINDS.iter().filter(|row| is_built_in(row)) {
            for api_version in row.api_versions {
                assert_eq!(served.check(api_version, row.kind), Ok(()), "{}", row.kind);
            }
        }
        assert_eq!(
            served.check("autoscaling/v1", "HorizontalPodAutoscaler"),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_or_removed_version_names_the_one_served() {
        let served = ServedApis::BuiltIn;
        assert_eq!(
            served.check("v1", "Deployment").unwrap_err(),
            "Deployment has apiVersion v1; Kubernetes 1.35 serves it as apps/v1"
        );
        assert_eq!(
            served.check("apps/v1", "Pod").unwrap_err(),
            "Pod has apiVersion apps/v1; Kubernetes 1.35 serves it as v1"
        );
        assert_eq!(
            served.check("extensions/v1beta1", "Ingress").unwrap_err(),
            "Ingress has apiVersion extensions/v1beta1, which Kubernetes removed in 1.22; Kubernetes 1.35 serves it as networking.k8s.io/v1"
        );
        for (api_version, kind, release) in REMOVED {
            let err = served.check(api_version, kind).unwrap_err();
            assert!(
                err.contains(&format!("removed in {release}")),
                "{api_version} {kind}: {err}"
            );
        }
        let err = served.check("batch/v1beta1", "CronJob").unwrap_err();
        assert!(err.ends_with("serves it as batch/v1"), "{err}");
        let err = served
            .check("rbac.authorization.k8s.io/v1beta1", "ClusterRole")
            .unwrap_err();
        assert!(err.contains("removed in 1.22"), "{err}");
    }

    #[test]
    fn crds_and_kinds_not_read_are_left_alone() {
        let served = ServedApis::BuiltIn;
        assert_eq!(
            served.check("projectcalico.org/v3", "NetworkPolicy"),
            Ok(())
        );
        assert_eq!(served.check("serving.knative.dev/v1", "Service"), Ok(()));
        assert_eq!(served.check("batch.volcano.sh/v1alpha1", "Job"), Ok(()));
        assert_eq!(served.check("velero.io/v2", "Schedule"), Ok(()));
        assert_eq!(
            served.check("policy/v1beta1", "PodDisruptionBudget"),
            Ok(())
        );
        assert_eq!(served.check("v1", "ConfigMap"), Ok(()));
        assert_eq!(served.check("hipaaguard.io/v1beta1", "HipaaPolicy"), Ok(()));
    }

    #[test]
    fn with_the_cluster_its_discovery_decides() {
        let set: BTreeSet<(String, String)> = [
            ("apps/v1", "Deployment"),
            ("extensions/v1beta1", "Ingress"),
            ("networking.k8s.io/v1beta1", "Ingress"),
        ]
        .iter()
        .map(|(v, k)| (v.to_string(), k.to_string()))
        .collect();
        let served = ServedApis::Cluster(Arc::new(set));
        // An old cluster that still serves a removed version accepts it.
        assert_eq!(served.check("extensions/v1beta1", "Ingress"), Ok(()));
        assert_eq!(served.check("apps/v1", "Deployment"), Ok(()));
        assert_eq!(
            served.check("apps/v1beta2", "Deployment").unwrap_err(),
            "Deployment has apiVersion apps/v1beta2 (removed from Kubernetes in 1.16); the cluster serves it as apps/v1"
        );
        assert_eq!(
            served.check("networking.k8s.io/v1", "Ingress").unwrap_err(),
            "Ingress has apiVersion networking.k8s.io/v1; the cluster serves it as networking.k8s.io/v1beta1"
        );
        assert_eq!(
            served.check("batch/v1", "CronJob").unwrap_err(),
            "CronJob has apiVersion batch/v1; the cluster does not serve CronJob"
        );
        assert_eq!(
            served.check("projectcalico.org/v3", "NetworkPolicy"),
            Ok(())
        );
    }

    #[test]
    fn discovery_asks_about_the_groups_of_the_built_in_kinds_only() {
        let groups = discovery_groups();
        for group in [
            "",
            "apps",
            "batch",
            "networking.k8s.io",
            "extensions",
            "rbac.authorization.k8s.io",
        ] {
            assert!(groups.contains(&group), "{group} in {groups:?}");
        }
        assert!(!groups.contains(&"velero.io"), "{groups:?}");
        assert!(is_built_in_kind("Deployment") && !is_built_in_kind("Schedule"));
    }
}
