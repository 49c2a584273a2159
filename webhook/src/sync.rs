//! Which watch caches have synced (listed their resource at least once), for `/readyz`,
//! the `cache_synced` metric and the snapshot's `synced` flag; and whether the webhook is
//! draining before it stops (`/readyz` fails first, so that endpoints move away from it); and
//! whether the serving certificate is still awaited (from a Secret, read after start); and how
//! long each cache has been out of sync since (readiness fails beyond `--cache-stale-after`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hipaa_controls::object::ObjectKind;
use hipaa_runtime::watch::{CacheFreshness, DEFAULT_STALE_AFTER};

/// The resources the webhook watches: its caches (policies and context), then the kinds it counts
/// per namespace (`crate::workloads`). Readiness waits for every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    HipaaPolicies,
    Namespaces,
    NetworkPolicies,
    StorageClasses,
    PersistentVolumeClaims,
    HorizontalPodAutoscalers,
    Roles,
    ClusterRoles,
    RoleBindings,
    ClusterRoleBindings,
    ServiceAccounts,
    Pods,
    Deployments,
    StatefulSets,
    DaemonSets,
    ReplicaSets,
    Jobs,
    CronJobs,
}

impl Resource {
    pub const ALL: [Resource; 18] = [
        Resource::HipaaPolicies,
        Resource::Namespaces,
        Resource::NetworkPolicies,
        Resource::StorageClasses,
        Resource::PersistentVolumeClaims,
        Resource::HorizontalPodAutoscalers,
        Resource::Roles,
        Resource::ClusterRoles,
        Resource::RoleBindings,
        Resource::ClusterRoleBindings,
        Resource::ServiceAccounts,
        Resource::Pods,
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::DaemonSets,
        Resource::ReplicaSets,
        Resource::Jobs,
        Resource::CronJobs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::HipaaPolicies => "hipaapolicies",
            Resource::Namespaces => "namespaces",
            Resource::NetworkPolicies => "networkpolicies",
            Resource::StorageClasses => "storageclasses",
            Resource::PersistentVolumeClaims => "persistentvolumeclaims",
            Resource::HorizontalPodAutoscalers => "horizontalpodautoscalers",
            Resource::Roles => "roles",
            Resource::ClusterRoles => "clusterroles",
            Resource::RoleBindings => "rolebindings",
            Resource::ClusterRoleBindings => "clusterrolebindings",
            Resource::ServiceAccounts => "serviceaccounts",
            Resource::Pods => "pods",
            Resource::Deployments => "deployments",
            Resource::StatefulSets => "statefulsets",
            Resource::DaemonSets => "daemonsets",
            Resource::ReplicaSets => "replicasets",
            Resource::Jobs => "jobs",
            Resource::CronJobs => "cronjobs",
        }
    }

    /// The resource of a kind the webhook counts per namespace.
    pub fn counted(kind: ObjectKind) -> Option<Resource> {
        match kind {
            ObjectKind::Pod => Some(Resource::Pods),
            ObjectKind::Deployment => Some(Resource::Deployments),
            ObjectKind::StatefulSet => Some(Resource::StatefulSets),
            ObjectKind::DaemonSet => Some(Resource::DaemonSets),
            ObjectKind::ReplicaSet => Some(Resource::ReplicaSets),
            ObjectKind::Job => Some(Resource::Jobs),
            ObjectKind::CronJob => Some(Resource::CronJobs),
            _ => None,
        }
    }

    /// Whether the access model is built from it (a change rebuilds the model).
    pub fn is_rbac(self) -> bool {
        matches!(
            self,
            Resource::Roles
                | Resource::ClusterRoles
                | Resource::RoleBindings
                | Resource::ClusterRoleBindings
                | Resource::ServiceAccounts
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One flag per watched resource.
#[derive(Debug, Default)]
pub struct SyncState {
    synced: [AtomicBool; Resource::ALL.len()],
    draining: AtomicBool,
    /// Set while the serving certificate has not been loaded (only a Secret source sets it).
    certificate_pending: AtomicBool,
    /// Since when each watch's cache has been out of sync.
    freshness: Arc<CacheFreshness>,
    stale_after: StaleAfter,
}

/// How long a cache may be out of sync before readiness fails.
#[derive(Debug)]
struct StaleAfter(Duration);

impl Default for StaleAfter {
    fn default() -> Self {
        StaleAfter(DEFAULT_STALE_AFTER)
    }
}

impl SyncState {
    pub fn new() -> Self {
        SyncState::default()
    }

    /// A state whose readiness fails once a cache has been out of sync for longer than `bound`.
    pub fn with_stale_after(bound: Duration) -> Self {
        SyncState {
            stale_after: StaleAfter(bound),
            ..SyncState::default()
        }
    }

    /// Every watch's freshness (the watches record into it; `/metrics` exports it).
    pub fn freshness(&self) -> &Arc<CacheFreshness> {
        &self.freshness
    }

    /// `Err` naming the caches out of sync for longer than the bound.
    pub fn staleness(&self) -> Result<(), String> {
        self.freshness.readiness(self.stale_after.0, Instant::now())
    }

    /// Every resource already synced (fixed snapshots in tests and benchmarks).
    pub fn all_synced() -> Self {
        let state = SyncState::new();
        for resource in Resource::ALL {
            state.mark_synced(resource);
        }
        state
    }

    pub fn mark_synced(&self, resource: Resource) {
        if let Some(flag) = self.synced.get(resource.index()) {
            flag.store(true, Ordering::Release);
        }
    }

    pub fn is_synced(&self, resource: Resource) -> bool {
        self.synced
            .get(resource.index())
            .is_some_and(|flag| flag.load(Ordering::Acquire))
    }

    pub fn all(&self) -> bool {
        Resource::ALL.iter().all(|r| self.is_synced(*r))
    }

    /// From now on `/readyz` fails: the webhook is shutting down and still answers reviews until
    /// the API server and kube-proxy have stopped sending them here.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// `/readyz` fails until [`SyncState::certificate_loaded`]: the certificate comes later.
    pub fn await_certificate(&self) {
        self.certificate_pending.store(true, Ordering::Release);
    }

    pub fn certificate_loaded(&self) {
        self.certificate_pending.store(false, Ordering::Release);
    }

    pub fn is_certificate_pending(&self) -> bool {
        self.certificate_pending.load(Ordering::Acquire)
    }

    /// The resources still waiting for their first list.
    pub fn unsynced(&self) -> Vec<&'static str> {
        Resource::ALL
            .iter()
            .filter(|r| !self.is_synced(**r))
            .map(|r| r.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Resource;
    use hipaa_controls::object::{KINDS, ObjectKind};

    /// The caches the webhook keeps are the kind table's `webhook_watches` rows, plus the
    /// policies themselves; the kinds it counts are its `webhook_counts` rows.
    #[test]
    fn the_webhook_watches_what_the_kind_table_says() {
        let mut watched: Vec<_> = Resource::ALL
            .into_iter()
            .filter(|r| *r != Resource::HipaaPolicies)
            .map(Resource::as_str)
            .collect();
        let mut table: Vec<_> = KINDS
            .iter()
            .filter(|row| row.webhook_watches || row.webhook_counts)
            .map(|row| row.plural)
            .collect();
        watched.sort_unstable();
        table.sort_unstable();
        assert_eq!(watched, table);
        for row in KINDS.iter().filter(|row| row.webhook_counts) {
            let kind = row.object.unwrap();
            assert_eq!(Resource::counted(kind).unwrap().as_str(), row.plural);
        }
        assert_eq!(Resource::counted(ObjectKind::Namespace), None);
    }
}
