//! One reconcile of one HipaaPolicy: observe the caches, decide the status (pure), then write
//! what changed — the status patch, Events, metrics — and say when to audit again. Transient
//! failures back off exponentially per policy; an invalid spec waits for a change.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use hipaa_crds::{HipaaPolicy, HipaaPolicyStatus};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Api, Client, Resource, ResourceExt};

use crate::aws::{AwsRequest, AwsSnapshots};
use crate::decide::events::{ReportedViolations, ViolationKey, policy_events};
use crate::decide::reuse::EvaluationCache;
use crate::decide::schedule::{Write, decide_write, next_audit_in};
use crate::decide::{AuditInput, Reuse, audit_reusing};
use crate::metrics::Metrics;
use crate::observe::stores::Stores;
use crate::observe::triggers::ScopeMemory;
use crate::observe::{Inventory, observe};
use crate::write::events::{EventSink, ViolationEvent};
use crate::write::status::apply_status;

/// The first retry after a failure, doubled per consecutive failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Why a reconcile failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("writing the status of HipaaPolicy {name}: {source}")]
    StatusWrite { name: String, source: kube::Error },
    #[error("auditing HipaaPolicy {name} stopped: {source}")]
    Audit {
        name: String,
        source: tokio::task::JoinError,
    },
}

impl ReconcileError {
    /// A short label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::StatusWrite { .. } => "status_write",
            ReconcileError::Audit { .. } => "audit",
        }
    }
}

/// What the operator remembers about one policy while it leads.
#[derive(Default)]
struct PolicyMemory {
    reported: ReportedViolations,
    /// The last status written, newer than the cache for a moment after each write.
    last_written: Option<HipaaPolicyStatus>,
    failures: u32,
    /// The evaluations of the last audit, reused for unchanged objects.
    evaluations: EvaluationCache,
}

/// Everything a reconcile reads and writes through. One per leadership term.
pub struct Context {
    pub client: Client,
    pub stores: Stores,
    /// The controller's own cache of HipaaPolicies (to forget deleted ones).
    pub policies: Store<HipaaPolicy>,
    pub metrics: Arc<Metrics>,
    pub events: Arc<EventSink>,
    pub aws: Arc<dyn AwsSnapshots>,
    pub scopes: Arc<ScopeMemory>,
    memory: Mutex<HashMap<String, PolicyMemory>>,
}

impl Context {
    pub fn new(
        client: Client,
        stores: Stores,
        policies: Store<HipaaPolicy>,
        metrics: Arc<Metrics>,
        events: Arc<EventSink>,
        aws: Arc<dyn AwsSnapshots>,
        scopes: Arc<ScopeMemory>,
    ) -> Self {
        Context {
            client,
            stores,
            policies,
            metrics,
            events,
            aws,
            scopes,
            memory: Mutex::new(HashMap::new()),
        }
    }

    fn memory(&self) -> MutexGuard<'_, HashMap<String, PolicyMemory>> {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The freshest status known: the cache's, or the one just written if the cache lags.
    fn previous_status(&self, policy: &HipaaPolicy) -> Option<HipaaPolicyStatus> {
        let cached = policy.status.clone();
        let written = self
            .memory()
            .get(&policy.name_any())
            .and_then(|m| m.last_written.clone());
        match (cached, written) {
            (Some(cached), Some(written)) => {
                let newer = (
                    written.observed_generation,
                    written.last_audit_time.as_ref(),
                ) > (cached.observed_generation, cached.last_audit_time.as_ref());
                Some(if newer { written } else { cached })
            }
            (cached, written) => cached.or(written),
        }
    }

    /// Forgets metrics, scopes and memories of policies that no longer exist.
    fn forget_deleted(&self) {
        let existing: HashSet<String> =
            self.policies.state().iter().map(|p| p.name_any()).collect();
        self.metrics.retain_policies(&existing);
        self.scopes.retain(&existing);
        self.memory().retain(|name, _| existing.contains(name));
    }
}

/// Reconciles one policy.
pub async fn reconcile(
    policy: Arc<HipaaPolicy>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let started = Instant::now();
    ctx.metrics.reconcile_started(&name);
    let result = reconcile_inner(&policy, &ctx).await;
    ctx.metrics.reconcile_finished(started.elapsed());
    {
        let mut memory = ctx.memory();
        let entry = memory.entry(name).or_default();
        entry.failures = if result.is_ok() {
            0
        } else {
            entry.failures.saturating_add(1)
        };
    }
    ctx.forget_deleted();
    result
}

async fn reconcile_inner(
    policy: &Arc<HipaaPolicy>,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let now = Utc::now();

    // Observe.
    let inventory = Inventory::from_stores(&ctx.stores);
    let observation = observe(&inventory, policy);
    let context = inventory.cluster_context();
    let previous = ctx.previous_status(policy);
    let snapshot = match &policy.spec.aws {
        Some(_) => {
            ctx.aws
                .snapshot(AwsRequest {
                    policy,
                    observation: &observation,
                    now,
                })
                .await
        }
        None => None,
    };

    // Decide: CPU-bound (a large scope takes a good part of a second when nothing can be
    // reused), so off the runtime's worker threads.
    let mut cache = std::mem::take(&mut ctx.memory().entry(name.clone()).or_default().evaluations);
    let decided = {
        let (policy, previous) = (policy.clone(), previous.clone());
        tokio::task::spawn_blocking(move || {
            let fingerprints = inventory.fingerprints();
            let audit = audit_reusing(
                AuditInput {
                    policy: &policy,
                    context: &context,
                    observation: &observation,
                    aws: snapshot.as_deref(),
                    previous: previous.as_ref(),
                    now,
                },
                Some(Reuse {
                    fingerprints: &fingerprints,
                    cache: &mut cache,
                }),
            );
            (audit, observation, cache)
        })
        .await
    };
    let (audit, observation, cache) = decided.map_err(|source| ReconcileError::Audit {
        name: name.clone(),
        source,
    })?;
    ctx.memory().entry(name.clone()).or_default().evaluations = cache;
    let write = decide_write(previous.as_ref(), &audit.status, audit.interval, now);
    tracing::debug!(
        policy = %name,
        namespaces = observation.scope.len(),
        objects = observation.objects.len(),
        reused = audit.reused,
        ?write,
        "audited"
    );

    // Write.
    if write != Write::Unchanged {
        let api: Api<HipaaPolicy> = Api::all(ctx.client.clone());
        match apply_status(&api, &name, &audit.status).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Ok(Action::await_change());
            }
            Err(source) => return Err(ReconcileError::StatusWrite { name, source }),
        }
        ctx.metrics.status_written(&name);
        ctx.memory().entry(name.clone()).or_default().last_written = Some(audit.status.clone());
        tracing::info!(
            policy = %name,
            reason = ?write,
            violations = audit.status.summary.as_ref().map(|s| s.violations),
            score = audit.status.summary.as_ref().map(|s| s.score),
            "status written"
        );
    }
    if write == Write::Changed {
        let reference = policy.object_ref(&());
        for planned in policy_events(previous.as_ref(), &audit.status, &policy.spec.exceptions) {
            ctx.events.publish_policy_event(&reference, &planned).await;
        }
    }
    publish_violation_events(ctx, &name, &audit, &observation, previous.as_ref()).await;

    let summary = audit.status.summary.as_ref();
    ctx.metrics.set_audit(
        &name,
        summary.map(|s| s.score),
        summary.map(|s| s.resources_evaluated).unwrap_or(0),
        &audit.violation_counts(),
    );
    ctx.scopes.remember(
        &name,
        if audit.is_evaluated() {
            observation.scope.clone()
        } else {
            Default::default()
        },
    );

    Ok(match audit.interval {
        Some(interval) => {
            let in_force = if write == Write::Unchanged {
                previous.as_ref()
            } else {
                Some(&audit.status)
            };
            Action::requeue(next_audit_in(in_force, interval, now))
        }
        None => Action::await_change(),
    })
}

/// One Event per new violation on the offending object, deduplicated and rate-limited.
async fn publish_violation_events(
    ctx: &Context,
    name: &str,
    audit: &crate::decide::Audit,
    observation: &crate::observe::Observation,
    previous: Option<&HipaaPolicyStatus>,
) {
    let pending: Vec<(ViolationKey, String)> = {
        let mut memory = ctx.memory();
        let entry = memory.entry(name.to_string()).or_default();
        entry
            .reported
            .unreported(audit.violations(), previous)
            .into_iter()
            .map(|f| {
                (
                    ViolationKey::of(f),
                    format!("HipaaPolicy {name}: {}", f.denial_line()),
                )
            })
            .collect()
    };
    if pending.is_empty() {
        return;
    }
    let wanted: HashSet<_> = pending
        .iter()
        .map(|(key, _)| key.resource.clone())
        .collect();
    let references = observation.references(&wanted);
    let events: Vec<ViolationEvent> = pending
        .into_iter()
        .filter_map(|(key, note)| {
            let regarding = references.get(&key.resource)?.clone();
            Some(ViolationEvent {
                key,
                regarding,
                note,
            })
        })
        .collect();
    let published = ctx.events.publish_violations(events).await;
    let mut memory = ctx.memory();
    let entry = memory.entry(name.to_string()).or_default();
    for key in published {
        entry.reported.mark_reported(key);
    }
}

/// Retries a failed reconcile with exponential backoff per policy.
pub fn error_policy(policy: Arc<HipaaPolicy>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let name = policy.name_any();
    ctx.metrics.reconcile_failed(&name, error.metric_label());
    let failures = ctx.memory().get(&name).map(|m| m.failures).unwrap_or(1);
    let delay = backoff(failures);
    tracing::warn!(policy = %name, %error, failures, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// `FIRST_BACKOFF * 2^(failures-1)`, at most [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1_u32 << exponent)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
