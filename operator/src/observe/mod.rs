//! Observe: read the watch caches into an [`Inventory`] (a consistent list of everything
//! cached), then select what one policy governs ([`Observation`]). Both steps are plain
//! functions over cached objects, so benchmarks and tests build them without a cluster.

pub mod manifest;
pub mod stores;
pub mod triggers;
pub mod velero;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hipaa_controls::context::{BackupSchedule, ClusterContext};
use hipaa_controls::model::ResourceRef;
use hipaa_controls::object::Object;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, ObjectReference, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::{Resource, ResourceExt};

use stores::Stores;

/// Everything cached, at one moment.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub namespaces: Vec<Arc<Namespace>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub stateful_sets: Vec<Arc<StatefulSet>>,
    pub daemon_sets: Vec<Arc<DaemonSet>>,
    pub replica_sets: Vec<Arc<ReplicaSet>>,
    pub jobs: Vec<Arc<Job>>,
    pub cron_jobs: Vec<Arc<CronJob>>,
    pub pods: Vec<Arc<Pod>>,
    pub services: Vec<Arc<Service>>,
    pub ingresses: Vec<Arc<Ingress>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub network_policies: Vec<Arc<NetworkPolicy>>,
    pub storage_classes: Vec<Arc<StorageClass>>,
    /// Velero schedules; with the Velero CRD absent there are none, which is not an error.
    pub backup_schedules: Vec<BackupSchedule>,
}

impl Inventory {
    /// A snapshot of every cache.
    pub fn from_stores(stores: &Stores) -> Self {
        Inventory {
            namespaces: stores.namespaces.state(),
            deployments: stores.deployments.state(),
            stateful_sets: stores.stateful_sets.state(),
            daemon_sets: stores.daemon_sets.state(),
            replica_sets: stores.replica_sets.state(),
            jobs: stores.jobs.state(),
            cron_jobs: stores.cron_jobs.state(),
            pods: stores.pods.state(),
            services: stores.services.state(),
            ingresses: stores.ingresses.state(),
            pvcs: stores.pvcs.state(),
            network_policies: stores.network_policies.state(),
            storage_classes: stores.storage_classes.state(),
            backup_schedules: stores
                .backup_schedules
                .as_ref()
                .map(|store| {
                    store
                        .state()
                        .iter()
                        .map(|s| velero::backup_schedule(s))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The cluster state every decision reads besides the object itself.
    pub fn cluster_context(&self) -> ClusterContext {
        let mut context = ClusterContext::new();
        for namespace in &self.namespaces {
            context.insert_namespace(namespace.clone());
        }
        for policy in &self.network_policies {
            context.insert_network_policy(policy.clone());
        }
        for class in &self.storage_classes {
            context.insert_storage_class(class.clone());
        }
        for pvc in &self.pvcs {
            context.insert_pvc(pvc.clone());
        }
        for schedule in &self.backup_schedules {
            context.insert_backup_schedule(schedule.clone());
        }
        context
    }
}

/// A cached object the audit judges, shared with the cache until it is evaluated.
#[derive(Clone, Debug)]
pub enum Cached {
    Namespace(Arc<Namespace>),
    Deployment(Arc<Deployment>),
    StatefulSet(Arc<StatefulSet>),
    DaemonSet(Arc<DaemonSet>),
    ReplicaSet(Arc<ReplicaSet>),
    Job(Arc<Job>),
    CronJob(Arc<CronJob>),
    Pod(Arc<Pod>),
    Service(Arc<Service>),
    Ingress(Arc<Ingress>),
    PersistentVolumeClaim(Arc<PersistentVolumeClaim>),
}

impl Cached {
    /// An owned copy in the engine's form (made one at a time, while evaluating).
    pub fn to_object(&self) -> Object {
        match self {
            Cached::Namespace(o) => Object::Namespace(Box::new(o.as_ref().clone())),
            Cached::Deployment(o) => Object::Deployment(Box::new(o.as_ref().clone())),
            Cached::StatefulSet(o) => Object::StatefulSet(Box::new(o.as_ref().clone())),
            Cached::DaemonSet(o) => Object::DaemonSet(Box::new(o.as_ref().clone())),
            Cached::ReplicaSet(o) => Object::ReplicaSet(Box::new(o.as_ref().clone())),
            Cached::Job(o) => Object::Job(Box::new(o.as_ref().clone())),
            Cached::CronJob(o) => Object::CronJob(Box::new(o.as_ref().clone())),
            Cached::Pod(o) => Object::Pod(Box::new(o.as_ref().clone())),
            Cached::Service(o) => Object::Service(Box::new(o.as_ref().clone())),
            Cached::Ingress(o) => Object::Ingress(Box::new(o.as_ref().clone())),
            Cached::PersistentVolumeClaim(o) => {
                Object::PersistentVolumeClaim(Box::new(o.as_ref().clone()))
            }
        }
    }

    /// The reference an Event about this object carries (kind, apiVersion, namespace, name, uid).
    pub fn object_reference(&self) -> ObjectReference {
        match self {
            Cached::Namespace(o) => o.object_ref(&()),
            Cached::Deployment(o) => o.object_ref(&()),
            Cached::StatefulSet(o) => o.object_ref(&()),
            Cached::DaemonSet(o) => o.object_ref(&()),
            Cached::ReplicaSet(o) => o.object_ref(&()),
            Cached::Job(o) => o.object_ref(&()),
            Cached::CronJob(o) => o.object_ref(&()),
            Cached::Pod(o) => o.object_ref(&()),
            Cached::Service(o) => o.object_ref(&()),
            Cached::Ingress(o) => o.object_ref(&()),
            Cached::PersistentVolumeClaim(o) => o.object_ref(&()),
        }
    }

    /// The engine's name for this object, as findings carry it.
    pub fn resource_ref(&self) -> ResourceRef {
        let reference = self.object_reference();
        let namespace = match self {
            Cached::Namespace(_) => None,
            _ => reference.namespace.as_deref(),
        };
        ResourceRef::new(
            reference.kind.clone().unwrap_or_default(),
            namespace,
            reference.name.clone().unwrap_or_default(),
        )
    }
}

/// What one policy governs: its namespaces and every judged object in them.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// Names of the namespaces the policy selects.
    pub scope: BTreeSet<String>,
    /// The Namespaces themselves, then every workload, Service, Ingress and PVC in them.
    pub objects: Vec<Cached>,
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

/// Selects what `policy` governs in `inventory`.
pub fn observe(inventory: &Inventory, policy: &HipaaPolicy) -> Observation {
    let namespaces: Vec<&Arc<Namespace>> = inventory
        .namespaces
        .iter()
        .filter(|ns| EffectivePolicy::selects(policy, ns))
        .collect();
    let scope: BTreeSet<String> = namespaces.iter().map(|ns| ns.name_any()).collect();
    let mut objects: Vec<Cached> = namespaces
        .into_iter()
        .map(|ns| Cached::Namespace(ns.clone()))
        .collect();
    let in_scope = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        meta.namespace
            .as_deref()
            .is_some_and(|ns| scope.contains(ns))
    };
    collect(
        &mut objects,
        &inventory.deployments,
        in_scope,
        Cached::Deployment,
    );
    collect(
        &mut objects,
        &inventory.stateful_sets,
        in_scope,
        Cached::StatefulSet,
    );
    collect(
        &mut objects,
        &inventory.daemon_sets,
        in_scope,
        Cached::DaemonSet,
    );
    collect(
        &mut objects,
        &inventory.replica_sets,
        in_scope,
        Cached::ReplicaSet,
    );
    collect(&mut objects, &inventory.jobs, in_scope, Cached::Job);
    collect(
        &mut objects,
        &inventory.cron_jobs,
        in_scope,
        Cached::CronJob,
    );
    collect(&mut objects, &inventory.pods, in_scope, Cached::Pod);
    collect(&mut objects, &inventory.services, in_scope, Cached::Service);
    collect(
        &mut objects,
        &inventory.ingresses,
        in_scope,
        Cached::Ingress,
    );
    collect(
        &mut objects,
        &inventory.pvcs,
        in_scope,
        Cached::PersistentVolumeClaim,
    );
    Observation { scope, objects }
}

fn collect<K: Resource>(
    into: &mut Vec<Cached>,
    from: &[Arc<K>],
    in_scope: impl Fn(&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> bool,
    wrap: fn(Arc<K>) -> Cached,
) {
    into.extend(
        from.iter()
            .filter(|o| in_scope(o.meta()))
            .map(|o| wrap(o.clone())),
    );
}
