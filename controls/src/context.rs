//! The cluster state a decision needs besides the object itself: Namespaces, NetworkPolicies,
//! StorageClasses, PVCs, HorizontalPodAutoscalers and backup schedules, indexed for lookups on
//! the admission hot path.
//!
//! The webhook and the operator fill it from watch caches, `kubectl hipaa scan` from the manifests
//! it reads. It holds `Arc`s so that callers can share objects with their caches without copying.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;

mod autoscaler_v1;

pub use autoscaler_v1::autoscaler_from_v1;

use crate::access::{AccessEvidence, RbacSet};
use crate::json::{api_version_and_kind, typed};

/// The annotation that marks the default StorageClass.
pub const DEFAULT_STORAGE_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// A Velero `Schedule`, reduced to what HIPAA-K8S-BACKUP needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupSchedule {
    pub name: String,
    /// `spec.template.includedNamespaces`; `*` or empty means every namespace.
    pub included_namespaces: Vec<String>,
    /// `spec.template.excludedNamespaces`.
    pub excluded_namespaces: Vec<String>,
}

impl BackupSchedule {
    /// The schedule `name` whose `spec` is given (the namespaces of `spec.template`).
    pub fn of(name: String, spec: Option<&serde_json::Value>) -> Self {
        let template = spec.and_then(|spec| spec.get("template"));
        let list = |field: &str| -> Vec<String> {
            template
                .and_then(|t| t.get(field))
                .and_then(serde_json::Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        BackupSchedule {
            name,
            included_namespaces: list("includedNamespaces"),
            excluded_namespaces: list("excludedNamespaces"),
        }
    }

    /// A Velero `Schedule` in its JSON form.
    pub fn from_value(schedule: &serde_json::Value) -> Self {
        let name = schedule
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        BackupSchedule::of(name.to_owned(), schedule.get("spec"))
    }
}

/// The context kinds as plain lists (a watch cache's state, the manifests a scan read), which
/// [`ClusterContext::from_objects`] indexes: the one way the webhook, the operator and the CLI
/// build a context.
#[derive(Clone, Debug, Default)]
pub struct ContextObjects {
    pub namespaces: Vec<Arc<Namespace>>,
    pub network_policies: Vec<Arc<NetworkPolicy>>,
    pub storage_classes: Vec<Arc<StorageClass>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub autoscalers: Vec<Arc<HorizontalPodAutoscaler>>,
    pub backup_schedules: Vec<BackupSchedule>,
    /// Roles, bindings and ServiceAccounts: the caller turns them into the context's
    /// [`AccessEvidence`] ([`ClusterContext::set_access`]) once it knows whether they are the
    /// whole truth; [`ClusterContext::from_objects`] does not read them.
    pub rbac: RbacSet,
}

impl ContextObjects {
    /// Keeps `value` when it is an object of a context kind (by its `apiVersion` and `kind`);
    /// `Ok(false)` for any other kind, an error when it does not parse as its kind.
    pub fn push_value(&mut self, value: serde_json::Value) -> Result<bool, serde_json::Error> {
        match api_version_and_kind(&value) {
            ("v1", "Namespace") => self.namespaces.push(typed(value)?),
            ("networking.k8s.io/v1", "NetworkPolicy") => self.network_policies.push(typed(value)?),
            ("storage.k8s.io/v1", "StorageClass") => self.storage_classes.push(typed(value)?),
            ("v1", "PersistentVolumeClaim") => self.pvcs.push(typed(value)?),
            ("autoscaling/v2", "HorizontalPodAutoscaler") => self.autoscalers.push(typed(value)?),
            ("autoscaling/v1", "HorizontalPodAutoscaler") => self
                .autoscalers
                .push(Arc::new(autoscaler_from_v1(serde_json::from_value(value)?))),
            ("velero.io/v1", "Schedule") => self
                .backup_schedules
                .push(BackupSchedule::from_value(&value)),
            _ => return self.rbac.push_value(value),
        }
        Ok(true)
    }
}

/// Indexed cluster state. Cheap to clone (everything is behind `Arc`).
#[derive(Clone, Debug, Default)]
pub struct ClusterContext {
    namespaces: HashMap<String, Arc<Namespace>>,
    network_policies: HashMap<String, Vec<Arc<NetworkPolicy>>>,
    storage_classes: BTreeMap<String, Arc<StorageClass>>,
    /// By namespace, then name: a namespace's PVCs are listed without a walk over all of them.
    pvcs: HashMap<String, BTreeMap<String, Arc<PersistentVolumeClaim>>>,
    /// By namespace: few per namespace, looked up by their scale target.
    autoscalers: HashMap<String, Vec<Arc<HorizontalPodAutoscaler>>>,
    backup_schedules: Vec<BackupSchedule>,
    /// Whether NetworkPolicies, StorageClasses, ... are known at all (offline scans may lack them).
    pub completeness: Completeness,
    /// Who can access what (the access controls); not observed unless the caller sets it.
    access: AccessEvidence,
}

/// Which kinds of context the caller actually observed. A control whose evidence was not observed
/// reports Error ("cannot evaluate"), never Pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completeness {
    pub namespaces: bool,
    pub network_policies: bool,
    pub storage_classes: bool,
    pub pvcs: bool,
    pub backup_schedules: bool,
}

impl Default for Completeness {
    fn default() -> Self {
        Completeness {
            namespaces: true,
            network_policies: true,
            storage_classes: true,
            pvcs: true,
            backup_schedules: true,
        }
    }
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn namespace_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.namespace
        .clone()
        .unwrap_or_else(|| "default".to_string())
}

impl ClusterContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// The context of `objects`, with what the caller observed.
    pub fn from_objects(objects: &ContextObjects, completeness: Completeness) -> Self {
        let mut context = ClusterContext {
            completeness,
            ..ClusterContext::default()
        };
        context.add_objects(objects);
        context
    }

    /// Adds `objects`; one of the same name replaces what was there (a manifest over the live
    /// cluster's copy).
    pub fn add_objects(&mut self, objects: &ContextObjects) {
        for ns in &objects.namespaces {
            self.insert_namespace(Arc::clone(ns));
        }
        for np in &objects.network_policies {
            self.insert_network_policy(Arc::clone(np));
        }
        for sc in &objects.storage_classes {
            self.insert_storage_class(Arc::clone(sc));
        }
        for pvc in &objects.pvcs {
            self.insert_pvc(Arc::clone(pvc));
        }
        for autoscaler in &objects.autoscalers {
            self.insert_autoscaler(Arc::clone(autoscaler));
        }
        for schedule in &objects.backup_schedules {
            self.insert_backup_schedule(schedule.clone());
        }
    }

    pub fn insert_namespace(&mut self, ns: Arc<Namespace>) {
        self.namespaces.insert(name_of(&ns.metadata), ns);
    }

    pub fn insert_network_policy(&mut self, np: Arc<NetworkPolicy>) {
        let ns = namespace_of(&np.metadata);
        let name = np.metadata.name.clone();
        let list = self.network_policies.entry(ns).or_default();
        list.retain(|existing| existing.metadata.name != name);
        list.push(np);
    }

    pub fn insert_storage_class(&mut self, sc: Arc<StorageClass>) {
        self.storage_classes.insert(name_of(&sc.metadata), sc);
    }

    pub fn insert_pvc(&mut self, pvc: Arc<PersistentVolumeClaim>) {
        self.pvcs
            .entry(namespace_of(&pvc.metadata))
            .or_default()
            .insert(name_of(&pvc.metadata), pvc);
    }

    /// Adds a HorizontalPodAutoscaler; one of the same name in its namespace is replaced.
    pub fn insert_autoscaler(&mut self, hpa: Arc<HorizontalPodAutoscaler>) {
        let name = hpa.metadata.name.clone();
        let list = self
            .autoscalers
            .entry(namespace_of(&hpa.metadata))
            .or_default();
        list.retain(|existing| existing.metadata.name != name);
        list.push(hpa);
    }

    /// Adds a schedule; one of the same name is replaced.
    pub fn insert_backup_schedule(&mut self, schedule: BackupSchedule) {
        self.backup_schedules
            .retain(|existing| existing.name != schedule.name);
        self.backup_schedules.push(schedule);
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name).map(Arc::as_ref)
    }

    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values().map(Arc::as_ref)
    }

    /// NetworkPolicies of one namespace.
    pub fn network_policies(&self, namespace: &str) -> &[Arc<NetworkPolicy>] {
        self.network_policies
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn storage_class(&self, name: &str) -> Option<&StorageClass> {
        self.storage_classes.get(name).map(Arc::as_ref)
    }

    /// The StorageClass annotated as default; with several, the first by name (as the API server
    /// picks the newest, callers that care should keep only one default).
    pub fn default_storage_class(&self) -> Option<&StorageClass> {
        self.storage_classes.values().map(Arc::as_ref).find(|sc| {
            sc.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_STORAGE_CLASS_ANNOTATION))
                .is_some_and(|v| v == "true")
        })
    }

    pub fn pvc(&self, namespace: &str, name: &str) -> Option<&PersistentVolumeClaim> {
        self.pvcs.get(namespace)?.get(name).map(Arc::as_ref)
    }

    /// PVCs of one namespace.
    pub fn pvcs_in<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a PersistentVolumeClaim> {
        self.pvcs
            .get(namespace)
            .into_iter()
            .flat_map(|pvcs| pvcs.values().map(Arc::as_ref))
    }

    /// The HorizontalPodAutoscaler of `namespace` whose `scaleTargetRef` names the workload of
    /// API group `group` (empty for the core group), `kind` and `name`; the first by name when
    /// several do (Kubernetes' HPA controller then scales none of them).
    pub fn autoscaler_of(
        &self,
        namespace: &str,
        group: &str,
        kind: &str,
        name: &str,
    ) -> Option<&HorizontalPodAutoscaler> {
        self.autoscalers
            .get(namespace)?
            .iter()
            .map(Arc::as_ref)
            .filter(|hpa| {
                hpa.spec.as_ref().is_some_and(|spec| {
                    let target = &spec.scale_target_ref;
                    let target_group = target
                        .api_version
                        .as_deref()
                        .and_then(|v| v.split_once('/'))
                        .map_or("", |(group, _)| group);
                    target.kind == kind && target.name == name && target_group == group
                })
            })
            .min_by(|a, b| a.metadata.name.cmp(&b.metadata.name))
    }

    pub fn backup_schedules(&self) -> &[BackupSchedule] {
        &self.backup_schedules
    }

    /// Sets what is known of access (the RBAC model, or why it is not known).
    pub fn set_access(&mut self, access: AccessEvidence) {
        self.access = access;
    }

    pub fn access(&self) -> &AccessEvidence {
        &self.access
    }
}
