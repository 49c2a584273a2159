//! The paths to one AWS resource, from its status entry's `linkedBy`: who reaches it, by which
//! IAM role and how (`IRSA`, `PodIdentity`, `Ingress`, `Volume`, `ACK`, `Crossplane`), in the one
//! line the report prints, e.g. `Deployment billing/api → arn:aws:iam::…:role/billing-api (IRSA) →
//! S3Bucket billing-records`. Bounded: a store that thousands of workloads reach lists the first
//! few and counts the rest.

use hipaa_controls::aws::KIND_IAM_ROLE;
use hipaa_crds::{AwsResourceLink, AwsResourceStatus};
use serde::Serialize;

/// The most paths the report lists per store (the status keeps up to
/// `MAX_STATUS_RESOURCE_LINKS`; the rest are counted).
pub const MAX_REPORT_PATHS: usize = 10;

/// One path to a store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPath {
    /// The Kubernetes object at its start: a workload, an Ingress, a claim, an ACK or Crossplane
    /// object.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// The IAM role the workload reaches the store by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub via: String,
    /// The whole path as the report prints it.
    pub path: String,
}

/// The paths to `aws` the report lists, and how many links it leaves out. With `namespace`, only
/// the paths that start in it; `None` when none does and the status lists every link (the store
/// is not reached from that namespace). Links the status left out may start anywhere, so they
/// keep the store and are counted.
pub fn listed(
    aws: &AwsResourceStatus,
    namespace: Option<&str>,
) -> Option<(Vec<AccessPath>, usize)> {
    let listed = aws.linked_by.len();
    let total = aws
        .linked_by_total
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or(listed)
        .max(listed);
    let unlisted = total - listed;
    let in_scope: Vec<&AwsResourceLink> = aws
        .linked_by
        .iter()
        .filter(|link| namespace.is_none_or(|ns| link.namespace.as_deref() == Some(ns)))
        .collect();
    if namespace.is_some() && in_scope.is_empty() && unlisted == 0 {
        return None;
    }
    let more = in_scope.len().saturating_sub(MAX_REPORT_PATHS) + unlisted;
    let paths = in_scope
        .into_iter()
        .take(MAX_REPORT_PATHS)
        .map(|link| access_path(aws, link))
        .collect();
    Some((paths, more))
}

fn access_path(aws: &AwsResourceStatus, link: &AwsResourceLink) -> AccessPath {
    let start = match &link.namespace {
        Some(ns) => format!("{} {ns}/{}", link.kind, link.name),
        None => format!("{} {}", link.kind, link.name),
    };
    let store = format!("{} {}", aws.kind, aws.name);
    // A role's own links are the workloads that run with it: the role is the end of the path.
    let path = match &link.role {
        Some(role) if aws.kind != KIND_IAM_ROLE => {
            format!("{start} → {role} ({}) → {store}", link.via)
        }
        _ => format!("{start} → {store} ({})", link.via),
    };
    AccessPath {
        kind: link.kind.clone(),
        namespace: link.namespace.clone(),
        name: link.name.clone(),
        role: link.role.clone(),
        via: link.via.clone(),
        path,
    }
}
