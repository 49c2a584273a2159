//! One RBAC object written or deleted ([`RbacObject`], [`RbacChange`]), and the set it leaves
//! ([`RbacSet::with_change`]): what admission compares with the cluster's RBAC before the change.
//! Pure: the caller parses the object from the request.

use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::set::RbacSet;

/// A Role, ClusterRole, RoleBinding or ClusterRoleBinding.
#[derive(Clone, Debug)]
pub enum RbacObject {
    Role(Arc<Role>),
    ClusterRole(Arc<ClusterRole>),
    RoleBinding(Arc<RoleBinding>),
    ClusterRoleBinding(Arc<ClusterRoleBinding>),
}

impl RbacObject {
    /// Its kind, as [`crate::RBAC_KINDS`] names it.
    pub fn kind(&self) -> &'static str {
        match self {
            RbacObject::Role(_) => "Role",
            RbacObject::ClusterRole(_) => "ClusterRole",
            RbacObject::RoleBinding(_) => "RoleBinding",
            RbacObject::ClusterRoleBinding(_) => "ClusterRoleBinding",
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            RbacObject::Role(o) => &o.metadata,
            RbacObject::ClusterRole(o) => &o.metadata,
            RbacObject::RoleBinding(o) => &o.metadata,
            RbacObject::ClusterRoleBinding(o) => &o.metadata,
        }
    }

    /// Whether it is a namespaced kind (a Role or a RoleBinding): it grants in its own
    /// namespace only. The cluster-scoped kinds can grant in every namespace.
    pub fn namespaced(&self) -> bool {
        matches!(self, RbacObject::Role(_) | RbacObject::RoleBinding(_))
    }
}

/// A write (creation or update: the new object replaces one of the same kind, namespace and
/// name) or a deletion (the old object leaves).
#[derive(Clone, Debug)]
pub enum RbacChange {
    Write(RbacObject),
    Delete(RbacObject),
}

impl RbacSet {
    /// The set with `change` applied; the objects it keeps are shared, not copied.
    pub fn with_change(&self, change: &RbacChange) -> RbacSet {
        let mut next = self.clone();
        let (object, keep_new) = match change {
            RbacChange::Write(object) => (object, true),
            RbacChange::Delete(object) => (object, false),
        };
        match object {
            RbacObject::Role(new) => replace(&mut next.roles, new, keep_new, |o| &o.metadata),
            RbacObject::ClusterRole(new) => {
                replace(&mut next.cluster_roles, new, keep_new, |o| &o.metadata)
            }
            RbacObject::RoleBinding(new) => {
                replace(&mut next.role_bindings, new, keep_new, |o| &o.metadata)
            }
            RbacObject::ClusterRoleBinding(new) => {
                replace(&mut next.cluster_role_bindings, new, keep_new, |o| {
                    &o.metadata
                })
            }
        }
        next
    }
}

/// Removes the objects of `list` with `new`'s namespace and name, then adds `new` when kept.
fn replace<T>(
    list: &mut Vec<Arc<T>>,
    new: &Arc<T>,
    keep_new: bool,
    meta: impl Fn(&T) -> &ObjectMeta,
) {
    let key = |object: &T| {
        let m = meta(object);
        (
            m.namespace.clone().filter(|ns| !ns.is_empty()),
            m.name.clone(),
        )
    };
    let wanted = key(new);
    list.retain(|old| key(old) != wanted);
    if keep_new {
        list.push(Arc::clone(new));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::access::Access;

    fn value(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    fn reader(namespace: &str) -> serde_json::Value {
        value(&format!(
            r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{{"name":"secret-reader","namespace":"{namespace}"}},"rules":[{{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}}]}}"#
        ))
    }

    fn binding(user: &str) -> RoleBinding {
        serde_json::from_value(value(&format!(
            r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{{"name":"readers","namespace":"billing"}},"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"secret-reader"}},"subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}"#
        )))
        .unwrap()
    }

    fn readers(set: &RbacSet) -> Vec<String> {
        set.model()
            .first_paths("billing", &[Access::ReadSecrets], |_| true)
            .into_keys()
            .map(|(subject, _)| subject.to_string())
            .collect()
    }

    fn base() -> RbacSet {
        let mut set = RbacSet::default();
        set.push_value(reader("billing")).unwrap();
        set.push_value(reader("other")).unwrap();
        set
    }

    #[test]
    fn a_write_adds_a_new_object_and_replaces_one_of_the_same_name() {
        let set = base();
        let created = set.with_change(&RbacChange::Write(RbacObject::RoleBinding(Arc::new(
            binding("mallory"),
        ))));
        assert_eq!(readers(&created), ["User mallory"]);
        assert!(readers(&set).is_empty(), "the original set is unchanged");
        let updated = created.with_change(&RbacChange::Write(RbacObject::RoleBinding(Arc::new(
            binding("trent"),
        ))));
        assert_eq!(updated.role_bindings.len(), 1);
        assert_eq!(readers(&updated), ["User trent"]);
    }

    #[test]
    fn a_deletion_removes_only_the_object_of_its_namespace_and_name() {
        let set = base();
        let role: Role = serde_json::from_value(reader("billing")).unwrap();
        let deleted = set.with_change(&RbacChange::Delete(RbacObject::Role(Arc::new(role))));
        assert_eq!(deleted.roles.len(), 1);
        assert_eq!(
            deleted.roles[0].metadata.namespace.as_deref(),
            Some("other")
        );
        let with_binding = deleted.with_change(&RbacChange::Write(RbacObject::RoleBinding(
            Arc::new(binding("mallory")),
        )));
        // The binding names a Role that is gone: it grants nothing.
        assert!(readers(&with_binding).is_empty());
        let kept = set.with_change(&RbacChange::Write(RbacObject::RoleBinding(Arc::new(
            binding("mallory"),
        ))));
        assert_eq!(readers(&kept), ["User mallory"]);
    }

    #[test]
    fn cluster_scoped_objects_match_without_a_namespace() {
        let mut set = RbacSet::default();
        let admin = value(
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"ops"},"rules":[]}"#,
        );
        set.push_value(admin).unwrap();
        let mut replacement: ClusterRole = serde_json::from_value(value(
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"ops","namespace":""},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}"#,
        ))
        .unwrap();
        replacement.metadata.namespace = Some(String::new());
        let object = RbacObject::ClusterRole(Arc::new(replacement));
        assert!(!object.namespaced());
        assert_eq!(object.kind(), "ClusterRole");
        let next = set.with_change(&RbacChange::Write(object));
        assert_eq!(next.cluster_roles.len(), 1);
        assert_eq!(next.cluster_roles[0].rules.as_ref().map(Vec::len), Some(1));
    }
}
