//! One reconcile of one HipaaPolicy: observe the caches, decide the status and the access Events
//! (pure), then write what changed — the status patch, Events, metrics — and say when to audit
//! again. Transient
//! failures back off exponentially per policy, with jitter; an invalid spec, or a policy deleted
//! while it was audited, waits for a change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use tracing::instrument;

use crate::aws::AwsRequest;
use crate::context::{Context, PolicyMemory};
use crate::decide::events::policy_events;
use crate::decide::schedule::{Write, decide_write, next_audit_in};
use crate::decide::{Audit, AuditInput, Reuse, audit_reusing};
use crate::observe::{Inventory, Observation, observe};
use crate::reports::build::{ReportOwner, partition};
use crate::reports::write::Written;
use crate::write::status::apply_status;
use crate::write::violation_events::{AuditedViolations, Reported, report_new_violations};

/// The first retry after a failure, doubled per consecutive failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The largest part of a retry delay that jitter takes off, so that policies failing together
/// (an API server outage) do not all retry at the same instant.
const JITTER: f64 = 0.25;

/// Why a reconcile failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("writing the status of HipaaPolicy {name}: {source}")]
    StatusWrite { name: String, source: kube::Error },
    #[error("writing the PolicyReports of HipaaPolicy {name}: {source}")]
    ReportWrite {
        name: String,
        source: crate::reports::write::ReportError,
    },
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
            ReconcileError::ReportWrite { .. } => "report_write",
            ReconcileError::Audit { .. } => "audit",
        }
    }
}

/// Reconciles one policy, holding its memory for the whole reconcile.
#[instrument(skip_all, fields(policy = %policy.name_any()))]
pub async fn reconcile(
    policy: Arc<HipaaPolicy>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let started = Instant::now();
    ctx.metrics.reconcile_started(&name);
    let mut memory = ctx.lock_memory(&name).await;
    let result = reconcile_inner(&policy, &ctx, &mut memory).await;
    memory.failures = match &result {
        Ok(_) => 0,
        Err(_) => memory.failures.saturating_add(1),
    };
    ctx.metrics.reconcile_finished(started.elapsed());
    result
}

async fn reconcile_inner(
    policy: &Arc<HipaaPolicy>,
    ctx: &Context,
    memory: &mut PolicyMemory,
) -> Result<Action, ReconcileError> {
    let name = policy.name_any();
    let now = Utc::now();

    // Observe.
    let inventory = Inventory::from_stores(&ctx.stores);
    let observation = observe(&inventory, policy);
    let context = inventory.cluster_context();
    let previous = memory.previous_status(policy);
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

    let aws_evidence = snapshot.clone();
    // Decide: CPU-bound (a large scope takes a good part of a second when nothing can be
    // reused), so off the runtime's worker threads.
    let mut cache = std::mem::take(&mut memory.evaluations);
    let mut access = std::mem::take(&mut memory.access);
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
            // Access Events compare the namespaces' grants with the last audit's, only when
            // RBAC or the scope moved.
            let access_events = if audit.is_evaluated() {
                access.advance(
                    &inventory.access,
                    inventory.access_version,
                    &observation.scope,
                    &EffectivePolicy::of_policy(&policy),
                )
            } else {
                Vec::new()
            };
            (audit, observation, cache, access, access_events)
        })
        .await
    };
    let (audit, observation, cache, access, access_events) =
        decided.map_err(|source| ReconcileError::Audit {
            name: name.clone(),
            source,
        })?;
    memory.evaluations = cache;
    memory.access = access;
    let write = decide_write(previous.as_ref(), &audit.status, audit.interval, now);
    tracing::debug!(
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
            // Deleted while it was audited: nothing to report on; its deletion (or re-creation)
            // is the next change, so neither an error nor a requeue.
            Err(kube::Error::Api(status)) if status.code == 404 => {
                tracing::debug!("the policy is gone; not written");
                return Ok(Action::await_change());
            }
            Err(source) => return Err(ReconcileError::StatusWrite { name, source }),
        }
        ctx.metrics.status_written(&name);
        memory.last_written = Some(audit.status.clone());
        tracing::info!(
            policy = %name,
            reason = ?write,
            violations = audit.status.summary.as_ref().map(|s| s.violations),
            score = audit.status.summary.as_ref().map(|s| s.score),
            "status written"
        );
    }
    // The gauges follow the status as soon as it is written, before the Events (publishing
    // them can take a while): a scrape never lags the status by more than this audit.
    let summary = audit.status.summary.as_ref();
    ctx.metrics.set_audit(
        &name,
        summary.map(|s| s.score),
        summary.map(|s| s.resources_evaluated).unwrap_or(0),
        &audit.violation_counts(),
    );
    if write == Write::Changed {
        let reference = policy.object_ref(&());
        for planned in policy_events(previous.as_ref(), &audit.status, &policy.spec.exceptions) {
            ctx.events.publish_policy_event(&reference, &planned).await;
        }
    }
    if !access_events.is_empty() {
        let reference = policy.object_ref(&());
        for planned in &access_events {
            ctx.events.publish_access_event(&reference, planned).await;
        }
    }
    let reported = report_new_violations(
        &ctx.events,
        &mut memory.reported,
        AuditedViolations {
            policy: &name,
            audit: &audit,
            observation: &observation,
            previous: previous.as_ref(),
        },
    )
    .await;
    if reported != Reported::default() {
        tracing::debug!(?reported, "violation Events");
    }

    // The evidence history: a failed write is retried at the next audit, never fails this one.
    if let Some(history) = &ctx.history {
        history
            .record(policy, &audit, aws_evidence.as_deref(), now)
            .await;
    }

    ctx.scopes.remember(
        &name,
        if audit.is_evaluated() {
            observation.scope.clone()
        } else {
            Default::default()
        },
    );

    // Last: a failed report write retries the reconcile, which by then has written the rest.
    if audit.is_evaluated() {
        write_reports(policy, ctx, memory, &audit, &observation, now).await?;
    }

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

/// Brings the policy's PolicyReports in step with the audit (an invalid spec keeps the last).
async fn write_reports(
    policy: &HipaaPolicy,
    ctx: &Context,
    memory: &mut PolicyMemory,
    audit: &Audit,
    observation: &Observation,
    now: DateTime<Utc>,
) -> Result<(), ReconcileError> {
    let name = policy.name_any();
    let uid = policy.uid().unwrap_or_default();
    let owner = ReportOwner {
        policy: &name,
        uid: &uid,
    };
    let parts = partition(owner, &audit.evaluations, &observation.scope);
    let written = ctx
        .reports
        .write(&mut memory.reports, owner, &parts, now)
        .await
        .map_err(|source| ReconcileError::ReportWrite {
            name: name.clone(),
            source,
        })?;
    if written != Written::default() {
        tracing::debug!(
            applied = written.applied,
            deleted = written.deleted,
            "reports written"
        );
    }
    Ok(())
}

/// Retries a failed reconcile with exponential backoff per policy, jittered.
pub fn error_policy(policy: Arc<HipaaPolicy>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let name = policy.name_any();
    ctx.metrics.reconcile_failed(&name, error.metric_label());
    // At least one: the controller asks only after a failure.
    let failures = ctx.failures(&name).max(1);
    let delay = retry_delay(failures, random_unit());
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

/// The [`backoff`] less a random part of up to [`JITTER`] of it; `unit` is a draw from [0, 1).
pub fn retry_delay(failures: u32, unit: f64) -> Duration {
    backoff(failures).mul_f64(1.0 - JITTER * unit.clamp(0.0, 1.0))
}

/// A uniform draw from [0, 1). Each `RandomState` is keyed afresh, which is all the randomness
/// a retry delay needs, without a random number crate.
fn random_unit() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    // The top 53 bits, as many as an f64 holds exactly.
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
