//! The record: one audit of one policy in one cluster, as the history keeps it. Compact on
//! purpose — violations are grouped by control and each violating resource is a four-string
//! array — so that a cluster of 10,000 workloads fits in well under a megabyte once gzipped.

use chrono::{DateTime, Utc};
use hipaa_crds::{HipaaPolicyStatus, ViolationStatus};
use serde::{Deserialize, Serialize};

/// The record format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Which cluster a record comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    /// The name given to the operator (`--cluster-name`, chart value `history.clusterName`);
    /// also the first path segment of the cluster's records under the history prefix.
    pub name: String,
    /// The UID of the cluster's `kube-system` Namespace: stable for a cluster's life and
    /// different between clusters, whatever they are named.
    pub uid: String,
}

/// The link from a record to the one before it in its chain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    /// The previous record's object key.
    pub key: String,
    /// The previous record's own `sha256`.
    pub sha256: String,
}

/// One record of the evidence history.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// [`FORMAT_VERSION`] when written.
    pub format: u32,
    pub cluster: ClusterIdentity,
    /// The HipaaPolicy's name.
    pub policy: String,
    /// 0 for a chain's first record, then one more per record.
    pub sequence: u64,
    /// When the audit ran.
    pub time: DateTime<Utc>,
    /// The record before this one; None only for sequence 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<ChainLink>,
    /// SHA-256 (hex) of the spec's canonical JSON.
    pub spec_sha256: String,
    /// The policy's spec as audited.
    pub spec: serde_json::Value,
    /// SHA-256 (hex) of what the audit found (spec hash, summary, control results, violations,
    /// AWS resource and exception results), without its times: equal results, equal hash.
    pub result_sha256: String,
    /// The status the audit wrote, without its bounded violation list (see `violations`).
    pub status: HipaaPolicyStatus,
    /// Every violation of the audit, unbounded, grouped by control.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<ViolationGroup>,
    /// The AWS evidence the audit used: the snapshot of the linked resources, as looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<serde_json::Value>,
    /// SHA-256 (hex) of this record's canonical JSON with this field empty.
    #[serde(default)]
    pub sha256: String,
}

/// The violations of one control.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ViolationGroup {
    pub control: String,
    pub severity: String,
    /// Sorted by kind, namespace, name, message.
    pub resources: Vec<Violation>,
}

/// One violating resource: `[kind, namespace ("" when cluster-scoped), name, message]`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Violation(pub String, pub String, pub String, pub String);

impl Violation {
    pub fn kind(&self) -> &str {
        &self.0
    }
    pub fn namespace(&self) -> Option<&str> {
        Some(self.1.as_str()).filter(|ns| !ns.is_empty())
    }
    pub fn name(&self) -> &str {
        &self.2
    }
    pub fn message(&self) -> &str {
        &self.3
    }
}

impl HistoryRecord {
    /// Every violation as the status lists them, in the record's order.
    pub fn violation_statuses(&self) -> Vec<ViolationStatus> {
        self.violations
            .iter()
            .flat_map(|group| {
                group.resources.iter().map(|v| ViolationStatus {
                    control: group.control.clone(),
                    severity: group.severity.clone(),
                    kind: v.kind().to_string(),
                    namespace: v.namespace().map(str::to_string),
                    name: v.name().to_string(),
                    message: v.message().to_string(),
                })
            })
            .collect()
    }

    /// The status as it was, with every violation listed (nothing truncated).
    pub fn full_status(&self) -> HipaaPolicyStatus {
        HipaaPolicyStatus {
            violations: self.violation_statuses(),
            truncated: false,
            ..self.status.clone()
        }
    }
}
