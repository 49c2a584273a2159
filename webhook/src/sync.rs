//! Which watch caches have synced (listed their resource at least once), for `/readyz`,
//! the `cache_synced` metric and the snapshot's `synced` flag; and whether the webhook is
//! draining before it stops (`/readyz` fails first, so that endpoints move away from it); and
//! whether the serving certificate is still awaited (from a Secret, read after start).

use std::sync::atomic::{AtomicBool, Ordering};

/// The resources the webhook watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    HipaaPolicies,
    Namespaces,
    NetworkPolicies,
    StorageClasses,
    PersistentVolumeClaims,
    HorizontalPodAutoscalers,
}

impl Resource {
    pub const ALL: [Resource; 6] = [
        Resource::HipaaPolicies,
        Resource::Namespaces,
        Resource::NetworkPolicies,
        Resource::StorageClasses,
        Resource::PersistentVolumeClaims,
        Resource::HorizontalPodAutoscalers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::HipaaPolicies => "hipaapolicies",
            Resource::Namespaces => "namespaces",
            Resource::NetworkPolicies => "networkpolicies",
            Resource::StorageClasses => "storageclasses",
            Resource::PersistentVolumeClaims => "persistentvolumeclaims",
            Resource::HorizontalPodAutoscalers => "horizontalpodautoscalers",
        }
    }

    fn index(self) -> usize {
        match self {
            Resource::HipaaPolicies => 0,
            Resource::Namespaces => 1,
            Resource::NetworkPolicies => 2,
            Resource::StorageClasses => 3,
            Resource::PersistentVolumeClaims => 4,
            Resource::HorizontalPodAutoscalers => 5,
        }
    }
}

/// One flag per watched resource.
#[derive(Debug, Default)]
pub struct SyncState {
    synced: [AtomicBool; 6],
    draining: AtomicBool,
    /// Set while the serving certificate has not been loaded (only a Secret source sets it).
    certificate_pending: AtomicBool,
}

impl SyncState {
    pub fn new() -> Self {
        SyncState::default()
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
    use super::Resource;
    use hipaa_controls::object::KINDS;

    /// The caches the webhook keeps are the kind table's `webhook_watches` rows, plus the
    /// policies themselves.
    #[test]
    fn the_webhook_watches_what_the_kind_table_says() {
        let mut watched: Vec<_> = Resource::ALL
            .into_iter()
            .filter(|r| *r != Resource::HipaaPolicies)
            .map(Resource::as_str)
            .collect();
        let mut table: Vec<_> = KINDS
            .iter()
            .filter(|row| row.webhook_watches)
            .map(|row| row.plural)
            .collect();
        watched.sort_unstable();
        table.sort_unstable();
        assert_eq!(watched, table);
    }
}
