//! `kubectl hipaa report --history s3://BUCKET/PREFIX [--at TIME] [--cluster NAME] [--fleet]`:
//! the same report, built from the records in force at a time instead of the live statuses.
//! Each record gives back its policy's spec and its status with every violation; what the
//! history does not keep (the inventory of checked objects, the access review) is said to be
//! missing, never guessed.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use hipaa_crds::{HipaaPolicy, HipaaPolicySpec};
use hipaa_history::{HistoryRecord, S3Location, TrendFigures};

use super::access::AccessReview;
use super::model::{CheckedResources, ClusterIdentity, EvidenceReport, ReportInputs, build};
use super::trend::TrendPoint;
use crate::cli::{GlobalArgs, ReportArgs};
use crate::cluster;
use crate::history::read::{chain_keys, record_at, single_cluster, trend};
use crate::history::s3::HistoryReader;

/// The report of the records in force at `args.at` (default now).
pub fn read(args: &ReportArgs, global: &GlobalArgs, uri: &str) -> anyhow::Result<EvidenceReport> {
    if global.namespace.is_some() {
        bail!("-n does not apply to --history: the history keeps no namespace labels");
    }
    let location = crate::history::location(uri)?;
    let at = args.at.unwrap_or_else(Utc::now);
    let runtime = cluster::runtime()?;
    let (records, trends) = runtime.block_on(async {
        let reader = HistoryReader::from_environment().await;
        let chains = chain_keys(&reader, &location, args.cluster.as_deref()).await?;
        if !args.fleet {
            single_cluster(&chains, &location)?;
        }
        let mut records = Vec::new();
        let mut trends = Vec::new();
        for (chain, keys) in &chains {
            if args.policy.as_deref().is_some_and(|p| p != chain.policy) {
                continue;
            }
            if let Some(record) = record_at(&reader, &location, keys, at).await? {
                records.push(record);
                trends.push(trend(&reader, &location, keys, at).await?);
            }
        }
        anyhow::Ok((records, trends))
    })?;
    if records.is_empty() {
        bail!("no history record under {location} at or before {at}");
    }
    let mut report = report_from_records(&records, &location, args.fleet, at)?;
    add_trends(&mut report, &records, trends, args.fleet);
    Ok(report)
}

/// Gives each policy of `report` the trend of its chain (`trends` in the order of `records`).
pub fn add_trends(
    report: &mut EvidenceReport,
    records: &[HistoryRecord],
    trends: Vec<Vec<(DateTime<Utc>, TrendFigures)>>,
    fleet: bool,
) {
    for (record, points) in records.iter().zip(trends) {
        let name = policy_name(record, fleet);
        if let Some(policy) = report.policies.iter_mut().find(|p| p.name == name) {
            policy.trend = points
                .into_iter()
                .map(|(time, figures)| TrendPoint {
                    at: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    score: figures.score,
                    violations: figures.violations,
                    critical: figures.critical,
                    high: figures.high,
                })
                .collect();
        }
    }
}

/// A policy's name in the report: `cluster/policy` in a fleet report.
fn policy_name(record: &HistoryRecord, fleet: bool) -> String {
    if fleet {
        format!("{}/{}", record.cluster.name, record.policy)
    } else {
        record.policy.clone()
    }
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
            let name = policy_name(record, fleet);
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

    #[test]
    fn each_policy_gets_the_trend_of_its_own_chain() {
        let location = S3Location::parse("s3://b/h").unwrap();
        let records = [record("east", 1), record("west", 0)];
        let mut report = report_from_records(&records, &location, true, Utc::now()).unwrap();
        let time = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let figures = |score, violations| TrendFigures {
            score,
            violations,
            critical: violations,
            high: 0,
        };
        add_trends(
            &mut report,
            &records,
            vec![
                vec![
                    (time("2026-12-01T00:00:00Z"), figures(100, 0)),
                    (time("2026-12-02T00:00:00Z"), figures(50, 1)),
                ],
                vec![(time("2026-12-02T00:00:00Z"), figures(100, 0))],
            ],
            true,
        );
        let east = &report.policies[0];
        assert_eq!(east.name, "east/phi");
        let scores: Vec<(&str, u32)> = east
            .trend
            .iter()
            .map(|p| (p.at.as_str(), p.score))
            .collect();
        assert_eq!(
            scores,
            [("2026-12-01T00:00:00Z", 100), ("2026-12-02T00:00:00Z", 50)]
        );
        assert_eq!(report.policies[1].trend.len(), 1);
    }
}
