//! The report's AWS data stores: every S3 bucket, RDS instance and cluster, DynamoDB table and EFS
//! file system in the policies' `status.awsResources` (with the ALBs and IAM roles in front of
//! them), listed under each 45 CFR section of the catalog controls that judge its kind, then the
//! paths the status names to each: workload → IAM role → store, Ingress → ALB, claim → file
//! system. Results are the statuses' own; which sections apply comes from the catalog's targets,
//! so a control added there shows up here without a list to keep in step.

mod paths;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use hipaa_controls::aws::{
    KIND_ALB, KIND_DYNAMODB_TABLE, KIND_EFS_FILE_SYSTEM, KIND_IAM_ROLE, KIND_RDS_CLUSTER,
    KIND_RDS_INSTANCE, KIND_S3_BUCKET,
};
use hipaa_controls::{Control, Target};
use hipaa_crds::{AwsResourceStatus, ControlResult, HipaaPolicy};
use serde::Serialize;

pub use paths::{AccessPath, MAX_REPORT_PATHS};

use super::model::result_rank;
use super::sections::section_title;

/// The kinds this part lists, in the order it lists them: the stores, then what fronts them.
pub const DATA_STORE_KINDS: [&str; 7] = [
    KIND_S3_BUCKET,
    KIND_RDS_INSTANCE,
    KIND_RDS_CLUSTER,
    KIND_DYNAMODB_TABLE,
    KIND_EFS_FILE_SYSTEM,
    KIND_ALB,
    KIND_IAM_ROLE,
];

/// What the part says before its tables.
pub const INTRODUCTION: &str = "The AWS data stores linked to the policies (S3 buckets, RDS instances and clusters, DynamoDB tables, EFS file systems) and the load balancers and IAM roles in front of them, as each policy's status lists them: under every 45 CFR section of the controls that judge their kind, then the paths from the workloads to each.";

/// What the part says when no policy lists a data store.
pub const NONE_LINKED: &str =
    "No policy in the report's scope lists an AWS data store in its status.";

/// What a store without a path says.
pub const NO_PATH: &str = "the status names nothing that reaches it";

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataStores {
    /// Sections in citation order, each with the stores its controls judge.
    pub sections: Vec<StoreSection>,
    /// Every store once per policy that lists it, failing first.
    pub stores: Vec<DataStore>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreSection {
    pub section: String,
    pub title: String,
    pub stores: Vec<SectionStore>,
}

/// One store under one section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionStore {
    pub policy: String,
    pub kind: String,
    pub name: String,
    /// Its result under this section's controls only.
    pub result: ControlResult,
    /// This section's controls that fail or could not be evaluated on it.
    pub failed_controls: Vec<String>,
}

/// One store with its paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataStore {
    pub policy: String,
    pub kind: String,
    pub name: String,
    /// The status's result over every control that judges it.
    pub result: ControlResult,
    pub failed_controls: Vec<String>,
    pub checked_at: Option<String>,
    /// The sections it is listed under.
    pub sections: Vec<String>,
    /// How the in-scope workloads, Ingresses, claims or declaring objects reach it.
    pub paths: Vec<AccessPath>,
    /// Links not listed in `paths`: beyond the report's bound or the status's.
    pub more_paths: usize,
}

impl DataStore {
    /// `S3Bucket billing-records (policy production-phi)`.
    pub fn heading(&self) -> String {
        format!("{} {} (policy {})", self.kind, self.name, self.policy)
    }

    /// `and 12 more`, when links are left out.
    pub fn more_text(&self) -> Option<String> {
        (self.more_paths > 0).then(|| format!("and {} more", self.more_paths))
    }
}

/// The data stores of `policies`, judged by the controls of `catalog`; with `namespace`, only the
/// stores reached from it, by its paths.
pub fn build(policies: &[HipaaPolicy], catalog: &[Control], namespace: Option<&str>) -> DataStores {
    let mut stores = Vec::new();
    let mut by_section: BTreeMap<String, Vec<SectionStore>> = BTreeMap::new();
    for policy in policies {
        let Some(status) = policy.status.as_ref() else {
            continue;
        };
        let policy_name = policy.metadata.name.clone().unwrap_or_default();
        let policy_result = |id: &str| {
            status
                .controls
                .iter()
                .find(|c| c.id == id)
                .map_or(ControlResult::NotEvaluated, |c| c.result)
        };
        for aws in status
            .aws_resources
            .iter()
            .filter(|r| DATA_STORE_KINDS.contains(&r.kind.as_str()))
        {
            let Some((paths, more_paths)) = paths::listed(aws, namespace) else {
                continue;
            };
            let judging = controls_judging(catalog, &aws.kind);
            let mut sections: Vec<&'static str> = judging
                .iter()
                .flat_map(|c| c.sections.iter().copied())
                .collect();
            sections.sort_unstable();
            sections.dedup();
            for section in &sections {
                let here: Vec<&str> = judging
                    .iter()
                    .filter(|c| c.sections.contains(section))
                    .map(|c| c.id)
                    .collect();
                by_section
                    .entry((*section).to_string())
                    .or_default()
                    .push(SectionStore {
                        policy: policy_name.clone(),
                        kind: aws.kind.clone(),
                        name: aws.name.clone(),
                        result: result_under(aws, &here, policy_result),
                        failed_controls: failed_among(aws, &here),
                    });
            }
            stores.push(DataStore {
                policy: policy_name.clone(),
                kind: aws.kind.clone(),
                name: aws.name.clone(),
                result: aws.result,
                failed_controls: aws.failed_controls.clone(),
                checked_at: aws.checked_at.as_ref().map(|t| t.0.to_string()),
                sections: sections.iter().map(|s| (*s).to_string()).collect(),
                paths,
                more_paths,
            });
        }
    }
    stores.sort_by(|a, b| {
        sort_key(a.result, &a.kind, &a.name, &a.policy)
            .cmp(&sort_key(b.result, &b.kind, &b.name, &b.policy))
    });
    let sections = by_section
        .into_iter()
        .map(|(section, mut stores)| {
            stores.sort_by(|a, b| {
                sort_key(a.result, &a.kind, &a.name, &a.policy)
                    .cmp(&sort_key(b.result, &b.kind, &b.name, &b.policy))
            });
            StoreSection {
                title: section_title(&section).to_string(),
                section,
                stores,
            }
        })
        .collect();
    DataStores { sections, stores }
}

/// The catalog controls whose targets include the target of `kind`.
fn controls_judging<'c>(catalog: &'c [Control], kind: &str) -> Vec<&'c Control> {
    let Some(target) = Target::of_aws_kind(kind) else {
        return Vec::new();
    };
    catalog
        .iter()
        .filter(|c| c.targets.contains(&target))
        .collect()
}

fn failed_among(aws: &AwsResourceStatus, controls: &[&str]) -> Vec<String> {
    aws.failed_controls
        .iter()
        .filter(|id| controls.contains(&id.as_str()))
        .cloned()
        .collect()
}

/// An AWS resource's result under some of the controls that judge it, from its status entry
/// (`result`, `failedControls`) and each control's policy-wide result.
///
/// The entry lists the controls that failed *or* could not be evaluated on the resource without
/// saying which: a resource whose own result is Error has no failure, and a control whose
/// policy-wide result is Error failed on no resource, so both make it an Error here; else Fail.
/// Passing these controls while failing others is a Pass under these.
pub(super) fn result_under(
    aws: &AwsResourceStatus,
    controls: &[&str],
    policy_result: impl Fn(&str) -> ControlResult,
) -> ControlResult {
    let failed = failed_among(aws, controls);
    if !failed.is_empty() {
        let fails = aws.result != ControlResult::Error
            && failed
                .iter()
                .any(|id| policy_result(id) != ControlResult::Error);
        return if fails {
            ControlResult::Fail
        } else {
            ControlResult::Error
        };
    }
    if !controls.is_empty()
        && controls
            .iter()
            .all(|id| policy_result(id) == ControlResult::Disabled)
    {
        return ControlResult::Disabled;
    }
    match aws.result {
        ControlResult::Fail | ControlResult::Error => ControlResult::Pass,
        other => other,
    }
}

/// Failing first, then by kind in [`DATA_STORE_KINDS`] order, name and policy.
fn sort_key<'a>(
    result: ControlResult,
    kind: &str,
    name: &'a str,
    policy: &'a str,
) -> (u8, usize, &'a str, &'a str) {
    let kind_rank = DATA_STORE_KINDS
        .iter()
        .position(|known| *known == kind)
        .unwrap_or(DATA_STORE_KINDS.len());
    (result_rank(result), kind_rank, name, policy)
}
