//! The writer: for each evaluated audit, the record `hipaa_history` builds, appended to the
//! policy's chain when `should_append` says so; the chain's tip read back from S3 on first use
//! (so a restarted operator continues the chain), the bucket's Object Lock read on first use and
//! again after a failure, and the EvidenceHistory condition applied when it changes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::aws::AwsSnapshot;
use hipaa_crds::{HipaaPolicy, ViolationStatus};
use hipaa_history::{
    ChainId, ClusterIdentity, RecordInput, Tip, TrendFigures, build_record, chain_prefix, decode,
    encode, parse_key, record_key, should_append,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client, ResourceExt};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::{Mutex, OnceCell};

use super::args::HistorySettings;
use super::condition::{HistoryState, apply_condition};
use super::s3::{HistoryS3, ObjectLock};
use crate::decide::Audit;

/// What the writer remembers of one policy's chain.
#[derive(Default)]
struct ChainMemory {
    /// Read from S3 (or nothing there) once.
    loaded: bool,
    tip: Option<Tip>,
    /// The EvidenceHistory state last applied, and to which policy (by UID: a policy deleted
    /// and created again under the same name has no condition yet).
    applied: Option<(Option<String>, HistoryState)>,
}

/// Appends audits to the evidence history in S3.
pub struct HistoryWriter {
    s3: HistoryS3,
    settings: HistorySettings,
    client: Client,
    cluster: OnceCell<ClusterIdentity>,
    object_lock: Mutex<Option<ObjectLock>>,
    /// Each policy's chain behind its own lock: one policy's slow write never holds another's.
    chains: std::sync::Mutex<HashMap<String, Arc<Mutex<ChainMemory>>>>,
    written: Counter,
    failed: Counter,
}

/// Why an audit was not appended.
type WriteError = String;

impl HistoryWriter {
    pub fn new(s3: HistoryS3, settings: HistorySettings, client: Client) -> HistoryWriter {
        HistoryWriter {
            s3,
            settings,
            client,
            cluster: OnceCell::new(),
            object_lock: Mutex::new(None),
            chains: std::sync::Mutex::new(HashMap::new()),
            written: Counter::default(),
            failed: Counter::default(),
        }
    }

    /// Registers the history's counters (records written, writes failed).
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "history_records_written",
            "Evidence history records written to S3",
            self.written.clone(),
        );
        registry.register(
            "history_write_failures",
            "Audits whose evidence history record could not be written (retried at the next audit)",
            self.failed.clone(),
        );
    }

    /// Forgets every chain's tip at the start of a leadership term, so that each is read again
    /// from S3 before the next append: while this replica stood by, the leader may have appended
    /// records, and appending after a stale tip would fork the chain.
    pub fn new_term(&self) {
        self.chains
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Reads the bucket's Object Lock configuration now (at start), logging what it says.
    pub async fn check_bucket(&self) {
        match self.object_lock().await {
            Ok(lock) => {
                tracing::info!(location = %self.settings.location, ?lock, "evidence history on")
            }
            Err(error) => {
                tracing::warn!(location = %self.settings.location, %error, "evidence history bucket not readable yet")
            }
        }
    }

    /// Appends `audit` of `policy` to its chain when due, and keeps its condition up to date.
    /// Never fails: a failure is logged, counted, shown in the condition and retried next time.
    pub async fn record(
        &self,
        policy: &HipaaPolicy,
        audit: &Audit,
        aws: Option<&AwsSnapshot>,
        now: DateTime<Utc>,
    ) {
        if !audit.is_evaluated() {
            return;
        }
        let name = policy.name_any();
        let slot = {
            let mut chains = self
                .chains
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            chains.entry(name.clone()).or_default().clone()
        };
        let mut memory = slot.lock().await;
        let memory = &mut *memory;
        let state = match self.append(&name, memory, policy, audit, aws, now).await {
            Ok(state) => state,
            Err(error) => {
                self.failed.inc();
                tracing::warn!(policy = %name, %error, "evidence history record not written");
                // Read again next time: the failure may be the bucket's configuration.
                *self.object_lock.lock().await = None;
                HistoryState::Failed { error }
            }
        };
        let applied = (policy.metadata.uid.clone(), state);
        if memory.applied.as_ref() != Some(&applied) {
            let api: Api<HipaaPolicy> = Api::all(self.client.clone());
            match apply_condition(&api, policy, &applied.1, now).await {
                Ok(()) => memory.applied = Some(applied),
                Err(error) => {
                    tracing::warn!(policy = %name, %error, "EvidenceHistory condition not written")
                }
            }
        }
    }

    async fn append(
        &self,
        name: &str,
        memory: &mut ChainMemory,
        policy: &HipaaPolicy,
        audit: &Audit,
        aws: Option<&AwsSnapshot>,
        now: DateTime<Utc>,
    ) -> Result<HistoryState, WriteError> {
        let cluster = self.cluster_identity().await?;
        let lock = self.object_lock().await?;
        let chain = ChainId {
            cluster: cluster.name.clone(),
            policy: name.to_string(),
        };
        if !memory.loaded {
            memory.tip = self.read_tip(&chain).await?;
            memory.loaded = true;
        }
        let violations: Vec<ViolationStatus> =
            audit.violations().map(ViolationStatus::from).collect();
        let aws = aws
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| format!("the AWS evidence: {e}"))?;
        let (spec, status, tip) = (
            policy.spec.clone(),
            audit.status.clone(),
            memory.tip.clone(),
        );
        let policy_name = name.to_string();
        // A large scope's record takes a while to serialize and hash, and longer to compress
        // (only when it is appended): off the async threads.
        let built = tokio::task::spawn_blocking(move || {
            let record = build_record(RecordInput {
                cluster: &cluster,
                policy: &policy_name,
                spec: &spec,
                status: &status,
                violations,
                aws,
                time: now,
                tip: tip.as_ref(),
            })?;
            let due = should_append(tip.as_ref(), &record.result_sha256, now);
            let bytes = due.map(|_| encode(&record)).transpose()?;
            Ok::<_, serde_json::Error>((record, due.zip(bytes)))
        })
        .await
        .map_err(|e| format!("building the record: {e}"))?;
        let (record, due) = built.map_err(|e| format!("building the record: {e}"))?;
        if let Some((reason, bytes)) = due {
            let key = record_key(&self.settings.location.prefix, &chain, record.sequence, now);
            let retention = self
                .settings
                .retention
                .as_ref()
                .map(|(mode, keep)| (mode.as_str(), now + *keep));
            let size = bytes.len();
            // The trend's figures ride along as metadata (hipaa_history::figures).
            let metadata = TrendFigures::of_status(&record.status)
                .map(|figures| figures.metadata())
                .unwrap_or_default();
            self.s3
                .put(
                    &self.settings.location.bucket,
                    &key,
                    bytes,
                    metadata,
                    retention,
                )
                .await
                .map_err(|e| e.to_string())?;
            self.written.inc();
            tracing::info!(policy = %name, key, size, reason = reason.as_str(), "evidence history record written");
            memory.tip = Some(Tip::of(&record, &key));
        }
        let last_key = memory
            .tip
            .as_ref()
            .map(|t| t.key.clone())
            .unwrap_or_default();
        Ok(self.state_for(&lock, last_key))
    }

    fn state_for(&self, lock: &ObjectLock, last_key: String) -> HistoryState {
        match (lock, &self.settings.retention) {
            (ObjectLock::Off, _) | (ObjectLock::NoDefaultRetention, None) => {
                HistoryState::Unlocked { last_key }
            }
            (_, Some((mode, keep))) => HistoryState::Kept {
                last_key,
                retention: format!("{mode} for {}s after each record", keep.as_secs()),
            },
            (ObjectLock::DefaultRetention(retention), None) => HistoryState::Kept {
                last_key,
                retention: format!("by the bucket's default ({retention})"),
            },
        }
    }

    /// The chain's last record in S3, if any, so that a restart continues the chain.
    async fn read_tip(&self, chain: &ChainId) -> Result<Option<Tip>, WriteError> {
        let (bucket, prefix) = (
            &self.settings.location.bucket,
            &self.settings.location.prefix,
        );
        let keys = self
            .s3
            .list(bucket, &chain_prefix(prefix, chain))
            .await
            .map_err(|e| e.to_string())?;
        let last = keys
            .into_iter()
            .filter_map(|key| parse_key(prefix, &key).map(|parts| (parts.sequence, key)))
            .max();
        let Some((_, key)) = last else {
            return Ok(None);
        };
        let bytes = self.s3.get(bucket, &key).await.map_err(|e| e.to_string())?;
        // An unreadable tip stops the chain rather than forking it: `history verify` names it.
        let record = decode(&bytes).map_err(|e| format!("the chain's last record {key}: {e}"))?;
        tracing::info!(
            key,
            sequence = record.sequence,
            "evidence history continues"
        );
        Ok(Some(Tip::of(&record, &key)))
    }

    async fn object_lock(&self) -> Result<ObjectLock, WriteError> {
        let mut known = self.object_lock.lock().await;
        if let Some(lock) = &*known {
            return Ok(lock.clone());
        }
        let lock = self
            .s3
            .object_lock(&self.settings.location.bucket)
            .await
            .map_err(|e| e.to_string())?;
        *known = Some(lock.clone());
        Ok(lock)
    }

    /// The cluster's name and the UID of its kube-system Namespace, read once.
    async fn cluster_identity(&self) -> Result<ClusterIdentity, WriteError> {
        self.cluster
            .get_or_try_init(|| async {
                let namespace = Api::<Namespace>::all(self.client.clone())
                    .get("kube-system")
                    .await
                    .map_err(|e| format!("reading the kube-system Namespace's UID: {e}"))?;
                Ok(ClusterIdentity {
                    name: self.settings.cluster_name.clone(),
                    uid: namespace.metadata.uid.unwrap_or_default(),
                })
            })
            .await
            .cloned()
    }
}
