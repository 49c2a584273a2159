//! Test fixtures: a spec, statuses and chains of records built the way the operator builds them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{DateTime, TimeDelta, Utc};
use hipaa_crds::{
    ComplianceSummary, ControlResult, ControlStatus, HipaaPolicySpec, HipaaPolicyStatus,
    ViolationStatus,
};

use crate::append::Tip;
use crate::build::{RecordInput, build_record};
use crate::key::{ChainId, record_key};
use crate::record::{ClusterIdentity, HistoryRecord};

pub const PREFIX: &str = "evidence";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn tip(sequence: u64, result: &str, time: DateTime<Utc>) -> Tip {
    Tip {
        key: format!("k{sequence}"),
        sequence,
        sha256: format!("h{sequence}"),
        result_sha256: result.into(),
        time,
    }
}

pub fn spec() -> HipaaPolicySpec {
    serde_json::from_value(serde_json::json!({
        "enforcement": "Enforce",
        "namespaceSelector": {"matchLabels": {"hipaa": "phi"}},
    }))
    .unwrap()
}

/// `count` privileged Deployments api-0.. in billing.
pub fn violations(count: usize) -> Vec<ViolationStatus> {
    (0..count)
        .map(|i| ViolationStatus {
            control: "HIPAA-K8S-PRIVILEGED".into(),
            severity: "critical".into(),
            kind: "Deployment".into(),
            namespace: Some("billing".into()),
            name: format!("api-{i}"),
            message: format!("container app of Deployment billing/api-{i} is privileged"),
        })
        .collect()
}

pub fn status(violations: usize) -> HipaaPolicyStatus {
    HipaaPolicyStatus {
        summary: Some(ComplianceSummary {
            resources_evaluated: 3,
            violations: violations as u32,
            critical: violations as u32,
            score: if violations > 0 { 60 } else { 100 },
            ..Default::default()
        }),
        controls: vec![ControlStatus {
            id: "HIPAA-K8S-PRIVILEGED".into(),
            sections: vec!["164.312(a)(1)".into()],
            severity: "critical".into(),
            result: if violations > 0 {
                ControlResult::Fail
            } else {
                ControlResult::Pass
            },
            violations: violations as u32,
            message: None,
        }],
        ..Default::default()
    }
}

pub fn cluster(name: &str) -> ClusterIdentity {
    ClusterIdentity {
        name: name.into(),
        uid: format!("uid-of-{name}"),
    }
}

pub fn chain_id(cluster: &str) -> ChainId {
    ChainId {
        cluster: cluster.into(),
        policy: "production-phi".into(),
    }
}

/// One record per entry of `violation_counts`, an hour apart from 2026-12-01, chained.
pub fn chain_of(cluster_name: &str, violation_counts: &[usize]) -> Vec<HistoryRecord> {
    let identity = cluster(cluster_name);
    let spec = spec();
    let mut tip: Option<Tip> = None;
    let mut records = Vec::new();
    for (hour, count) in violation_counts.iter().enumerate() {
        let time = at("2026-12-01T00:00:00Z") + TimeDelta::hours(hour as i64);
        let record = build_record(RecordInput {
            cluster: &identity,
            policy: "production-phi",
            spec: &spec,
            status: &status(*count),
            violations: violations(*count),
            aws: None,
            time,
            tip: tip.as_ref(),
        })
        .unwrap();
        let key = record_key(PREFIX, &chain_id(cluster_name), record.sequence, time);
        tip = Some(Tip::of(&record, &key));
        records.push(record);
    }
    records
}

/// The keys `chain_of` stores its records under.
pub fn key_of(record: &HistoryRecord) -> String {
    record_key(
        PREFIX,
        &chain_id(&record.cluster.name),
        record.sequence,
        record.time,
    )
}
