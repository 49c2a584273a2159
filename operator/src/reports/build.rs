//! The reports an audit gives, as pure functions: [`partition`] groups the evaluations by report
//! and hashes each group (cheap: every audit does it, for every namespace in scope), and
//! [`render`] builds the body of one report (done only for the reports that changed).
//!
//! Only findings are listed (fail, error, and skip for a waived failure): a check that passes is
//! counted in the summary's `pass` but not listed, so a namespace of many compliant workloads
//! keeps a small report, and a resolved result disappears from the list into that count.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::model::{Finding, Outcome, Severity};
use hipaa_controls::object::kind::ObjectKind;
use hipaa_controls::tally::ResourceEvaluation;
use hipaa_crds::HipaaPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use serde::Serialize;

use super::{
    HASH_ANNOTATION, MANAGED_BY_LABEL, POLICY_ANNOTATION, POLICY_LABEL, ReportApi, ReportKey,
    SOURCE, policy_label_value, report_name,
};

/// Changes with the reports' layout, so that an operator that writes them differently rewrites
/// every report once.
const FORMAT: u64 = 2;

/// The most results one report lists (about 600 bytes each, well under the 1.5 MiB an object may
/// have in etcd): the most severe first; the summary still counts every one, and the annotation
/// [`OMITTED_ANNOTATION`] says how many were left out.
pub const MAX_RESULTS: usize = 1_000;
/// How many results a report leaves out beyond [`MAX_RESULTS`].
pub const OMITTED_ANNOTATION: &str = "hipaaguard.io/results-omitted";

/// The counts of a report (the printer columns of `kubectl get policyreports`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: u64,
    pub fail: u64,
    pub warn: u64,
    pub error: u64,
    pub skip: u64,
}

/// The evaluations one report lists, and what identifies its content.
#[derive(Debug, Default)]
pub struct ReportPart<'a> {
    pub evaluations: Vec<&'a ResourceEvaluation>,
    pub summary: Summary,
    /// Equal for two audits exactly when the reports they give are equal (the time aside).
    pub hash: u64,
}

/// The policy the reports belong to.
#[derive(Clone, Copy, Debug)]
pub struct ReportOwner<'a> {
    pub policy: &'a str,
    /// The policy's UID: the reports' owner, so that deleting the policy deletes them.
    pub uid: &'a str,
}

/// Every report of one audit: one per namespace in `scope` (empty when nothing there failed)
/// and the cluster's, each with its evaluations, summary and hash.
pub fn partition<'a>(
    owner: ReportOwner<'_>,
    evaluations: &'a [Arc<ResourceEvaluation>],
    scope: &BTreeSet<String>,
) -> BTreeMap<ReportKey, ReportPart<'a>> {
    let mut parts: BTreeMap<ReportKey, ReportPart<'a>> = scope
        .iter()
        .map(|namespace| {
            (
                ReportKey::Namespace(namespace.clone()),
                ReportPart::default(),
            )
        })
        .chain([(ReportKey::Cluster, ReportPart::default())])
        .collect();
    for evaluation in evaluations {
        let key = match &evaluation.resource.namespace {
            Some(namespace) => ReportKey::Namespace(namespace.clone()),
            None => ReportKey::Cluster,
        };
        let part = parts.entry(key).or_default();
        // A sum, so that the order of the evaluations does not matter.
        part.hash = part.hash.wrapping_add(evaluation_hash(evaluation));
        count(&mut part.summary, evaluation);
        if !evaluation.evaluation.findings.is_empty() {
            part.evaluations.push(evaluation);
        }
    }
    let owner_hash = hash_fields(&[owner.policy, owner.uid]);
    for (key, part) in &mut parts {
        let key_hash = hash_fields(&[key.namespace().unwrap_or("\u{0}cluster")]);
        part.hash = part
            .hash
            .wrapping_add(key_hash)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ owner_hash
            ^ FORMAT;
    }
    parts
}

fn count(summary: &mut Summary, evaluation: &ResourceEvaluation) {
    let findings = &evaluation.evaluation.findings;
    for finding in findings {
        match finding.outcome {
            Outcome::Fail => summary.fail += 1,
            Outcome::Error => summary.error += 1,
            Outcome::Excepted => summary.skip += 1,
        }
    }
    let passed = evaluation
        .evaluation
        .checked
        .iter()
        .filter(|control| !findings.iter().any(|f| f.control.id == control.id))
        .count();
    summary.pass += passed as u64;
}

/// Everything of one evaluation a report shows, hashed.
fn evaluation_hash(evaluation: &ResourceEvaluation) -> u64 {
    let mut hasher = hasher();
    let resource = &evaluation.resource;
    for field in [
        resource.kind.as_str(),
        resource.namespace.as_deref().unwrap_or(""),
        &resource.name,
    ] {
        hasher.write(field.as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.write_usize(evaluation.evaluation.checked.len());
    for finding in &evaluation.evaluation.findings {
        for field in [
            finding.control.id,
            finding.outcome.as_str(),
            &finding.message,
            enforcement_name(finding),
        ] {
            hasher.write(field.as_bytes());
            hasher.write_u8(0xff);
        }
        if let Some(exception) = &finding.exception {
            hasher.write(exception.policy.as_bytes());
            hasher.write_usize(exception.index);
        }
    }
    hasher.finish()
}

fn hash_fields(fields: &[&str]) -> u64 {
    let mut hasher = hasher();
    for field in fields {
        hasher.write(field.as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.finish()
}

fn hasher() -> impl Hasher {
    foldhash::quality::FixedState::with_seed(0x5245_504f_5254_5331).build_hasher()
}

fn enforcement_name(finding: &Finding) -> &'static str {
    match finding.enforcement {
        hipaa_crds::Enforcement::Audit => "Audit",
        hipaa_crds::Enforcement::Warn => "Warn",
        hipaa_crds::Enforcement::Enforce => "Enforce",
    }
}

/// A report as the API takes it (PolicyReport, ClusterPolicyReport, Report or ClusterReport).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<'a> {
    pub api_version: String,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    /// OpenReports names the source of the whole report as well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    pub summary: Summary,
    pub results: Vec<ReportResult<'a>>,
}

/// One result: one control on one object.
#[derive(Debug, Serialize)]
pub struct ReportResult<'a> {
    pub source: &'static str,
    /// The HipaaPolicy.
    pub policy: &'a str,
    /// The control ID.
    pub rule: &'static str,
    /// The control's first 45 CFR section.
    pub category: &'static str,
    pub severity: &'static str,
    pub result: &'static str,
    pub scored: bool,
    pub message: &'a str,
    pub timestamp: Timestamp,
    pub resources: [ResultResource<'a>; 1],
    pub properties: BTreeMap<&'static str, String>,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// The object a result is about (for an AWS resource: its kind and name or ARN).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultResource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    pub kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

/// The body of one report, its results sorted by control then object, stamped with `now`.
pub fn render<'a>(
    api: ReportApi,
    owner: ReportOwner<'a>,
    key: &ReportKey,
    part: &ReportPart<'a>,
    now: DateTime<Utc>,
) -> Report<'a> {
    let timestamp = Timestamp {
        seconds: now.timestamp(),
        nanos: 0,
    };
    let mut results: Vec<ReportResult<'a>> = part
        .evaluations
        .iter()
        .flat_map(|evaluation| evaluation.evaluation.findings.iter())
        .map(|finding| result(owner.policy, finding, timestamp))
        .collect();
    results.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let omitted = results.len().saturating_sub(MAX_RESULTS);
    results.truncate(MAX_RESULTS);
    Report {
        api_version: api.api_version(),
        kind: api.kind(key),
        metadata: metadata(owner, key, part.hash, omitted),
        source: (api == ReportApi::OpenReports).then_some(SOURCE),
        summary: part.summary,
        results,
    }
}

/// Most severe first, then by control and object.
fn sort_key<'r>(result: &'r ReportResult<'_>) -> (u8, &'r str, &'r str, &'r str, &'r str) {
    let [resource] = &result.resources;
    let rank = match result.severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        _ => 3,
    };
    (
        rank,
        result.rule,
        resource.kind,
        resource.name,
        result.message,
    )
}

fn result<'a>(policy: &'a str, finding: &'a Finding, timestamp: Timestamp) -> ReportResult<'a> {
    let control = finding.control;
    let mut properties = BTreeMap::from([
        ("title", control.title.to_owned()),
        ("sections", control.sections.join(", ")),
        ("remediation", control.remediation.to_owned()),
        ("enforcement", enforcement_name(finding).to_owned()),
    ]);
    if let Some(exception) = &finding.exception {
        properties.insert(
            "exception",
            format!("{} spec.exceptions[{}]", exception.policy, exception.index),
        );
    }
    let resource = &finding.resource;
    ReportResult {
        source: SOURCE,
        policy,
        rule: control.id,
        category: control.sections.first().copied().unwrap_or(""),
        severity: severity_name(control.severity),
        result: match finding.outcome {
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Excepted => "skip",
        },
        scored: true,
        message: &finding.message,
        timestamp,
        resources: [ResultResource {
            api_version: ObjectKind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == resource.kind)
                .map(ObjectKind::api_version),
            kind: &resource.kind,
            namespace: resource.namespace.as_deref(),
            name: &resource.name,
        }],
        properties,
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

fn metadata(owner: ReportOwner<'_>, key: &ReportKey, hash: u64, omitted: usize) -> ObjectMeta {
    let mut annotations = BTreeMap::from([
        (POLICY_ANNOTATION.to_owned(), owner.policy.to_owned()),
        (HASH_ANNOTATION.to_owned(), format!("{hash:016x}")),
    ]);
    if omitted > 0 {
        annotations.insert(OMITTED_ANNOTATION.to_owned(), omitted.to_string());
    }
    ObjectMeta {
        name: Some(report_name(owner.policy)),
        namespace: key.namespace().map(str::to_owned),
        labels: Some(BTreeMap::from([
            (MANAGED_BY_LABEL.to_owned(), SOURCE.to_owned()),
            (POLICY_LABEL.to_owned(), policy_label_value(owner.policy)),
        ])),
        annotations: Some(annotations),
        owner_references: Some(vec![OwnerReference {
            api_version: HipaaPolicy::api_version(&()).into_owned(),
            kind: HipaaPolicy::kind(&()).into_owned(),
            name: owner.policy.to_owned(),
            uid: owner.uid.to_owned(),
            ..OwnerReference::default()
        }]),
        ..ObjectMeta::default()
    }
}
