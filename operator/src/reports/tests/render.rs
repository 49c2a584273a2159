//! The bodies of the reports: a namespace's PolicyReport in full, the cluster's in OpenReports,
//! and the cap on the results one report lists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{TimeZone, Utc};
use hipaa_controls::model::Outcome;
use serde_json::json;

use super::*;

#[test]
fn a_namespace_report_lists_its_findings_as_policy_report_results() {
    let evaluations = audit();
    let parts = partition(OWNER, &evaluations, &scope(&["billing", "claims"]));
    let now = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap();
    let key = namespace("billing");
    let report = serde_json::to_value(render(
        ReportApi::PolicyReport,
        OWNER,
        &key,
        &parts[&key],
        now,
    ))
    .unwrap();
    let privileged = control("HIPAA-K8S-PRIVILEGED");
    let expected = json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {
            "name": "hipaa-guard-phi",
            "namespace": "billing",
            "labels": {"app.kubernetes.io/managed-by": "hipaa-guard", "hipaaguard.io/policy": "phi"},
            "annotations": {
                "hipaaguard.io/policy": "phi",
                "hipaaguard.io/report-hash": format!("{:016x}", parts[&key].hash),
            },
            "ownerReferences": [{
                "apiVersion": "hipaaguard.io/v1alpha1", "kind": "HipaaPolicy", "name": "phi", "uid": "0b7c-uid",
            }],
        },
        "summary": {"pass": 3, "fail": 1, "warn": 0, "error": 0, "skip": 0},
        "results": [{
            "source": "hipaa-guard",
            "policy": "phi",
            "rule": "HIPAA-K8S-PRIVILEGED",
            "category": privileged.sections[0],
            "severity": privileged.severity.as_str().to_ascii_lowercase(),
            "result": "fail",
            "scored": true,
            "message": "Deployment billing/api runs privileged",
            "timestamp": {"seconds": now.timestamp(), "nanos": 0},
            "resources": [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "billing", "name": "api"}],
            "properties": {
                "enforcement": "Enforce",
                "remediation": privileged.remediation,
                "sections": privileged.sections.join(", "),
                "title": privileged.title,
            },
        }],
    });
    assert_eq!(report, expected);
}

#[test]
fn the_cluster_report_holds_namespaces_and_aws_resources_and_openreports_names_its_source() {
    let evaluations = audit();
    let parts = partition(OWNER, &evaluations, &scope(&["billing"]));
    let now = Utc::now();
    let key = ReportKey::Cluster;
    let report = serde_json::to_value(render(
        ReportApi::OpenReports,
        OWNER,
        &key,
        &parts[&key],
        now,
    ))
    .unwrap();
    assert_eq!(report["apiVersion"], "openreports.io/v1alpha1");
    assert_eq!(report["kind"], "ClusterReport");
    assert_eq!(report["source"], "hipaa-guard");
    assert!(report["metadata"].get("namespace").is_none());
    let results = report["results"].as_array().unwrap();
    // Sorted by control ID.
    let rules: Vec<&str> = results
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["HIPAA-EKS-AUDIT-LOGGING", "HIPAA-K8S-NETPOL"]);
    assert_eq!(results[0]["result"], "error");
    // An AWS resource has no apiVersion; a Namespace is a v1 object.
    assert!(results[0]["resources"][0].get("apiVersion").is_none());
    assert_eq!(results[1]["resources"][0]["apiVersion"], "v1");
    // A waived failure is a skip naming the exception.
    let claims = namespace("claims");
    let parts = partition(OWNER, &evaluations, &scope(&["claims"]));
    let report = serde_json::to_value(render(
        ReportApi::PolicyReport,
        OWNER,
        &claims,
        &parts[&claims],
        now,
    ))
    .unwrap();
    assert_eq!(report["results"][0]["result"], "skip");
    assert_eq!(
        report["results"][0]["properties"]["exception"],
        "phi spec.exceptions[0]"
    );
    assert!(
        report.get("source").is_none(),
        "PolicyReport v1alpha2 has no top-level source"
    );
}

#[test]
fn a_huge_namespace_lists_its_most_severe_results_and_counts_every_one() {
    use super::build::{MAX_RESULTS, OMITTED_ANNOTATION};
    let mut evaluations = Vec::new();
    for i in 0..MAX_RESULTS {
        evaluations.push(evaluated(
            "Deployment",
            Some("big"),
            &format!("app-{i:04}"),
            &["HIPAA-K8S-IMAGE-REGISTRY"],
            &[("HIPAA-K8S-IMAGE-REGISTRY", Outcome::Fail, "unpinned image")],
        ));
    }
    evaluations.push(evaluated(
        "Deployment",
        Some("big"),
        "zz-last",
        &["HIPAA-K8S-SECRETS-IN-ENV"],
        &[("HIPAA-K8S-SECRETS-IN-ENV", Outcome::Fail, "a secret in env")],
    ));
    let key = namespace("big");
    let parts = partition(OWNER, &evaluations, &scope(&["big"]));
    let report = serde_json::to_value(render(
        ReportApi::PolicyReport,
        OWNER,
        &key,
        &parts[&key],
        Utc::now(),
    ))
    .unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_RESULTS);
    assert_eq!(report["summary"]["fail"], MAX_RESULTS + 1);
    assert_eq!(report["metadata"]["annotations"][OMITTED_ANNOTATION], "1");
    // The critical one is listed first, though its object sorts last.
    assert_eq!(results[0]["rule"], "HIPAA-K8S-SECRETS-IN-ENV");
    assert_eq!(results[0]["resources"][0]["name"], "zz-last");
}
