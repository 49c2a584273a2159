//! The one context of the HipaaPolicy controller: what every reconcile reads and writes through
//! (the client, the watch caches, metrics, the Event sink, the AWS provider), how the controller
//! runs, and what it remembers about each policy during one leadership term.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hipaa_crds::{HipaaPolicy, HipaaPolicyStatus};
use kube::runtime::reflector::{self, Store};
use kube::{Client, ResourceExt};
use tokio::sync::{OwnedMutexGuard, broadcast};

use crate::aws::AwsSnapshots;
use crate::decide::access_events::AccessBaseline;
use crate::decide::events::ReportedViolations;
use crate::decide::reuse::EvaluationCache;
use crate::history::HistoryWriter;
use crate::metrics::Metrics;
use crate::observe::stores::Stores;
use crate::observe::triggers::{Change, ScopeMemory};
use crate::reports::plan::ReportMemory;
use crate::reports::write::ReportWriter;
use crate::write::events::EventSink;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerSettings {
    /// Quiet time after the last change before a policy is re-audited.
    pub debounce: Duration,
    /// Policies reconciled at once.
    pub concurrency: u16,
    /// Only policies with these labels (a label selector), e.g. to shard policies between
    /// operator deployments.
    pub policy_selector: Option<String>,
}

/// What the operator remembers about one policy while it leads.
#[derive(Default)]
pub struct PolicyMemory {
    /// The violations already reported with an Event.
    pub reported: ReportedViolations,
    /// The last status written, newer than the cache for a moment after each write.
    pub last_written: Option<HipaaPolicyStatus>,
    /// Consecutive failed reconciles, for the backoff.
    pub failures: u32,
    /// The evaluations of the last audit, reused for unchanged objects.
    pub evaluations: EvaluationCache,
    /// The accesses in the policy's namespaces at its last audit, for access Events.
    pub access: AccessBaseline,
    /// What the policy's PolicyReports hold, so that only changed ones are written.
    pub reports: ReportMemory,
}

impl PolicyMemory {
    /// The freshest status known: the cache's, or the one just written if the cache lags.
    pub fn previous_status(&self, policy: &HipaaPolicy) -> Option<HipaaPolicyStatus> {
        match (&policy.status, &self.last_written) {
            (Some(cached), Some(written)) => {
                let newer = (
                    written.observed_generation,
                    written.last_audit_time.as_ref(),
                ) > (cached.observed_generation, cached.last_audit_time.as_ref());
                let freshest = if newer { written } else { cached };
                Some(freshest.clone())
            }
            (cached, written) => cached.clone().or_else(|| written.clone()),
        }
    }
}

/// A policy's memory behind its own lock. An async lock: a reconcile holds it across the API
/// calls of the write step, and the controller never runs two reconciles of one policy at once,
/// so taking it never waits.
type Slot = Arc<tokio::sync::Mutex<PolicyMemory>>;

/// Everything the controller and its reconciles share. The clients, caches and metrics live as
/// long as the process; the policy cache and the memories belong to one leadership term
/// ([`Context::for_term`]), so that a new leader starts from what the cluster says.
pub struct Context {
    pub client: Client,
    pub stores: Stores,
    pub metrics: Arc<Metrics>,
    pub events: Arc<EventSink>,
    pub aws: Arc<dyn AwsSnapshots>,
    /// Writes the policies' PolicyReports.
    pub reports: Arc<ReportWriter>,
    /// The namespaces each policy governed at its last audit, to re-queue it on their changes.
    pub scopes: Arc<ScopeMemory>,
    /// Cluster changes, announced by the watch caches.
    pub changes: broadcast::Sender<Change>,
    pub settings: ControllerSettings,
    /// The term's own cache of HipaaPolicies (to forget deleted ones); empty outside a term.
    pub policies: Store<HipaaPolicy>,
    /// The evidence history's writer, when `--history-s3-uri` is set.
    pub history: Option<Arc<HistoryWriter>>,
    memories: Mutex<HashMap<String, Slot>>,
}

impl Context {
    /// The process-wide context, outside any leadership term.
    pub fn new(
        client: Client,
        stores: Stores,
        metrics: Arc<Metrics>,
        events: Arc<EventSink>,
        aws: Arc<dyn AwsSnapshots>,
        changes: broadcast::Sender<Change>,
        settings: ControllerSettings,
    ) -> Self {
        // Writing none until `with_reports` (the reconcile unit tests write none).
        let reports = Arc::new(ReportWriter::new(client.clone(), false));
        Context {
            client,
            stores,
            metrics,
            events,
            aws,
            reports,
            scopes: Arc::new(ScopeMemory::default()),
            changes,
            settings,
            policies: reflector::store().0,
            history: None,
            memories: Mutex::new(HashMap::new()),
        }
    }

    /// The same context writing PolicyReports with `reports`.
    pub fn with_reports(self, reports: Arc<ReportWriter>) -> Self {
        Context { reports, ..self }
    }

    /// The context with the evidence history written by `writer`.
    pub fn with_history(self, writer: Arc<HistoryWriter>) -> Self {
        Context {
            history: Some(writer),
            ..self
        }
    }

    /// The context of one leadership term: the same clients, caches and metrics, the term's
    /// policy cache, and nothing remembered yet.
    pub fn for_term(&self, policies: Store<HipaaPolicy>) -> Self {
        // A deleted policy is never reconciled again: the scrape drops its series.
        self.metrics.track_policies(policies.clone());
        // Another replica may have appended to the chains while this one stood by.
        if let Some(history) = &self.history {
            history.new_term();
        }
        Context {
            client: self.client.clone(),
            stores: self.stores.clone(),
            metrics: self.metrics.clone(),
            events: self.events.clone(),
            aws: self.aws.clone(),
            reports: self.reports.clone(),
            scopes: self.scopes.clone(),
            changes: self.changes.clone(),
            settings: self.settings.clone(),
            policies,
            history: self.history.clone(),
            memories: Mutex::new(HashMap::new()),
        }
    }

    /// The memory of `policy`, locked for one whole reconcile: the one place a reconcile takes
    /// it. Policies that no longer exist are forgotten on the way (their memories, scopes and
    /// metric series).
    pub async fn lock_memory(&self, policy: &str) -> OwnedMutexGuard<PolicyMemory> {
        let existing: HashSet<String> =
            self.policies.state().iter().map(|p| p.name_any()).collect();
        self.metrics.retain_policies(&existing);
        self.scopes.retain(&existing);
        let slot = {
            let mut memories = self.memories();
            memories.retain(|name, _| existing.contains(name));
            memories.entry(policy.to_string()).or_default().clone()
        };
        slot.lock_owned().await
    }

    /// Consecutive failed reconciles of `policy`, read after its reconcile released its
    /// memory (0 for a policy not remembered).
    pub fn failures(&self, policy: &str) -> u32 {
        let slot = self.memories().get(policy).cloned();
        slot.and_then(|slot| slot.try_lock().ok().map(|memory| memory.failures))
            .unwrap_or(0)
    }

    fn memories(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        self.memories
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::time::to_k8s_time;
    use chrono::{DateTime, Utc};

    fn status(generation: i64, audited: &str) -> HipaaPolicyStatus {
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(audited).unwrap().to_utc();
        HipaaPolicyStatus {
            observed_generation: Some(generation),
            last_audit_time: Some(to_k8s_time(at)),
            ..Default::default()
        }
    }

    fn policy(status: Option<HipaaPolicyStatus>) -> HipaaPolicy {
        let mut policy: HipaaPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "hipaaguard.io/v1alpha1",
            "kind": "HipaaPolicy",
            "metadata": {"name": "p", "generation": 2},
            "spec": {"namespaceSelector": {"matchLabels": {"phi": "true"}}},
        }))
        .unwrap();
        policy.status = status;
        policy
    }

    #[test]
    fn the_status_just_written_wins_while_the_cache_lags() {
        let older = status(2, "2026-01-01T00:00:00Z");
        let newer = status(2, "2026-01-01T00:10:00Z");
        let memory = PolicyMemory {
            last_written: Some(newer.clone()),
            ..Default::default()
        };
        assert_eq!(
            memory.previous_status(&policy(Some(older.clone()))),
            Some(newer.clone())
        );
        assert_eq!(memory.previous_status(&policy(None)), Some(newer.clone()));
        // Once the cache has caught up (or holds a newer generation), the cache is the truth.
        let caught_up = status(3, "2026-01-01T00:00:00Z");
        assert_eq!(
            memory.previous_status(&policy(Some(caught_up.clone()))),
            Some(caught_up)
        );
        assert_eq!(
            PolicyMemory::default().previous_status(&policy(Some(older.clone()))),
            Some(older)
        );
    }
}
