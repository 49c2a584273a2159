//! One immutable view of the cluster for the request path: the engine's indexed
//! `ClusterContext`, the HipaaPolicies, and each namespace's effective policy resolved in advance,
//! so that a review does a hash lookup and no O(cluster) work; the RBAC objects and the access
//! model computed from them (in the context too, for HIPAA-K8S-SA-TOKEN), which RBAC reviews
//! compare with; and a handle on the live count of workloads per namespace
//! (`crate::workloads`), which Namespace reviews read.

use std::collections::HashMap;
use std::sync::Arc;

use hipaa_controls::access::{AccessEvidence, AccessModel, RbacSet};
use hipaa_controls::context::{ClusterContext, Completeness, ContextObjects};
use hipaa_controls::object::ObjectKind;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;

use crate::workloads::WorkloadIndex;

/// What the watch caches hold at one moment.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    pub policies: Vec<Arc<HipaaPolicy>>,
    /// Namespaces, NetworkPolicies, StorageClasses, PVCs, HorizontalPodAutoscalers and the RBAC
    /// objects (no backup schedules: admission never judges backups).
    pub context: ContextObjects,
    /// The workloads each namespace holds (live: shared, not copied).
    pub workloads: Arc<WorkloadIndex>,
}

impl ClusterState {
    /// State from objects in their JSON form (e.g. manifests of a test cluster): policies, context
    /// objects, and workloads (counted by namespace); objects of other kinds are ignored, objects
    /// that do not parse as their kind are an error.
    pub fn from_documents(
        documents: impl IntoIterator<Item = serde_json::Value>,
    ) -> Result<Self, serde_json::Error> {
        let mut state = ClusterState::default();
        for document in documents {
            let text = |field: &str| document.get(field).and_then(serde_json::Value::as_str);
            let counted =
                ObjectKind::of(text("apiVersion").unwrap_or(""), text("kind").unwrap_or(""))
                    .filter(|kind| kind.info().webhook_counts);
            if text("kind") == Some("HipaaPolicy") {
                state
                    .policies
                    .push(Arc::new(serde_json::from_value(document)?));
            } else if let Some(kind) = counted {
                let metadata = document.get("metadata");
                let field = |name: &str| metadata.and_then(|m| m.get(name)?.as_str());
                let namespace = field("namespace").unwrap_or("default");
                state
                    .workloads
                    .apply(kind, namespace, field("name").unwrap_or(""));
            } else {
                state.context.push_value(document)?;
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

/// The RBAC objects the caches held, and the access model computed from them once.
#[derive(Debug, Default)]
pub struct Access {
    pub objects: RbacSet,
    pub model: Arc<AccessModel>,
}

impl Access {
    pub fn of(objects: RbacSet) -> Self {
        let model = Arc::new(objects.model());
        Access { objects, model }
    }
}

/// An immutable snapshot, swapped atomically when the caches change.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub context: ClusterContext,
    /// Every HipaaPolicy: a Namespace review resolves the policies of its new labels, and finds
    /// those its old labels leave.
    pub policies: Vec<Arc<HipaaPolicy>>,
    /// The workloads per namespace, live (see `crate::workloads`).
    pub workloads: Arc<WorkloadIndex>,
    scopes: Arc<ScopeIndex>,
    /// The RBAC objects and their model (also the context's access evidence).
    access: Arc<Access>,
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
        Snapshot::build_reusing(state, synced, generation, reuse_scopes, None)
    }

    /// [`Snapshot::build`], and `reuse_access` carries over the previous RBAC objects and model
    /// when no RBAC object changed since they were read (`state`'s RBAC objects are then unread).
    pub fn build_reusing(
        state: &ClusterState,
        synced: bool,
        generation: u64,
        reuse_scopes: Option<Arc<ScopeIndex>>,
        reuse_access: Option<Arc<Access>>,
    ) -> Self {
        let completeness = Completeness {
            // Backup schedules are judged by the operator's audits, never at admission.
            backup_schedules: false,
            ..Completeness::default()
        };
        let mut context = ClusterContext::from_objects(&state.context, completeness);
        let scopes = reuse_scopes.unwrap_or_else(|| Arc::new(resolve_scopes(state)));
        let access =
            reuse_access.unwrap_or_else(|| Arc::new(Access::of(state.context.rbac.clone())));
        context.set_access(AccessEvidence::Known(Arc::clone(&access.model)));
        Snapshot {
            context,
            policies: state.policies.clone(),
            workloads: Arc::clone(&state.workloads),
            scopes,
            access,
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

    /// The RBAC objects and their model, for reuse by the next snapshot and for RBAC reviews.
    pub fn access(&self) -> Arc<Access> {
        Arc::clone(&self.access)
    }

    /// Every namespace some policy selects, with its effective policy, by name.
    pub fn governed(&self) -> Vec<(&str, &EffectivePolicy)> {
        let mut governed: Vec<_> = self
            .scopes
            .iter()
            .filter_map(|(name, scope)| Some((name.as_str(), scope.as_deref()?)))
            .collect();
        governed.sort_unstable_by_key(|(name, _)| *name);
        governed
    }

    /// How many namespaces some policy selects.
    pub fn selected_namespaces(&self) -> usize {
        self.scopes.values().filter(|scope| scope.is_some()).count()
    }
}

/// Resolves every namespace's effective policy once per change of namespaces or policies.
fn resolve_scopes(state: &ClusterState) -> ScopeIndex {
    let mut scopes = HashMap::with_capacity(state.context.namespaces.len());
    for ns in &state.context.namespaces {
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
