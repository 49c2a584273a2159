//! The evidence report's content, built from the HipaaPolicies' statuses (the operator's verdicts,
//! never recomputed) and the inventory of what each control checked at report time. Markdown,
//! HTML and JSON render this one model.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use hipaa_controls::{Control, catalog};
use hipaa_crds::{ComplianceSummary, ControlResult, HipaaPolicy};
use serde::Serialize;

use super::access::AccessReview;
use super::data_stores::{self, DataStores};
pub use super::exceptions::ExceptionEvidence;
use super::exceptions::exceptions;
use super::sections::{part_title, section_title};
use super::trend::TrendPoint;

/// What each policy's controls checked, by policy name, then control ID: resource names.
pub type CheckedResources = BTreeMap<String, BTreeMap<&'static str, BTreeSet<String>>>;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceReport {
    pub generated_at: String,
    pub cluster: ClusterIdentity,
    /// With `-n`: the namespace the report is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub policies: Vec<PolicyEvidence>,
    /// 164.308 and 164.312, each with its sections and the controls mapped to them.
    pub parts: Vec<PartEvidence>,
    /// One entry per catalog control, in catalog order.
    pub controls: Vec<ControlEvidence>,
    pub exceptions: Vec<ExceptionEvidence>,
    /// The AWS data stores by 45 CFR section, and the paths from workloads to each.
    pub data_stores: DataStores,
    /// Who can reach each PHI namespace in the report's scope.
    pub access_review: AccessReview,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    /// The API server URL.
    pub server: String,
    /// `/version`'s gitVersion, e.g. `v1.35.4`.
    pub version: Option<String>,
    /// `/version`'s platform, e.g. `linux/amd64`.
    pub platform: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvidence {
    pub name: String,
    pub enforcement: String,
    pub compliant: Option<String>,
    pub summary: Option<ComplianceSummary>,
    pub last_audit_time: Option<String>,
    /// The namespaces the policy selects at report time.
    pub namespaces: Vec<String>,
    /// The status lists only the first violations.
    pub violations_truncated: bool,
    /// The policy's audits over time, from the evidence history (empty without one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<TrendPoint>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartEvidence {
    pub part: String,
    pub title: String,
    pub sections: Vec<SectionEvidence>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionEvidence {
    pub section: String,
    pub title: String,
    /// The controls mapped to this section, with their overall result.
    pub controls: Vec<SectionControl>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionControl {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub result: ControlResult,
    pub violations: u32,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlEvidence {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub sections: Vec<String>,
    pub description: String,
    pub remediation: String,
    /// The worst result over the policies (Fail, Error, Excepted, Pass, NotEvaluated, Disabled).
    pub result: ControlResult,
    pub results: Vec<PolicyResult>,
    /// Kubernetes objects the control checks at report time, `Kind namespace/name`.
    pub kubernetes_resources: Vec<String>,
    /// AWS resources the control applies to, from the statuses.
    pub aws_resources: Vec<AwsEvidence>,
    /// The violations the statuses list for this control.
    pub findings: Vec<FindingEvidence>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResult {
    pub policy: String,
    pub result: ControlResult,
    pub violations: u32,
    /// When it was judged: the policy's last audit.
    pub checked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsEvidence {
    pub policy: String,
    pub kind: String,
    pub name: String,
    /// Fail or Error when this control fails or could not be evaluated on it, else the
    /// resource's result (`data_stores::result_under`).
    pub result: ControlResult,
    pub checked_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingEvidence {
    pub policy: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub message: String,
}

/// What the report is built from.
pub struct ReportInputs<'a> {
    pub policies: &'a [HipaaPolicy],
    /// The namespaces each policy selects at report time.
    pub selected_namespaces: &'a BTreeMap<String, Vec<String>>,
    pub checked: &'a CheckedResources,
    pub cluster: ClusterIdentity,
    pub namespace: Option<String>,
    pub now: DateTime<Utc>,
    pub access_review: &'a AccessReview,
}

/// Builds the report.
pub fn build(inputs: &ReportInputs<'_>) -> EvidenceReport {
    let controls: Vec<ControlEvidence> = catalog()
        .iter()
        .map(|c| control_evidence(c, inputs))
        .collect();
    EvidenceReport {
        generated_at: inputs.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        cluster: inputs.cluster.clone(),
        namespace: inputs.namespace.clone(),
        policies: inputs
            .policies
            .iter()
            .map(|p| policy_evidence(p, inputs))
            .collect(),
        parts: parts(&controls),
        controls,
        data_stores: data_stores::build(inputs.policies, catalog(), inputs.namespace.as_deref()),
        exceptions: inputs
            .policies
            .iter()
            .flat_map(|p| exceptions(p, inputs.now))
            .collect(),
        access_review: inputs.access_review.clone(),
    }
}

fn name_of(policy: &HipaaPolicy) -> String {
    policy.metadata.name.clone().unwrap_or_default()
}

fn policy_evidence(policy: &HipaaPolicy, inputs: &ReportInputs<'_>) -> PolicyEvidence {
    let status = policy.status.as_ref();
    let name = name_of(policy);
    PolicyEvidence {
        enforcement: policy.spec.enforcement.as_str().to_string(),
        compliant: status
            .and_then(|s| {
                s.conditions
                    .iter()
                    .find(|c| c.type_ == hipaa_crds::CONDITION_COMPLIANT)
            })
            .map(|c| c.status.clone()),
        summary: status.and_then(|s| s.summary.clone()),
        last_audit_time: last_audit(policy),
        namespaces: inputs
            .selected_namespaces
            .get(&name)
            .cloned()
            .unwrap_or_default(),
        violations_truncated: status.is_some_and(|s| s.truncated),
        trend: Vec::new(),
        name,
    }
}

fn last_audit(policy: &HipaaPolicy) -> Option<String> {
    policy
        .status
        .as_ref()
        .and_then(|s| s.last_audit_time.as_ref())
        .map(|t| t.0.to_string())
}

/// Severity of the worst result first.
pub(super) fn result_rank(result: ControlResult) -> u8 {
    match result {
        ControlResult::Fail => 0,
        ControlResult::Error => 1,
        ControlResult::Excepted => 2,
        ControlResult::Pass => 3,
        ControlResult::NotEvaluated => 4,
        ControlResult::Disabled => 5,
    }
}

fn control_evidence(control: &'static Control, inputs: &ReportInputs<'_>) -> ControlEvidence {
    let mut results = Vec::new();
    let mut aws_resources = Vec::new();
    let mut findings = Vec::new();
    let mut kubernetes_resources = BTreeSet::new();
    let aws_kinds: Vec<&str> = control.targets.iter().flat_map(|t| t.aws_kinds()).collect();
    for policy in inputs.policies {
        let name = name_of(policy);
        let status = policy.status.clone().unwrap_or_default();
        let mine = status.controls.iter().find(|c| c.id == control.id);
        let result = mine.map_or(ControlResult::NotEvaluated, |c| c.result);
        results.push(PolicyResult {
            policy: name.clone(),
            result,
            violations: mine.map_or(0, |c| c.violations),
            checked_at: last_audit(policy),
            message: mine.and_then(|c| c.message.clone()),
        });
        for aws in status
            .aws_resources
            .iter()
            .filter(|r| aws_kinds.contains(&r.kind.as_str()))
        {
            aws_resources.push(AwsEvidence {
                policy: name.clone(),
                kind: aws.kind.clone(),
                name: aws.name.clone(),
                result: data_stores::result_under(aws, &[control.id], |_| result),
                checked_at: aws.checked_at.as_ref().map(|t| t.0.to_string()),
            });
        }
        findings.extend(
            status
                .violations
                .iter()
                .filter(|v| v.control == control.id)
                .filter(|v| {
                    inputs
                        .namespace
                        .as_ref()
                        .is_none_or(|ns| v.namespace.as_ref() == Some(ns))
                })
                .map(|v| FindingEvidence {
                    policy: name.clone(),
                    kind: v.kind.clone(),
                    namespace: v.namespace.clone(),
                    name: v.name.clone(),
                    message: v.message.clone(),
                }),
        );
        if let Some(checked) = inputs
            .checked
            .get(&name)
            .and_then(|by_control| by_control.get(control.id))
        {
            kubernetes_resources.extend(checked.iter().cloned());
        }
    }
    let result = results
        .iter()
        .map(|r| r.result)
        .min_by_key(|r| result_rank(*r))
        .unwrap_or(ControlResult::NotEvaluated);
    ControlEvidence {
        id: control.id.to_string(),
        title: control.title.to_string(),
        severity: control.severity.as_str().to_string(),
        sections: control.sections.iter().map(|s| s.to_string()).collect(),
        description: control.description.to_string(),
        remediation: control.remediation.to_string(),
        result,
        results,
        kubernetes_resources: kubernetes_resources.into_iter().collect(),
        aws_resources,
        findings,
    }
}

/// Sections grouped by part (164.308, 164.312), in regulation order.
fn parts(controls: &[ControlEvidence]) -> Vec<PartEvidence> {
    let mut by_section: BTreeMap<String, Vec<SectionControl>> = BTreeMap::new();
    for control in controls {
        for section in &control.sections {
            by_section
                .entry(section.clone())
                .or_default()
                .push(SectionControl {
                    id: control.id.clone(),
                    title: control.title.clone(),
                    severity: control.severity.clone(),
                    result: control.result,
                    violations: control.results.iter().map(|r| r.violations).sum(),
                });
        }
    }
    let mut parts: Vec<PartEvidence> = Vec::new();
    for (section, controls) in by_section {
        let part = section.split('(').next().unwrap_or(&section).to_string();
        let evidence = SectionEvidence {
            title: section_title(&section).to_string(),
            section,
            controls,
        };
        match parts.iter_mut().find(|p| p.part == part) {
            Some(existing) => existing.sections.push(evidence),
            None => parts.push(PartEvidence {
                title: part_title(&part).to_string(),
                part,
                sections: vec![evidence],
            }),
        }
    }
    parts
}
