//! What the operator knows of access, decided without a client: whether its RBAC caches can be
//! trusted ([`WatchHealth`], [`readability`]: a forbidden or never-synced cache makes the access
//! controls report Error, never Pass), what identifies one state of RBAC ([`rbac_version`]), and
//! the model built once per such state and shared by every policy's audit ([`SharedModel`]).
//! The objects are trimmed to what the model reads ([`AccessCached::trim`]) before they are cached.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use hipaa_controls::access::{AccessEvidence, AccessModel, RbacSet};
use hipaa_controls::aws::IRSA_ROLE_ANNOTATION;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

/// What one RBAC watch has told so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchHealth {
    /// A complete list arrived (at least once).
    pub listed: bool,
    /// The API server refuses the operator this list or watch (403), with its message; cleared by
    /// the next success.
    pub forbidden: Option<String>,
    /// The last other failure since the last success (a cache that never listed says why).
    pub failing: Option<String>,
}

impl WatchHealth {
    /// A list completed, or a watch event arrived: the watch works.
    pub fn succeeded(&mut self, listed: bool) {
        self.listed |= listed;
        self.forbidden = None;
        self.failing = None;
    }

    /// The watch failed; `forbidden` for a 403. Returns whether the watch just became forbidden
    /// (the audits must then say so).
    pub fn failed(&mut self, forbidden: bool, message: String) -> bool {
        if forbidden {
            let newly = self.forbidden.is_none();
            self.forbidden = Some(message);
            newly
        } else {
            self.failing = Some(message);
            false
        }
    }

    /// Whether waiting longer can change what this watch says: not once it listed or was refused.
    pub fn settled(&self) -> bool {
        self.listed || self.forbidden.is_some()
    }
}

/// Why the RBAC caches cannot be trusted, or Ok when they can: any watch forbidden (even one that
/// listed before: its changes are no longer seen), or any watch that never completed a list.
/// `watches` are by resource plural (`rolebindings`).
pub fn readability(watches: &BTreeMap<String, WatchHealth>) -> Result<(), String> {
    if let Some((plural, message)) = watches
        .iter()
        .find_map(|(plural, health)| Some((plural, health.forbidden.as_ref()?)))
    {
        return Err(format!("the operator may not list {plural}: {message}"));
    }
    if let Some((plural, health)) = watches.iter().find(|(_, health)| !health.listed) {
        return Err(match &health.failing {
            Some(error) => format!("the operator's {plural} cache never synced: {error}"),
            None => format!("the operator's {plural} cache has not synced yet"),
        });
    }
    Ok(())
}

/// What identifies one state of the RBAC caches and of their readability: equal versions mean
/// the same model and the same evidence. Order-independent (a sum of per-object hashes), so the
/// caches' lists need no sorting; an object counts by its resourceVersion when it has one (it
/// changes on every write), else by its content.
pub fn rbac_version(set: &RbacSet, readable: &Result<(), String>) -> u64 {
    let mut sum = 0_u64;
    let mut add = |kind: u8, meta: &ObjectMeta, content: &dyn Fn() -> Vec<u8>| {
        let mut hasher = DefaultHasher::new();
        (kind, &meta.namespace, &meta.name).hash(&mut hasher);
        match &meta.resource_version {
            Some(version) => version.hash(&mut hasher),
            None => content().hash(&mut hasher),
        }
        sum = sum.wrapping_add(hasher.finish());
    };
    for o in &set.roles {
        add(0, &o.metadata, &|| {
            serde_json::to_vec(o.as_ref()).unwrap_or_default()
        });
    }
    for o in &set.cluster_roles {
        add(1, &o.metadata, &|| {
            serde_json::to_vec(o.as_ref()).unwrap_or_default()
        });
    }
    for o in &set.role_bindings {
        add(2, &o.metadata, &|| {
            serde_json::to_vec(o.as_ref()).unwrap_or_default()
        });
    }
    for o in &set.cluster_role_bindings {
        add(3, &o.metadata, &|| {
            serde_json::to_vec(o.as_ref()).unwrap_or_default()
        });
    }
    for o in &set.service_accounts {
        add(4, &o.metadata, &|| {
            serde_json::to_vec(o.as_ref()).unwrap_or_default()
        });
    }
    let mut hasher = DefaultHasher::new();
    (sum, readable).hash(&mut hasher);
    hasher.finish()
}

/// A model and the RBAC version it was built from.
type Built = Option<(u64, Arc<AccessModel>)>;

/// The access model of the last RBAC version asked for, shared by every audit: the model is
/// built once per change of RBAC, not per policy or namespace.
#[derive(Clone, Debug, Default)]
pub struct SharedModel {
    last: Arc<Mutex<Built>>,
}

impl SharedModel {
    /// The evidence for `set` at `version`: Unreadable with the reason when the caches cannot be
    /// trusted, else the model, built now only if the version changed since the last call.
    pub fn evidence(
        &self,
        set: &RbacSet,
        version: u64,
        readable: Result<(), String>,
    ) -> AccessEvidence {
        if let Err(reason) = readable {
            return AccessEvidence::Unreadable(reason);
        }
        // Held while building, so that audits starting together build it once.
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match last.as_ref() {
            Some((built, model)) if *built == version => AccessEvidence::Known(Arc::clone(model)),
            _ => {
                let model = Arc::new(set.model());
                *last = Some((version, Arc::clone(&model)));
                AccessEvidence::Known(model)
            }
        }
    }
}

/// An RBAC kind the operator caches for the access model, trimmed to what the model reads.
pub trait AccessCached: Resource<DynamicType = ()> {
    /// Keeps only name, namespace, labels (ClusterRole aggregation selects by them) and
    /// resourceVersion of the metadata, and of the rest what the model reads.
    fn trim(&mut self);
}

fn trim_meta(meta: &mut ObjectMeta) {
    *meta = ObjectMeta {
        name: meta.name.take(),
        namespace: meta.namespace.take(),
        labels: meta.labels.take(),
        resource_version: meta.resource_version.take(),
        ..ObjectMeta::default()
    };
}

impl AccessCached for Role {
    fn trim(&mut self) {
        trim_meta(&mut self.metadata);
    }
}

impl AccessCached for ClusterRole {
    fn trim(&mut self) {
        trim_meta(&mut self.metadata);
    }
}

impl AccessCached for RoleBinding {
    fn trim(&mut self) {
        trim_meta(&mut self.metadata);
    }
}

impl AccessCached for ClusterRoleBinding {
    fn trim(&mut self) {
        trim_meta(&mut self.metadata);
    }
}

impl AccessCached for ServiceAccount {
    /// Only `automountServiceAccountToken` and the IRSA role annotation are read: the token
    /// Secrets, pull Secrets and other annotations go.
    fn trim(&mut self) {
        let role = self
            .metadata
            .annotations
            .as_mut()
            .and_then(|annotations| annotations.remove_entry(IRSA_ROLE_ANNOTATION));
        trim_meta(&mut self.metadata);
        self.metadata.annotations = role.map(|entry| [entry].into_iter().collect());
        self.secrets = None;
        self.image_pull_secrets = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn health(listed: bool, forbidden: Option<&str>, failing: Option<&str>) -> WatchHealth {
        WatchHealth {
            listed,
            forbidden: forbidden.map(str::to_owned),
            failing: failing.map(str::to_owned),
        }
    }

    fn watches(entries: &[(&str, WatchHealth)]) -> BTreeMap<String, WatchHealth> {
        entries
            .iter()
            .map(|(plural, health)| ((*plural).to_owned(), health.clone()))
            .collect()
    }

    #[test]
    fn a_forbidden_watch_is_unreadable_even_after_it_listed() {
        let all_listed = watches(&[
            ("roles", health(true, None, None)),
            ("rolebindings", health(true, None, None)),
        ]);
        assert_eq!(readability(&all_listed), Ok(()));
        let forbidden = watches(&[
            ("roles", health(true, None, None)),
            (
                "rolebindings",
                health(true, Some("rolebindings is forbidden"), None),
            ),
        ]);
        assert_eq!(
            readability(&forbidden),
            Err("the operator may not list rolebindings: rolebindings is forbidden".into())
        );
        let never = watches(&[
            ("roles", health(true, None, None)),
            (
                "serviceaccounts",
                health(false, None, Some("connection refused")),
            ),
        ]);
        assert_eq!(
            readability(&never),
            Err("the operator's serviceaccounts cache never synced: connection refused".into())
        );
        let waiting = watches(&[("roles", health(false, None, None))]);
        assert!(
            readability(&waiting)
                .unwrap_err()
                .contains("not synced yet")
        );
    }

    #[test]
    fn a_watch_is_forbidden_until_it_succeeds_and_says_when_it_became_so() {
        let mut watch = WatchHealth::default();
        assert!(!watch.settled());
        assert!(!watch.failed(false, "timeout".into()));
        assert!(!watch.settled());
        assert!(watch.failed(true, "forbidden".into()), "newly forbidden");
        assert!(!watch.failed(true, "forbidden".into()), "still forbidden");
        assert!(watch.settled());
        watch.succeeded(true);
        assert_eq!(watch, health(true, None, None));
    }

    fn binding(name: &str, version: Option<&str>) -> Arc<RoleBinding> {
        let mut value = serde_json::json!({
            "metadata": {"name": name, "namespace": "billing"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "User", "name": "mallory"}],
        });
        if let Some(version) = version {
            value["metadata"]["resourceVersion"] = serde_json::json!(version);
        }
        Arc::new(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn the_version_moves_with_any_object_and_with_readability_not_with_order() {
        let set = |bindings: Vec<Arc<RoleBinding>>| RbacSet {
            role_bindings: bindings,
            ..RbacSet::default()
        };
        let ok = Ok(());
        let a = set(vec![binding("a", Some("1")), binding("b", Some("2"))]);
        let swapped = set(vec![binding("b", Some("2")), binding("a", Some("1"))]);
        assert_eq!(rbac_version(&a, &ok), rbac_version(&swapped, &ok));
        let written = set(vec![binding("a", Some("3")), binding("b", Some("2"))]);
        assert_ne!(rbac_version(&a, &ok), rbac_version(&written, &ok));
        let removed = set(vec![binding("a", Some("1"))]);
        assert_ne!(rbac_version(&a, &ok), rbac_version(&removed, &ok));
        assert_ne!(
            rbac_version(&a, &ok),
            rbac_version(&a, &Err("forbidden".into()))
        );
        let plain = set(vec![binding("a", None)]);
        assert_eq!(rbac_version(&plain, &ok), rbac_version(&plain, &ok));
    }

    #[test]
    fn the_model_is_built_once_per_version_and_never_for_unreadable_rbac() {
        let shared = SharedModel::default();
        let set = RbacSet {
            role_bindings: vec![binding("a", Some("1"))],
            ..RbacSet::default()
        };
        let known = |evidence: AccessEvidence| match evidence {
            AccessEvidence::Known(model) => model,
            other => panic!("{other:?}"),
        };
        let first = known(shared.evidence(&set, 7, Ok(())));
        let again = known(shared.evidence(&set, 7, Ok(())));
        assert!(Arc::ptr_eq(&first, &again), "shared, not rebuilt");
        let next = known(shared.evidence(&set, 8, Ok(())));
        assert!(!Arc::ptr_eq(&first, &next));
        assert!(matches!(
            shared.evidence(&set, 9, Err("the operator may not list roles: no".into())),
            AccessEvidence::Unreadable(reason) if reason.contains("may not list roles")
        ));
    }

    #[test]
    fn trimming_keeps_what_the_model_reads() {
        let mut account: ServiceAccount = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api", "namespace": "billing", "uid": "u", "resourceVersion": "5",
                "labels": {"app": "api"}, "annotations": {"note": "x"}},
            "automountServiceAccountToken": false,
            "secrets": [{"name": "api-token"}],
        }))
        .unwrap();
        account.trim();
        assert_eq!(account.metadata.uid, None);
        assert_eq!(account.metadata.annotations, None);
        assert_eq!(account.metadata.resource_version.as_deref(), Some("5"));
        assert!(account.metadata.labels.is_some());
        assert_eq!(account.automount_service_account_token, Some(false));
        assert_eq!(account.secrets, None);
        let mut role: ClusterRole = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "agg", "labels": {"x": "y"}, "annotations": {"a": "b"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}],
        }))
        .unwrap();
        role.trim();
        assert!(role.aggregation_rule.is_some() && role.rules.is_some());
        assert_eq!(role.metadata.annotations, None);
    }
}
