//! The reports' pure steps on a hand-made audit: partition and summary, the rendered bodies of
//! both APIs, the content hash (what decides a write), and the plan of writes and deletes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use hipaa_controls::engine::Evaluation;
use hipaa_controls::model::{ExceptionRef, Finding, Outcome, ResourceRef};
use hipaa_controls::tally::ResourceEvaluation;
use hipaa_crds::Enforcement;
use serde_json::json;

use super::build::{ReportOwner, ReportPart, partition, render};
use super::plan::{ReportMemory, ReportPlan, plan};
use super::*;

const OWNER: ReportOwner<'static> = ReportOwner {
    policy: "phi",
    uid: "0b7c-uid",
};

fn control(id: &str) -> &'static hipaa_controls::model::Control {
    hipaa_controls::control(id).unwrap()
}

fn finding(id: &str, outcome: Outcome, resource: &ResourceRef, message: &str) -> Finding {
    Finding {
        control: control(id),
        outcome,
        resource: resource.clone(),
        message: message.to_owned(),
        enforcement: Enforcement::Enforce,
        exception: (outcome == Outcome::Excepted).then(|| ExceptionRef {
            policy: "phi".to_owned(),
            index: 0,
        }),
    }
}

fn evaluated(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    checked: &[&str],
    failed: &[(&str, Outcome, &str)],
) -> Arc<ResourceEvaluation> {
    let resource = ResourceRef::new(kind, namespace, name);
    let findings = failed
        .iter()
        .map(|(id, outcome, message)| finding(id, *outcome, &resource, message))
        .collect();
    let checked = checked.iter().map(|id| control(id)).collect();
    Arc::new(ResourceEvaluation::new(
        resource,
        Evaluation { findings, checked },
    ))
}

/// Two namespaces with findings, a third clean one, a Namespace and an EKS cluster.
fn audit() -> Vec<Arc<ResourceEvaluation>> {
    vec![
        evaluated(
            "Namespace",
            None,
            "billing",
            &["HIPAA-K8S-NETPOL"],
            &[(
                "HIPAA-K8S-NETPOL",
                Outcome::Fail,
                "Namespace billing has no default-deny NetworkPolicy",
            )],
        ),
        evaluated(
            "Deployment",
            Some("billing"),
            "api",
            &[
                "HIPAA-K8S-PRIVILEGED",
                "HIPAA-K8S-HA",
                "HIPAA-K8S-SECRETS-IN-ENV",
            ],
            &[(
                "HIPAA-K8S-PRIVILEGED",
                Outcome::Fail,
                "Deployment billing/api runs privileged",
            )],
        ),
        evaluated(
            "Service",
            Some("billing"),
            "web",
            &["HIPAA-K8S-TLS-LB"],
            &[],
        ),
        evaluated(
            "Deployment",
            Some("claims"),
            "worker",
            &["HIPAA-K8S-SECRETS-IN-ENV"],
            &[(
                "HIPAA-K8S-SECRETS-IN-ENV",
                Outcome::Excepted,
                "Deployment claims/worker has a secret in env",
            )],
        ),
        evaluated(
            "EKSCluster",
            None,
            "arn:aws:eks:us-east-1:111122223333:cluster/prod",
            &["HIPAA-EKS-AUDIT-LOGGING"],
            &[(
                "HIPAA-EKS-AUDIT-LOGGING",
                Outcome::Error,
                "DescribeCluster was denied",
            )],
        ),
    ]
}

fn scope(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn namespace(name: &str) -> ReportKey {
    ReportKey::Namespace(name.to_owned())
}

fn hashes(parts: &BTreeMap<ReportKey, ReportPart<'_>>) -> BTreeMap<ReportKey, u64> {
    parts.iter().map(|(k, p)| (k.clone(), p.hash)).collect()
}

#[test]
fn every_namespace_in_scope_has_a_report_and_the_cluster_one_more() {
    let evaluations = audit();
    let parts = partition(OWNER, &evaluations, &scope(&["billing", "claims", "quiet"]));
    let keys: Vec<&ReportKey> = parts.keys().collect();
    assert_eq!(
        keys,
        [
            &namespace("billing"),
            &namespace("claims"),
            &namespace("quiet"),
            &ReportKey::Cluster
        ]
    );
    let billing = &parts[&namespace("billing")].summary;
    // api passes HA and SECRETS-IN-ENV, web passes TLS-LB; api fails PRIVILEGED.
    assert_eq!(
        (billing.pass, billing.fail, billing.error, billing.skip),
        (3, 1, 0, 0)
    );
    let claims = &parts[&namespace("claims")].summary;
    assert_eq!((claims.pass, claims.fail, claims.skip), (0, 0, 1));
    let quiet = &parts[&namespace("quiet")];
    assert_eq!(quiet.summary, Default::default());
    assert!(quiet.evaluations.is_empty());
    let cluster = &parts[&ReportKey::Cluster].summary;
    assert_eq!((cluster.fail, cluster.error), (1, 1));
    // Only evaluations with findings are kept for rendering.
    assert_eq!(parts[&namespace("billing")].evaluations.len(), 1);
}

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
fn the_hash_follows_the_content_and_nothing_else() {
    let evaluations = audit();
    let all = scope(&["billing", "claims", "quiet"]);
    let before = hashes(&partition(OWNER, &evaluations, &all));
    // Order does not matter.
    let mut reversed = evaluations.clone();
    reversed.reverse();
    assert_eq!(hashes(&partition(OWNER, &reversed, &all)), before);
    // A changed message in billing changes billing's report only.
    let mut changed = evaluations.clone();
    changed[1] = evaluated(
        "Deployment",
        Some("billing"),
        "api",
        &[
            "HIPAA-K8S-PRIVILEGED",
            "HIPAA-K8S-HA",
            "HIPAA-K8S-SECRETS-IN-ENV",
        ],
        &[(
            "HIPAA-K8S-PRIVILEGED",
            Outcome::Fail,
            "Deployment billing/api runs privileged (sidecar)",
        )],
    );
    let after = hashes(&partition(OWNER, &changed, &all));
    let differing: Vec<&ReportKey> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(differing, [&namespace("billing")]);
    // A resolved failure changes the report too (it moves into the pass count).
    changed[1] = evaluated(
        "Deployment",
        Some("billing"),
        "api",
        &[
            "HIPAA-K8S-PRIVILEGED",
            "HIPAA-K8S-HA",
            "HIPAA-K8S-SECRETS-IN-ENV",
        ],
        &[],
    );
    assert_ne!(
        hashes(&partition(OWNER, &changed, &all))[&namespace("billing")],
        before[&namespace("billing")]
    );
    // Two empty namespaces differ, and a policy re-created under the same name (a new UID)
    // writes every report again.
    assert_ne!(
        before[&namespace("quiet")],
        hashes(&partition(OWNER, &evaluations, &scope(&["other"])))[&namespace("other")]
    );
    let recreated = ReportOwner {
        policy: "phi",
        uid: "new-uid",
    };
    let again = hashes(&partition(recreated, &evaluations, &all));
    assert!(before.keys().all(|k| before[k] != again[k]));
}

#[test]
fn only_changed_reports_are_written_and_those_of_departed_namespaces_deleted() {
    let evaluations = audit();
    let api = ReportApi::PolicyReport;
    let parts = partition(OWNER, &evaluations, &scope(&["billing", "claims", "quiet"]));
    let mut memory = ReportMemory::default();
    let first = plan(api, &memory, &parts);
    assert_eq!(first.apply.len(), 4);
    assert!(first.delete.is_empty());
    for (key, part) in &parts {
        memory.written.insert((api, key.clone()), part.hash);
    }
    assert!(plan(api, &memory, &parts).is_empty());
    // The other API has its own memory.
    assert_eq!(plan(ReportApi::OpenReports, &memory, &parts).apply.len(), 4);
    // quiet leaves the scope; billing changes.
    let mut changed = evaluations.clone();
    changed.remove(1);
    let parts = partition(OWNER, &changed, &scope(&["billing", "claims"]));
    assert_eq!(
        plan(api, &memory, &parts),
        ReportPlan {
            apply: vec![namespace("billing")],
            delete: vec![namespace("quiet")]
        }
    );
}

#[test]
fn seeding_replaces_what_is_known_of_one_api() {
    let mut memory = ReportMemory::default();
    memory
        .written
        .insert((ReportApi::PolicyReport, namespace("old")), 1);
    memory
        .written
        .insert((ReportApi::OpenReports, namespace("old")), 1);
    assert!(memory.needs_seed(ReportApi::PolicyReport, 1));
    memory.seed(ReportApi::PolicyReport, 1, vec![(namespace("billing"), 7)]);
    assert!(!memory.needs_seed(ReportApi::PolicyReport, 1));
    assert!(memory.needs_seed(ReportApi::PolicyReport, 2));
    assert_eq!(
        memory
            .written
            .get(&(ReportApi::PolicyReport, namespace("billing"))),
        Some(&7)
    );
    assert_eq!(
        memory
            .written
            .get(&(ReportApi::PolicyReport, namespace("old"))),
        None
    );
    assert_eq!(
        memory
            .written
            .get(&(ReportApi::OpenReports, namespace("old"))),
        Some(&1)
    );
}

#[test]
fn long_policy_names_give_valid_report_names_and_labels() {
    assert_eq!(report_name("phi"), "hipaa-guard-phi");
    assert_eq!(policy_label_value("phi"), "phi");
    let long = "a".repeat(253);
    assert!(report_name(&long).len() <= 253);
    let label = policy_label_value(&long);
    assert!(label.len() <= 63, "{label}");
    assert_ne!(
        policy_label_value(&"a".repeat(70)),
        policy_label_value(&"a".repeat(71))
    );
    // A trailing dash is not a valid label value's end.
    assert!(!policy_label_value("phi-").ends_with('-'));
}
