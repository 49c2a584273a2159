//! One immutable view of the cluster for the request path: the engine's indexed
//! `ClusterContext`, the HipaaPolicies, and each namespace's effective policy resolved in advance,
//! so that a review does a hash lookup and no O(cluster) work.

use std::collections::HashMap;
use std::sync::Arc;

use hipaa_controls::context::{ClusterContext, Completeness};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;

/// What the watch caches hold at one moment.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    pub policies: Vec<Arc<HipaaPolicy>>,
    pub namespaces: Vec<Arc<Namespace>>,
    pub network_policies: Vec<Arc<NetworkPolicy>>,
    pub storage_classes: Vec<Arc<StorageClass>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
}

impl ClusterState {
    /// State from objects in their JSON form (e.g. manifests of a test cluster); objects of other
    /// kinds are ignored, objects that do not parse as their kind are an error.
    pub fn from_documents(
        documents: impl IntoIterator<Item = serde_json::Value>,
    ) -> Result<Self, serde_json::Error> {
        let mut state = ClusterState::default();
        for document in documents {
            let kind = document
                .get("kind")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            match kind {
                "HipaaPolicy" => state
                    .policies
                    .push(Arc::new(serde_json::from_value(document)?)),
                "Namespace" => state
                    .namespaces
                    .push(Arc::new(serde_json::from_value(document)?)),
                "NetworkPolicy" => {
                    state
                        .network_policies
                        .push(Arc::new(serde_json::from_value(document)?));
                }
                "StorageClass" => {
                    state
                        .storage_classes
                        .push(Arc::new(serde_json::from_value(document)?));
                }
                "PersistentVolumeClaim" => {
                    state.pvcs.push(Arc::new(serde_json::from_value(document)?))
                }
                _ => {}
            }
        }
        Ok(state)
    }
}

/// Where a namespace stands.
#[derive(Debug)]
pub enum Scope<'a> {
    /// The caches have not seen the namespace (yet).
    Unknown,
    /// No HipaaPolicy selects it.
    Unselected,
    /// The merged policy of every HipaaPolicy that selects it.
    Selected(&'a EffectivePolicy),
}

/// The effective policy of every known namespace; `None` for namespaces no policy selects.
pub type ScopeIndex = HashMap<String, Option<Arc<EffectivePolicy>>>;

/// An immutable snapshot, swapped atomically when the caches change.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub context: ClusterContext,
    scopes: Arc<ScopeIndex>,
    /// True once every watch cache has listed its kind at least once.
    pub synced: bool,
    /// Increases with each rebuild.
    pub generation: u64,
}

impl Snapshot {
    /// The snapshot before any cache has synced: every review in scope is turned away.
    pub fn starting() -> Self {
        Snapshot::default()
    }

    /// Builds a snapshot. `reuse_scopes` carries over the previous scope index when neither the
    /// namespaces nor the policies changed since it was built.
    pub fn build(
        state: &ClusterState,
        synced: bool,
        generation: u64,
        reuse_scopes: Option<Arc<ScopeIndex>>,
    ) -> Self {
        let mut context = ClusterContext::new();
        context.completeness = Completeness {
            namespaces: true,
            network_policies: true,
            storage_classes: true,
            pvcs: true,
            // Backup schedules are judged by the operator's audits, never at admission.
            backup_schedules: false,
        };
        for ns in &state.namespaces {
            context.insert_namespace(Arc::clone(ns));
        }
        for np in &state.network_policies {
            context.insert_network_policy(Arc::clone(np));
        }
        for sc in &state.storage_classes {
            context.insert_storage_class(Arc::clone(sc));
        }
        for pvc in &state.pvcs {
            context.insert_pvc(Arc::clone(pvc));
        }
        let scopes = reuse_scopes.unwrap_or_else(|| Arc::new(resolve_scopes(state)));
        Snapshot {
            context,
            scopes,
            synced,
            generation,
        }
    }

    /// A snapshot from fixed state, already synced (tests, benchmarks, offline use).
    pub fn from_state(state: &ClusterState) -> Self {
        Snapshot::build(state, true, 1, None)
    }

    pub fn scope(&self, namespace: &str) -> Scope<'_> {
        match self.scopes.get(namespace) {
            None => Scope::Unknown,
            Some(None) => Scope::Unselected,
            Some(Some(policy)) => Scope::Selected(policy),
        }
    }

    /// The scope index, for reuse by the next snapshot.
    pub fn scopes(&self) -> Arc<ScopeIndex> {
        Arc::clone(&self.scopes)
    }

    /// How many namespaces some policy selects.
    pub fn selected_namespaces(&self) -> usize {
        self.scopes.values().filter(|scope| scope.is_some()).count()
    }
}

/// Resolves every namespace's effective policy once per change of namespaces or policies.
fn resolve_scopes(state: &ClusterState) -> ScopeIndex {
    let mut scopes = HashMap::with_capacity(state.namespaces.len());
    for ns in &state.namespaces {
        let Some(name) = ns.metadata.name.clone() else {
            continue;
        };
        let effective = EffectivePolicy::for_namespace(state.policies.iter().map(Arc::as_ref), ns)
            .map(Arc::new);
        scopes.insert(name, effective);
    }
    scopes
}

/// The current snapshot, swapped without locks; readers on the request path never block and
/// never copy it. Reviews waiting for a namespace to show up subscribe to its changes.
#[derive(Debug)]
pub struct SnapshotCell {
    current: arc_swap::ArcSwap<Snapshot>,
    updates: tokio::sync::watch::Sender<u64>,
}

impl SnapshotCell {
    pub fn new(initial: Snapshot) -> Self {
        let (updates, _) = tokio::sync::watch::channel(initial.generation);
        SnapshotCell {
            current: arc_swap::ArcSwap::from_pointee(initial),
            updates,
        }
    }

    /// The current snapshot, for the duration of one synchronous decision.
    pub fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    pub fn load_full(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Replaces the snapshot and wakes the reviews waiting for one.
    pub fn publish(&self, snapshot: Snapshot) {
        let generation = snapshot.generation;
        self.current.store(Arc::new(snapshot));
        self.updates.send_replace(generation);
    }

    /// A receiver that sees each later `publish`.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.updates.subscribe()
    }
}
