//! A record from an audit: the spec and its hash, the status without its bounded violation list,
//! every violation grouped by control, the AWS evidence, the result hash, the link to the chain's
//! tip, and last the record's own hash over all of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hipaa_crds::{HipaaPolicySpec, HipaaPolicyStatus, ViolationStatus};
use serde::Serialize;

use crate::append::Tip;
use crate::canonical::canonical_sha256;
use crate::record::{
    ChainLink, ClusterIdentity, FORMAT_VERSION, HistoryRecord, Violation, ViolationGroup,
};

/// What one audit gives the history.
pub struct RecordInput<'a> {
    pub cluster: &'a ClusterIdentity,
    pub policy: &'a str,
    pub spec: &'a HipaaPolicySpec,
    pub status: &'a HipaaPolicyStatus,
    /// Every violation of the audit (unbounded), in any order.
    pub violations: Vec<ViolationStatus>,
    /// The AWS snapshot the audit used, as JSON.
    pub aws: Option<serde_json::Value>,
    pub time: DateTime<Utc>,
    /// The chain's last record, if any: the new record follows it.
    pub tip: Option<&'a Tip>,
}

/// The record of `input`, hashed. Fails only if the spec or status cannot be serialized.
pub fn build_record(input: RecordInput<'_>) -> Result<HistoryRecord, serde_json::Error> {
    let spec = serde_json::to_value(input.spec)?;
    let spec_sha256 = canonical_sha256(&spec)?;
    let status = HipaaPolicyStatus {
        violations: Vec::new(),
        truncated: false,
        ..input.status.clone()
    };
    let violations = group_violations(input.violations);
    let result_sha256 = result_sha256(&spec_sha256, &status, &violations)?;
    let (sequence, previous) = match input.tip {
        Some(tip) => (
            tip.sequence + 1,
            Some(ChainLink {
                key: tip.key.clone(),
                sha256: tip.sha256.clone(),
            }),
        ),
        None => (0, None),
    };
    let mut record = HistoryRecord {
        format: FORMAT_VERSION,
        cluster: input.cluster.clone(),
        policy: input.policy.to_string(),
        sequence,
        time: input.time,
        previous,
        spec_sha256,
        spec,
        result_sha256,
        status,
        violations,
        aws: input.aws,
        sha256: String::new(),
    };
    record.sha256 = record_sha256(&record)?;
    Ok(record)
}

/// The hash a record should carry: of its canonical JSON with `sha256` empty.
pub fn record_sha256(record: &HistoryRecord) -> Result<String, serde_json::Error> {
    if record.sha256.is_empty() {
        return canonical_sha256(record);
    }
    canonical_sha256(&HistoryRecord {
        sha256: String::new(),
        ..record.clone()
    })
}

/// Violations grouped by control (catalog IDs sorted), each group's resources sorted.
pub fn group_violations(violations: Vec<ViolationStatus>) -> Vec<ViolationGroup> {
    let mut groups: BTreeMap<String, ViolationGroup> = BTreeMap::new();
    for v in violations {
        let group = groups
            .entry(v.control.clone())
            .or_insert_with(|| ViolationGroup {
                control: v.control,
                severity: v.severity,
                resources: Vec::new(),
            });
        group.resources.push(Violation(
            v.kind,
            v.namespace.unwrap_or_default(),
            v.name,
            v.message,
        ));
    }
    groups
        .into_values()
        .map(|mut group| {
            group.resources.sort();
            group.resources.dedup();
            group
        })
        .collect()
}

/// What the audit found, without times: what "the result changed" compares.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultView<'a> {
    spec_sha256: &'a str,
    summary: &'a Option<hipaa_crds::ComplianceSummary>,
    controls: &'a [hipaa_crds::ControlStatus],
    violations: &'a [ViolationGroup],
    aws_resources: Vec<(&'a str, &'a str, hipaa_crds::ControlResult, &'a [String])>,
    exceptions: Vec<(u32, hipaa_crds::ExceptionState, u32)>,
}

fn result_sha256(
    spec_sha256: &str,
    status: &HipaaPolicyStatus,
    violations: &[ViolationGroup],
) -> Result<String, serde_json::Error> {
    canonical_sha256(&ResultView {
        spec_sha256,
        summary: &status.summary,
        controls: &status.controls,
        violations,
        aws_resources: status
            .aws_resources
            .iter()
            .map(|r| {
                (
                    r.kind.as_str(),
                    r.name.as_str(),
                    r.result,
                    r.failed_controls.as_slice(),
                )
            })
            .collect(),
        exceptions: status
            .exceptions
            .iter()
            .map(|e| (e.index, e.state, e.matched))
            .collect(),
    })
}

#[cfg(test)]
mod tests;
