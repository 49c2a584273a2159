//! `kubectl hipaa report --history s3://BUCKET/PREFIX [--at TIME] [--cluster NAME] [--fleet]`:
//! the same report, built from the records in force at a time instead of the live statuses.
//! Each record gives back its policy's spec and its status with every violation; what the
//! history does not keep (the inventory of checked objects, the access review) is said to be
//! missing, never guessed.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use hipaa_crds::{HipaaPolicy, HipaaPolicySpec};
use hipaa_history::{HistoryRecord, S3Location};

use super::access::AccessReview;
use super::model::{CheckedResources, ClusterIdentity, EvidenceReport, ReportInputs, build};
use crate::cli::{GlobalArgs, ReportArgs};
use crate::cluster;
use crate::history::read::{chain_keys, record_at, single_cluster};
use crate::history::s3::HistoryReader;

/// The report of the records in force at `args.at` (default now).
pub fn read(args: &ReportArgs, global: &GlobalArgs, uri: &str) -> anyhow::Result<EvidenceReport> {
    if global.namespace.is_some() {
        bail!("-n does not apply to --history: the history keeps no namespace labels");
    }
    let location = crate::history::location(uri)?;
    let at = args.at.unwrap_or_else(Utc::now);
    let runtime = cluster::runtime()?;
    let records = runtime.block_on(async {
        let reader = HistoryReader::from_environment().await;
        let chains = chain_keys(&reader, &location, args.cluster.as_deref()).await?;
        if !args.fleet {
            single_cluster(&chains, &location)?;
        }
        let mut records = Vec::new();
        for (chain, keys) in &chains {
            if args.policy.as_deref().is_some_and(|p| p != chain.policy) {
                continue;
            }
            if let Some(record) = record_at(&reader, &location, keys, at).await? {
                records.push(record);
            }
        }
        anyhow::Ok(records)
    })?;
    if records.is_empty() {
        bail!("no history record under {location} at or before {at}");
    }
    report_from_records(&records, &location, args.fleet, at)
}

/// The report of `records` (one per chain) as of `at`; in a fleet report each policy is named
/// `cluster/policy`.
pub fn report_from_records(
    records: &[HistoryRecord],
    location: &S3Location,
    fleet: bool,
    at: DateTime<Utc>,
) -> anyhow::Result<EvidenceReport> {
    let policies = records
        .iter()
        .map(|record| {
            let spec: HipaaPolicySpec =
                serde_json::from_value(record.spec.clone()).with_context(|| {
                    format!(
                        "the spec in record {} of {}/{}",
                        record.sequence, record.cluster.name, record.policy
                    )
                })?;
            let name = if fleet {
                format!("{}/{}", record.cluster.name, record.policy)
            } else {
                record.policy.clone()
            };
            let mut policy = HipaaPolicy::new(&name, spec);
            policy.status = Some(record.full_status());
            Ok(policy)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut clusters: Vec<String> = records
        .iter()
        .map(|r| format!("{} (kube-system UID {})", r.cluster.name, r.cluster.uid))
        .collect();
    clusters.sort();
    clusters.dedup();
    let server = format!("evidence history {location}: {}", clusters.join(", "));
    let access_review = AccessReview {
        unavailable: Some("the evidence history keeps no RBAC; run the report against the live cluster for the access review".into()),
        ..AccessReview::default()
    };
    Ok(build(&ReportInputs {
        policies: &policies,
        selected_namespaces: &BTreeMap::new(),
        checked: &CheckedResources::new(),
        cluster: ClusterIdentity {
            server,
            version: None,
            platform: None,
        },
        namespace: None,
        now: at,
        access_review: &access_review,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use hipaa_crds::{ControlResult, ControlStatus, HipaaPolicyStatus, ViolationStatus};
    use hipaa_history::{ClusterIdentity as Cluster, RecordInput, build_record};

    fn record(cluster: &str, privileged: usize) -> HistoryRecord {
        let spec: HipaaPolicySpec = serde_json::from_value(serde_json::json!({
            "namespaceSelector": {"matchLabels": {"hipaa": "phi"}},
        }))
        .unwrap();
        let violations: Vec<ViolationStatus> = (0..privileged)
            .map(|i| ViolationStatus {
                control: "HIPAA-K8S-PRIVILEGED".into(),
                severity: "critical".into(),
                kind: "Deployment".into(),
                namespace: Some("billing".into()),
                name: format!("api-{i}"),
                message: "privileged".into(),
            })
            .collect();
        let status = HipaaPolicyStatus {
            controls: vec![ControlStatus {
                id: "HIPAA-K8S-PRIVILEGED".into(),
                sections: vec![],
                severity: "critical".into(),
                result: if privileged > 0 {
                    ControlResult::Fail
                } else {
                    ControlResult::Pass
                },
                violations: privileged as u32,
                message: None,
            }],
            ..Default::default()
        };
        build_record(RecordInput {
            cluster: &Cluster {
                name: cluster.into(),
                uid: format!("{cluster}-uid"),
            },
            policy: "phi",
            spec: &spec,
            status: &status,
            violations,
            aws: None,
            time: DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .to_utc(),
            tip: None,
        })
        .unwrap()
    }

    #[test]
    fn a_record_gives_back_every_violation_in_the_report() {
        let location = S3Location::parse("s3://b/h").unwrap();
        let report =
            report_from_records(&[record("prod", 150)], &location, false, Utc::now()).unwrap();
        let control = report
            .controls
            .iter()
            .find(|c| c.id == "HIPAA-K8S-PRIVILEGED")
            .unwrap();
        assert_eq!(control.result, ControlResult::Fail);
        assert_eq!(control.findings.len(), 150, "nothing truncated");
        assert_eq!(report.policies[0].name, "phi");
        assert!(
            report
                .cluster
                .server
                .contains("prod (kube-system UID prod-uid)")
        );
    }

    #[test]
    fn a_fleet_report_names_each_policy_by_cluster() {
        let location = S3Location::parse("s3://b/h").unwrap();
        let report = report_from_records(
            &[record("east", 1), record("west", 0)],
            &location,
            true,
            Utc::now(),
        )
        .unwrap();
        let names: Vec<_> = report.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["east/phi", "west/phi"]);
        let control = report
            .controls
            .iter()
            .find(|c| c.id == "HIPAA-K8S-PRIVILEGED")
            .unwrap();
        assert_eq!(control.result, ControlResult::Fail);
        assert_eq!(control.results.len(), 2);
    }
}
