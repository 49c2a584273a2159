//! How many workloads each namespace holds, per kind that runs pods (the kind table's
//! `webhook_counts` rows): what HIPAA-K8S-PHI-SCOPE needs to know when a Namespace's labels
//! change. Fed by metadata-only watches (`caches::workloads`); only object names are kept, per
//! namespace and kind, so that an update seen twice or a delete is counted right.
//!
//! The one live part of a [`crate::Snapshot`]: updated in place under a lock per kind, so that pod
//! churn never rebuilds the snapshot; only Namespace reviews, which are rare, read it.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use hipaa_controls::object::{KINDS, ObjectKind};

/// Names of one kind's objects, by namespace.
type Names = HashMap<String, HashSet<String>>;

/// One kind's objects: the current names, and the names of a relist under way (which replace the
/// current ones when the relist is complete).
#[derive(Debug, Default)]
struct KindNames {
    current: Names,
    relisting: Option<Names>,
    total: usize,
}

impl KindNames {
    fn insert(names: &mut Names, namespace: &str, name: &str) -> bool {
        match names.get_mut(namespace) {
            Some(set) => set.insert(name.to_owned()),
            None => {
                names.insert(namespace.to_owned(), HashSet::from([name.to_owned()]));
                true
            }
        }
    }
}

/// Workloads per namespace, for every counted kind.
#[derive(Debug)]
pub struct WorkloadIndex {
    kinds: Vec<(ObjectKind, Mutex<KindNames>)>,
}

impl Default for WorkloadIndex {
    fn default() -> Self {
        WorkloadIndex::new()
    }
}

impl WorkloadIndex {
    /// An empty index of the kinds the table says the webhook counts.
    pub fn new() -> Self {
        let kinds = KINDS
            .iter()
            .filter(|row| row.webhook_counts)
            .filter_map(|row| row.object)
            .map(|kind| (kind, Mutex::new(KindNames::default())))
            .collect();
        WorkloadIndex { kinds }
    }

    /// The kinds counted, in the table's order.
    pub fn kinds(&self) -> impl Iterator<Item = ObjectKind> + '_ {
        self.kinds.iter().map(|(kind, _)| *kind)
    }

    fn names(&self, kind: ObjectKind) -> Option<MutexGuard<'_, KindNames>> {
        let (_, names) = self.kinds.iter().find(|(k, _)| *k == kind)?;
        // A panic while counting leaves the names usable: each operation is one insert or remove.
        Some(names.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// An object was created or changed (watch `Apply`).
    pub fn apply(&self, kind: ObjectKind, namespace: &str, name: &str) {
        if let Some(mut names) = self.names(kind)
            && KindNames::insert(&mut names.current, namespace, name)
        {
            names.total += 1;
        }
    }

    /// An object was deleted (watch `Delete`).
    pub fn delete(&self, kind: ObjectKind, namespace: &str, name: &str) {
        let Some(mut names) = self.names(kind) else {
            return;
        };
        let Some(set) = names.current.get_mut(namespace) else {
            return;
        };
        let removed = set.remove(name);
        if set.is_empty() {
            names.current.remove(namespace);
        }
        if removed {
            names.total = names.total.saturating_sub(1);
        }
    }

    /// The watch lists the kind again (watch `Init`): the names listed next replace the current
    /// ones once the list is complete; until then the current ones keep answering.
    pub fn relist_started(&self, kind: ObjectKind) {
        if let Some(mut names) = self.names(kind) {
            names.relisting = Some(Names::new());
        }
    }

    /// One object of the list under way (watch `InitApply`).
    pub fn relisted(&self, kind: ObjectKind, namespace: &str, name: &str) {
        if let Some(mut names) = self.names(kind) {
            let relisting = names.relisting.get_or_insert_with(Names::new);
            KindNames::insert(relisting, namespace, name);
        }
    }

    /// The list is complete (watch `InitDone`): it replaces the current names.
    pub fn relist_done(&self, kind: ObjectKind) {
        if let Some(mut names) = self.names(kind) {
            let listed = names.relisting.take().unwrap_or_default();
            names.total = listed.values().map(HashSet::len).sum();
            names.current = listed;
        }
    }

    /// What `namespace` holds: each counted kind with a non-zero count, in the table's order.
    pub fn held(&self, namespace: &str) -> Vec<(&'static str, usize)> {
        self.kinds
            .iter()
            .filter_map(|(kind, names)| {
                let names = names.lock().unwrap_or_else(PoisonError::into_inner);
                let count = names.current.get(namespace).map_or(0, HashSet::len);
                (count > 0).then_some((kind.as_str(), count))
            })
            .collect()
    }

    /// How many objects of `kind` are counted, in every namespace.
    pub fn total(&self, kind: ObjectKind) -> usize {
        self.names(kind).map_or(0, |names| names.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_kinds_that_run_pods_by_namespace() {
        let index = WorkloadIndex::new();
        assert_eq!(
            index.kinds().collect::<Vec<_>>(),
            [
                ObjectKind::Pod,
                ObjectKind::Deployment,
                ObjectKind::StatefulSet,
                ObjectKind::DaemonSet,
                ObjectKind::ReplicaSet,
                ObjectKind::Job,
                ObjectKind::CronJob
            ]
        );
        index.apply(ObjectKind::Deployment, "billing", "api");
        index.apply(ObjectKind::Deployment, "billing", "api"); // an update: the same object
        index.apply(ObjectKind::Pod, "billing", "api-1");
        index.apply(ObjectKind::Pod, "billing", "api-2");
        index.apply(ObjectKind::Pod, "claims", "batch");
        index.apply(ObjectKind::Service, "billing", "api"); // not counted
        assert_eq!(index.held("billing"), [("Pod", 2), ("Deployment", 1)]);
        assert_eq!(index.total(ObjectKind::Pod), 3);
        index.delete(ObjectKind::Deployment, "billing", "api");
        index.delete(ObjectKind::Deployment, "billing", "api"); // seen twice
        index.delete(ObjectKind::Pod, "billing", "api-1");
        index.delete(ObjectKind::Pod, "billing", "api-2");
        assert_eq!(index.held("billing"), []);
        assert_eq!(index.held("nowhere"), []);
        assert_eq!(index.total(ObjectKind::Pod), 1);
        assert_eq!(index.total(ObjectKind::Deployment), 0);
    }

    #[test]
    fn a_relist_replaces_the_names_once_complete() {
        let index = WorkloadIndex::new();
        index.apply(ObjectKind::Job, "billing", "gone-while-disconnected");
        index.relist_started(ObjectKind::Job);
        index.relisted(ObjectKind::Job, "claims", "nightly");
        assert_eq!(
            index.held("billing"),
            [("Job", 1)],
            "the old names answer until the list is complete"
        );
        index.relist_done(ObjectKind::Job);
        assert_eq!(index.held("billing"), []);
        assert_eq!(index.held("claims"), [("Job", 1)]);
        assert_eq!(index.total(ObjectKind::Job), 1);
    }
}
