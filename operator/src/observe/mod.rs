//! Observe: read the watch caches into an [`Inventory`] (a consistent list of everything
//! cached), then select what one policy governs ([`Observation`]). Both steps are plain
//! functions over cached objects, so benchmarks and tests build them without a cluster.

pub mod access;
pub mod aws_inputs;
pub mod cache;
pub mod compact;
pub mod fingerprint;
pub mod judged;
pub mod manifest;
pub mod pod_facts;
pub mod rbac;
pub mod stores;
pub mod triggers;
pub mod velero;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hipaa_controls::access::AccessEvidence;
use hipaa_controls::context::{ClusterContext, Completeness, ContextObjects};
use hipaa_controls::model::ResourceRef;
use hipaa_controls::object::{Object, ObjectKind};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;
use k8s_openapi::api::core::v1::{Namespace, ObjectReference, PersistentVolumeClaim};
use kube::{Resource, ResourceExt};

use compact::Compact;
use stores::Stores;

/// Everything cached, at one moment.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Namespaces, NetworkPolicies, StorageClasses, PVCs, HorizontalPodAutoscalers and Velero
    /// schedules (with the Velero CRD absent there are none, which is not an error).
    pub context: ContextObjects,
    /// Workloads, Services and Ingresses, compact.
    pub objects: Vec<Arc<Compact>>,
    /// What the access controls know (the model of `context.rbac`, or why it is not known);
    /// NotObserved until [`Inventory::observe_rbac`] or the caches set it.
    pub access: AccessEvidence,
    /// Identifies `access` and the RBAC it was built from: the incremental audit re-judges what
    /// reads access when it moves.
    pub access_version: u64,
}

impl Inventory {
    /// A snapshot of every cache.
    pub fn from_stores(stores: &Stores) -> Self {
        let mut objects = Vec::new();
        for store in stores.judged.values() {
            objects.extend(store.state());
        }
        let context = ContextObjects {
            namespaces: stores.namespaces.state(),
            pvcs: stores.pvcs.state(),
            network_policies: stores.network_policies.state(),
            storage_classes: stores.storage_classes.state(),
            autoscalers: stores.autoscalers.state(),
            backup_schedules: stores
                .backup_schedules
                .get()
                .map(|store| {
                    store
                        .state()
                        .iter()
                        .map(|s| velero::backup_schedule(s))
                        .collect()
                })
                .unwrap_or_default(),
            rbac: stores.rbac.set(),
        };
        let (access, access_version) = stores.rbac.evidence(&context.rbac);
        Inventory {
            context,
            objects,
            access,
            access_version,
        }
    }

    /// Marks `context.rbac` as the whole of the cluster's RBAC (as manifests give it to tests and
    /// benchmarks): the access controls judge from its model.
    pub fn observe_rbac(&mut self) {
        let readable = Ok(());
        self.access_version = access::rbac_version(&self.context.rbac, &readable);
        self.access = AccessEvidence::of(&self.context.rbac);
    }

    /// The cluster state every decision reads besides the object itself.
    pub fn cluster_context(&self) -> ClusterContext {
        let mut context = ClusterContext::from_objects(&self.context, Completeness::default());
        context.set_access(self.access.clone());
        context
    }
}

/// A cached object the audit judges, shared with the cache until it is evaluated.
#[derive(Clone, Debug)]
pub enum Cached {
    Namespace(Arc<Namespace>),
    PersistentVolumeClaim(Arc<PersistentVolumeClaim>),
    /// A workload, Service or Ingress.
    Compact(Arc<Compact>),
}

impl Cached {
    /// A judged object as the cache keeps it (compact).
    pub fn compact<K: compact::CompactResource>(object: &K) -> Result<Cached, serde_json::Error> {
        Compact::encode(object).map(|entry| Cached::Compact(Arc::new(entry)))
    }

    /// An owned copy in the engine's form (made one at a time, while evaluating).
    pub fn to_object(&self) -> Result<Object, serde_json::Error> {
        Ok(match self {
            Cached::Namespace(o) => Object::Namespace(Box::new(o.as_ref().clone())),
            Cached::PersistentVolumeClaim(o) => {
                Object::PersistentVolumeClaim(Box::new(o.as_ref().clone()))
            }
            Cached::Compact(o) => o.decode()?,
        })
    }

    /// The engine's kind of the object.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Cached::Namespace(_) => ObjectKind::Namespace,
            Cached::PersistentVolumeClaim(_) => ObjectKind::PersistentVolumeClaim,
            Cached::Compact(o) => o.kind,
        }
    }

    /// Whether `other` is this very cached version (the caches replace an entry on every change).
    pub fn is_same_version(&self, other: &Cached) -> bool {
        match (self, other) {
            (Cached::Namespace(a), Cached::Namespace(b)) => Arc::ptr_eq(a, b),
            (Cached::PersistentVolumeClaim(a), Cached::PersistentVolumeClaim(b)) => {
                Arc::ptr_eq(a, b)
            }
            (Cached::Compact(a), Cached::Compact(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The address of the cached version, a key for [`Cached::is_same_version`] lookups.
    pub fn address(&self) -> usize {
        match self {
            Cached::Namespace(o) => Arc::as_ptr(o) as usize,
            Cached::PersistentVolumeClaim(o) => Arc::as_ptr(o) as usize,
            Cached::Compact(o) => Arc::as_ptr(o) as usize,
        }
    }

    /// The namespace whose context the object's evaluation reads (a Namespace's own name).
    pub fn context_namespace(&self) -> &str {
        match self {
            Cached::Namespace(o) => o.metadata.name.as_deref().unwrap_or_default(),
            Cached::PersistentVolumeClaim(o) => o.metadata.namespace.as_deref().unwrap_or_default(),
            Cached::Compact(o) => &o.namespace,
        }
    }

    /// The reference an Event about this object carries (kind, apiVersion, namespace, name, uid).
    pub fn object_reference(&self) -> ObjectReference {
        match self {
            Cached::Namespace(o) => o.object_ref(&()),
            Cached::PersistentVolumeClaim(o) => o.object_ref(&()),
            Cached::Compact(o) => o.object_reference(),
        }
    }

    /// The engine's name for this object, as findings carry it.
    pub fn resource_ref(&self) -> ResourceRef {
        match self {
            Cached::Namespace(o) => ResourceRef::new("Namespace", None, o.name_any()),
            Cached::PersistentVolumeClaim(o) => ResourceRef::new(
                "PersistentVolumeClaim",
                o.metadata.namespace.as_deref(),
                o.name_any(),
            ),
            Cached::Compact(o) => o.resource_ref(),
        }
    }
}

/// What one policy governs: its namespaces and every judged object in them.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// Names of the namespaces the policy selects.
    pub scope: BTreeSet<String>,
    /// The Namespaces themselves, then every workload, Service, Ingress and PVC in them.
    pub objects: Vec<Cached>,
    /// The IRSA roles of their ServiceAccounts and the EFS StorageClasses, for AWS data linking.
    pub aws: aws_inputs::AwsInputs,
}

impl Observation {
    /// Event references of the objects `wanted` names (built only when Events are due).
    pub fn references(
        &self,
        wanted: &HashSet<ResourceRef>,
    ) -> HashMap<ResourceRef, ObjectReference> {
        self.objects
            .iter()
            .filter_map(|cached| {
                let key = cached.resource_ref();
                wanted
                    .contains(&key)
                    .then(|| (key, cached.object_reference()))
            })
            .collect()
    }
}

/// Selects what `policy` governs in `inventory`. Each namespace's objects come together, right
/// after its Namespace (its PVCs last), so that the audit, which keeps evaluations by namespace,
/// finds each namespace in one run.
pub fn observe(inventory: &Inventory, policy: &HipaaPolicy) -> Observation {
    let namespaces: Vec<&Arc<Namespace>> = inventory
        .context
        .namespaces
        .iter()
        .filter(|ns| EffectivePolicy::selects(policy, ns))
        .collect();
    let scope: BTreeSet<String> = namespaces.iter().map(|ns| ns.name_any()).collect();
    // Looked up once per cached object, so with a fast hash: SipHash over 124,000 names was
    // the largest part of an audit with nothing to judge.
    let position: foldhash::HashMap<&str, usize> = namespaces
        .iter()
        .enumerate()
        .map(|(at, ns)| (ns.metadata.name.as_deref().unwrap_or_default(), at))
        .collect();
    let mut groups: Vec<Vec<Cached>> = namespaces
        .into_iter()
        .map(|ns| vec![Cached::Namespace(ns.clone())])
        .collect();
    let mut add = |namespace: &str, object: Cached| {
        if let Some(group) = position.get(namespace).and_then(|&at| groups.get_mut(at)) {
            group.push(object);
        }
    };
    for object in &inventory.objects {
        add(&object.namespace, Cached::Compact(object.clone()));
    }
    for pvc in &inventory.context.pvcs {
        if let Some(namespace) = pvc.metadata.namespace.as_deref() {
            add(namespace, Cached::PersistentVolumeClaim(pvc.clone()));
        }
    }
    let mut objects = Vec::with_capacity(groups.iter().map(Vec::len).sum());
    for group in groups {
        objects.extend(group);
    }
    let aws = aws_inputs::AwsInputs::of(&inventory.context, &scope);
    Observation {
        scope,
        objects,
        aws,
    }
}
