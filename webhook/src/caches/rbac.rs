//! The watch caches of the RBAC objects (Roles, ClusterRoles, their bindings) and the
//! ServiceAccounts, from which the snapshot rebuilder computes the access model. Each object is
//! trimmed to what the model reads before it is stored: no annotations (a large cluster's
//! ClusterRoles carry long ones the model never reads), and of a ServiceAccount only its metadata
//! and `automountServiceAccountToken` (not the lists of its Secrets).

use std::sync::Arc;

use hipaa_controls::access::RbacSet;
use hipaa_runtime::trim_for_cache;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::runtime::reflector::Store;
use kube::{Api, Client, Resource as KubeResource};
use tokio::task::JoinSet;

use super::{Changes, watch};
use crate::metrics::Metrics;
use crate::sync::{Resource, SyncState};

/// The readers of the RBAC caches.
#[derive(Clone)]
pub(super) struct RbacStores {
    roles: Store<Role>,
    cluster_roles: Store<ClusterRole>,
    role_bindings: Store<RoleBinding>,
    cluster_role_bindings: Store<ClusterRoleBinding>,
    service_accounts: Store<ServiceAccount>,
}

impl RbacStores {
    /// Starts the five watches on `tasks`.
    pub(super) fn start(
        client: &Client,
        changes: &Arc<Changes>,
        sync: &Arc<SyncState>,
        metrics: &Arc<Metrics>,
        tasks: &mut JoinSet<()>,
    ) -> Self {
        RbacStores {
            roles: watch(
                Api::all(client.clone()),
                Resource::Roles,
                trim_rbac::<Role>,
                changes,
                sync,
                metrics,
                tasks,
            ),
            cluster_roles: watch(
                Api::all(client.clone()),
                Resource::ClusterRoles,
                trim_rbac::<ClusterRole>,
                changes,
                sync,
                metrics,
                tasks,
            ),
            role_bindings: watch(
                Api::all(client.clone()),
                Resource::RoleBindings,
                trim_rbac::<RoleBinding>,
                changes,
                sync,
                metrics,
                tasks,
            ),
            cluster_role_bindings: watch(
                Api::all(client.clone()),
                Resource::ClusterRoleBindings,
                trim_rbac::<ClusterRoleBinding>,
                changes,
                sync,
                metrics,
                tasks,
            ),
            service_accounts: watch(
                Api::all(client.clone()),
                Resource::ServiceAccounts,
                trim_service_account,
                changes,
                sync,
                metrics,
                tasks,
            ),
        }
    }

    /// The objects cached now, shared with the caches.
    pub(super) fn set(&self) -> RbacSet {
        RbacSet {
            roles: self.roles.state(),
            cluster_roles: self.cluster_roles.state(),
            role_bindings: self.role_bindings.state(),
            cluster_role_bindings: self.cluster_role_bindings.state(),
            service_accounts: self.service_accounts.state(),
        }
    }

    /// How many objects each cache holds.
    pub(super) fn counts(&self) -> [(Resource, usize); 5] {
        [
            (Resource::Roles, self.roles.len()),
            (Resource::ClusterRoles, self.cluster_roles.len()),
            (Resource::RoleBindings, self.role_bindings.len()),
            (
                Resource::ClusterRoleBindings,
                self.cluster_role_bindings.len(),
            ),
            (Resource::ServiceAccounts, self.service_accounts.len()),
        ]
    }
}

/// What every cache drops, and the annotations: the access model reads the rules, the role
/// references, the subjects, and the labels (ClusterRole aggregation), never an annotation.
fn trim_rbac<K: KubeResource>(object: &mut K) {
    trim_for_cache(object);
    object.meta_mut().annotations = None;
}

/// A ServiceAccount as the model reads it: its namespace, name and
/// `automountServiceAccountToken`.
fn trim_service_account(account: &mut ServiceAccount) {
    trim_rbac(account);
    account.metadata.labels = None;
    account.secrets = None;
    account.image_pull_secrets = None;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_cached_service_account_keeps_only_what_the_model_reads() {
        let mut account: ServiceAccount = serde_json::from_str(
            r#"{"metadata":{"name":"api","namespace":"billing","labels":{"a":"b"},
                "annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::123456789012:role/api"}},
                "automountServiceAccountToken":false,
                "secrets":[{"name":"api-token"}],"imagePullSecrets":[{"name":"pull"}]}"#,
        )
        .unwrap();
        trim_service_account(&mut account);
        assert_eq!(account.metadata.name.as_deref(), Some("api"));
        assert_eq!(account.metadata.namespace.as_deref(), Some("billing"));
        assert_eq!(account.automount_service_account_token, Some(false));
        assert!(account.metadata.annotations.is_none());
        assert!(account.metadata.labels.is_none());
        assert!(account.secrets.is_none() && account.image_pull_secrets.is_none());
    }

    #[test]
    fn a_cached_cluster_role_keeps_its_labels_and_rules() {
        let mut role: ClusterRole = serde_json::from_str(
            r#"{"metadata":{"name":"view-secrets","labels":{"rbac.authorization.k8s.io/aggregate-to-view":"true"},
                "annotations":{"rbac.authorization.kubernetes.io/autoupdate":"true"}},
                "rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}]}"#,
        )
        .unwrap();
        trim_rbac(&mut role);
        assert!(role.metadata.annotations.is_none());
        assert_eq!(role.metadata.labels.unwrap().len(), 1);
        assert_eq!(role.rules.unwrap().len(), 1);
    }
}
