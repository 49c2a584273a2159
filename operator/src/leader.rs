//! Leader election over a `coordination.k8s.io/v1` Lease: acquire it when free or expired, renew it
//! while leading, step down when renewals fail past the deadline, and release it on shutdown so
//! that a standby replica takes over at once.
//!
//! Expiry is judged two ways, whichever comes first: the holder's `renewTime` plus the lease
//! duration has passed on our clock, or we have watched the same record stay unchanged for a
//! whole lease duration (which protects against a skewed clock in the other direction).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;

use crate::time::{from_timestamp, to_micro_time};

/// How this replica takes part in the election.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    pub name: String,
    pub namespace: String,
    /// This replica's identity (the pod name in a cluster).
    pub identity: String,
    /// How long a lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the leader renews.
    pub renew_interval: Duration,
    /// How often a follower looks at the lease at most.
    pub retry_interval: Duration,
}

impl LeaseSettings {
    /// The leader steps down when it could not renew for this long (two thirds of the lease), so
    /// that it stops writing before anyone else may take over.
    pub fn renew_deadline(&self) -> Duration {
        self.lease_duration.mul_f64(2.0 / 3.0)
    }
}

/// What to do next with the lease, decided from what was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// No lease exists: create it, held by us.
    Create,
    /// We hold it: renew it.
    Renew,
    /// Someone else held it and it expired (or was released): take it.
    TakeOver,
    /// Someone else holds a valid lease: look again after `retry_in`.
    Follow { holder: String, retry_in: Duration },
}

/// Decides the next step. `unchanged_for` is how long we have seen this exact record unchanged.
pub fn next_step(
    lease: Option<&LeaseSpec>,
    settings: &LeaseSettings,
    unchanged_for: Duration,
    now: DateTime<Utc>,
) -> Step {
    let Some(spec) = lease else {
        return Step::Create;
    };
    let holder = spec.holder_identity.clone().unwrap_or_default();
    if holder == settings.identity {
        return Step::Renew;
    }
    if holder.is_empty() {
        return Step::TakeOver;
    }
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
        .unwrap_or(settings.lease_duration);
    let by_observation = duration.saturating_sub(unchanged_for);
    let by_clock = match &spec.renew_time {
        Some(renewed) => {
            let expires = from_timestamp(renewed.0)
                + chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::zero());
            (expires - now).to_std().unwrap_or(Duration::ZERO)
        }
        None => Duration::ZERO,
    };
    let remaining = by_observation.min(by_clock);
    if remaining.is_zero() {
        return Step::TakeOver;
    }
    // Wake up right when the lease would expire, so that a takeover never waits a full retry.
    let retry_in = remaining
        .min(settings.retry_interval)
        .max(Duration::from_millis(50));
    Step::Follow { holder, retry_in }
}

/// Errors talking to the API server about the lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("reading Lease {namespace}/{name}: {source}")]
    Read {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error(
        "Lease {namespace}/{name} does not exist and this ServiceAccount may not create it: the \
         Helm chart creates it when operator.leaderElection.enabled is true (or grant `create` on \
         leases): {source}"
    )]
    Missing {
        namespace: String,
        name: String,
        source: kube::Error,
    },
    #[error("writing Lease {namespace}/{name}: {source}")]
    Write {
        namespace: String,
        name: String,
        source: kube::Error,
    },
}

/// Runs the election until `shutdown` turns true, publishing leadership on `leader`. Releases the
/// lease on the way out when holding it.
pub async fn run_election(
    api: Api<Lease>,
    settings: LeaseSettings,
    leader: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut elector = Elector {
        api,
        settings,
        last_record: None,
        last_renewed: None,
    };
    loop {
        let wait = match elector.round().await {
            Ok(RoundResult::Leading) => {
                set_leader(&leader, true, &elector.settings, None);
                elector.settings.renew_interval
            }
            Ok(RoundResult::Following { holder, retry_in }) => {
                set_leader(&leader, false, &elector.settings, Some(&holder));
                retry_in
            }
            Err(error) => {
                tracing::warn!(%error, "leader election round failed");
                let overdue = elector
                    .last_renewed
                    .is_none_or(|at| at.elapsed() >= elector.settings.renew_deadline());
                if *leader.borrow() && overdue {
                    tracing::error!(
                        identity = %elector.settings.identity,
                        "could not renew the lease before the deadline; stepping down"
                    );
                    set_leader(&leader, false, &elector.settings, None);
                }
                elector.settings.retry_interval
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    if *leader.borrow() {
        let _ = leader.send(false);
        match elector.release().await {
            Ok(()) => tracing::info!(identity = %elector.settings.identity, "released the lease"),
            Err(error) => tracing::warn!(%error, "could not release the lease"),
        }
    }
}

fn set_leader(
    leader: &watch::Sender<bool>,
    now_leading: bool,
    settings: &LeaseSettings,
    holder: Option<&str>,
) {
    let was_leading = *leader.borrow();
    if was_leading != now_leading {
        if now_leading {
            tracing::info!(identity = %settings.identity, lease = %settings.name, "became the leader");
        } else {
            tracing::info!(identity = %settings.identity, holder = holder.unwrap_or(""), "not the leader");
        }
        let _ = leader.send(now_leading);
    }
}

enum RoundResult {
    Leading,
    Following { holder: String, retry_in: Duration },
}

/// What identifies a renewal: the holder and its renew time.
type LeaseRecord = (Option<String>, Option<MicroTime>);

struct Elector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The last record seen and when we first saw it.
    last_record: Option<(LeaseRecord, Instant)>,
    last_renewed: Option<Instant>,
}

impl Elector {
    async fn round(&mut self) -> Result<RoundResult, LeaseError> {
        let current = self
            .api
            .get_opt(&self.settings.name)
            .await
            .map_err(|source| LeaseError::Read {
                namespace: self.settings.namespace.clone(),
                name: self.settings.name.clone(),
                source,
            })?;
        let unchanged_for = self.observe(current.as_ref().and_then(|l| l.spec.as_ref()));
        let step = next_step(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.settings,
            unchanged_for,
            Utc::now(),
        );
        let written = match (step, current) {
            (Step::Follow { holder, retry_in }, _) => {
                return Ok(RoundResult::Following { holder, retry_in });
            }
            (Step::Create, _) => self.create().await?,
            (Step::Renew, Some(lease)) => self.replace(lease, false).await?,
            (Step::TakeOver, Some(lease)) => self.replace(lease, true).await?,
            (Step::Renew | Step::TakeOver, None) => false,
        };
        if written {
            self.last_renewed = Some(Instant::now());
            Ok(RoundResult::Leading)
        } else {
            // Someone else wrote first; look again soon.
            Ok(RoundResult::Following {
                holder: String::new(),
                retry_in: self.settings.retry_interval,
            })
        }
    }

    fn observe(&mut self, spec: Option<&LeaseSpec>) -> Duration {
        let record = spec
            .map(|s| (s.holder_identity.clone(), s.renew_time.clone()))
            .unwrap_or((None, None));
        match &self.last_record {
            Some((seen, since)) if *seen == record => since.elapsed(),
            _ => {
                self.last_record = Some((record, Instant::now()));
                Duration::ZERO
            }
        }
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.settings.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    async fn create(&self) -> Result<bool, LeaseError> {
        let now = to_micro_time(Utc::now());
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.settings.name.clone()),
                namespace: Some(self.settings.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.settings.identity.clone()),
                lease_duration_seconds: Some(self.lease_seconds()),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) if matches!(&source, kube::Error::Api(status) if status.code == 403) => {
                Err(LeaseError::Missing {
                    namespace: self.settings.namespace.clone(),
                    name: self.settings.name.clone(),
                    source,
                })
            }
            Err(source) => Err(self.write_error(source)),
        }
    }

    /// Renews our lease, or takes over an expired one; the resourceVersion makes a concurrent
    /// writer lose with a conflict instead of both believing they lead.
    async fn replace(&self, mut lease: Lease, take_over: bool) -> Result<bool, LeaseError> {
        let now = to_micro_time(Utc::now());
        let mut spec = lease.spec.take().unwrap_or_default();
        if take_over {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.holder_identity = Some(self.settings.identity.clone());
        spec.lease_duration_seconds = Some(self.lease_seconds());
        spec.renew_time = Some(now);
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(self.write_error(source)),
        }
    }

    /// Gives the lease up: no holder and a one-second duration, as client-go does.
    async fn release(&self) -> Result<(), LeaseError> {
        let current = self
            .api
            .get_opt(&self.settings.name)
            .await
            .map_err(|source| LeaseError::Read {
                namespace: self.settings.namespace.clone(),
                name: self.settings.name.clone(),
                source,
            })?;
        let Some(mut lease) = current else {
            return Ok(());
        };
        let mut spec = lease.spec.take().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(to_micro_time(Utc::now()));
        lease.spec = Some(spec);
        self.api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
            .map_err(|source| self.write_error(source))
    }

    fn write_error(&self, source: kube::Error) -> LeaseError {
        LeaseError::Write {
            namespace: self.settings.namespace.clone(),
            name: self.settings.name.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
