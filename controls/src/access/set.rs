//! The RBAC objects as a caller holds them ([`RbacSet`]: a watch cache's state, a live listing,
//! the manifests a scan read), and what a context knows of access ([`AccessEvidence`]): the model
//! built from them, why they could not be read, or nothing because nobody looked.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};

use super::model::{AccessModel, RbacObjects};
use crate::json::{api_version_and_kind, typed};

/// Roles, ClusterRoles, their bindings and the ServiceAccounts, shared with a cache by `Arc`.
#[derive(Clone, Debug, Default)]
pub struct RbacSet {
    pub roles: Vec<Arc<Role>>,
    pub cluster_roles: Vec<Arc<ClusterRole>>,
    pub role_bindings: Vec<Arc<RoleBinding>>,
    pub cluster_role_bindings: Vec<Arc<ClusterRoleBinding>>,
    pub service_accounts: Vec<Arc<ServiceAccount>>,
}

impl RbacSet {
    /// Borrowed lists, as [`AccessModel::build`] takes them.
    pub fn objects(&self) -> RbacObjects<'_> {
        RbacObjects {
            roles: self.roles.iter().map(Arc::as_ref).collect(),
            cluster_roles: self.cluster_roles.iter().map(Arc::as_ref).collect(),
            role_bindings: self.role_bindings.iter().map(Arc::as_ref).collect(),
            cluster_role_bindings: self.cluster_role_bindings.iter().map(Arc::as_ref).collect(),
            service_accounts: self.service_accounts.iter().map(Arc::as_ref).collect(),
        }
    }

    /// The model of these objects.
    pub fn model(&self) -> AccessModel {
        AccessModel::build(&self.objects())
    }

    /// Whether it holds no role or binding (ServiceAccounts alone say nothing about access).
    pub fn has_no_rbac(&self) -> bool {
        self.roles.is_empty()
            && self.cluster_roles.is_empty()
            && self.role_bindings.is_empty()
            && self.cluster_role_bindings.is_empty()
    }

    /// Keeps `value` when it is an RBAC object or a ServiceAccount (by `apiVersion` and `kind`);
    /// `Ok(false)` for any other kind, an error when it does not parse as its kind.
    pub fn push_value(&mut self, value: serde_json::Value) -> Result<bool, serde_json::Error> {
        match api_version_and_kind(&value) {
            ("rbac.authorization.k8s.io/v1", "Role") => self.roles.push(typed(value)?),
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
                self.cluster_roles.push(typed(value)?)
            }
            ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                self.role_bindings.push(typed(value)?)
            }
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                self.cluster_role_bindings.push(typed(value)?)
            }
            ("v1", "ServiceAccount") => self.service_accounts.push(typed(value)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Adds `other`'s objects; one of the same kind, namespace and name replaces what was here
    /// (a manifest over the live cluster's copy).
    pub fn overlay(&mut self, other: &RbacSet) {
        replace_all(&mut self.roles, &other.roles, |o| &o.metadata);
        replace_all(&mut self.cluster_roles, &other.cluster_roles, |o| {
            &o.metadata
        });
        replace_all(&mut self.role_bindings, &other.role_bindings, |o| {
            &o.metadata
        });
        replace_all(
            &mut self.cluster_role_bindings,
            &other.cluster_role_bindings,
            |o| &o.metadata,
        );
        replace_all(&mut self.service_accounts, &other.service_accounts, |o| {
            &o.metadata
        });
    }
}

fn replace_all<T>(
    ours: &mut Vec<Arc<T>>,
    theirs: &[Arc<T>],
    meta: impl Fn(&T) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) {
    for new in theirs {
        let key = |object: &T| {
            let m = meta(object);
            (m.namespace.clone(), m.name.clone())
        };
        let wanted = key(new);
        ours.retain(|old| key(old) != wanted);
        ours.push(Arc::clone(new));
    }
}

/// What a context knows of who can access what.
#[derive(Clone, Debug, Default)]
pub enum AccessEvidence {
    /// RBAC was not looked at (an offline scan without RBAC objects among its inputs): the
    /// namespace-wide access controls are not judged, and a check that needs a ServiceAccount's
    /// rights reports Error.
    #[default]
    NotObserved,
    /// RBAC was looked at and could not be read (a 403, a cache that never synced): every access
    /// check reports Error with this reason.
    Unreadable(String),
    /// The model of the RBAC objects observed.
    Known(Arc<AccessModel>),
}

impl AccessEvidence {
    /// The evidence of `set`, observed.
    pub fn of(set: &RbacSet) -> AccessEvidence {
        AccessEvidence::Known(Arc::new(set.model()))
    }
}
