//! The access review's AWS side: the IAM principal behind each EKS access entry and aws-auth
//! mapping of the clusters the policies link, as the operator recorded them in each policy's
//! `status.eksAccess` (the report calls no AWS API, like the rest of its AWS evidence).

use hipaa_controls::HipaaPolicy;
use hipaa_crds::{AwsAuthMappingStatus, EksAccessEntryStatus, EksAccessStatus};
use kube::ResourceExt;
use serde::Serialize;

pub const PRINCIPAL_HEADERS: [&str; 5] = [
    "IAM principal",
    "Mapped by",
    "Kubernetes username",
    "Kubernetes groups",
    "Access policies (scope)",
];

/// One EKS cluster's principals, from the first policy (by name) that links it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksClusterPrincipals {
    /// Every policy whose status describes the cluster.
    pub policies: Vec<String>,
    #[serde(flatten)]
    pub access: EksAccessStatus,
}

/// The clusters the policies' statuses describe, each once, by cluster name.
pub fn eks_principals(policies: &[HipaaPolicy]) -> Vec<EksClusterPrincipals> {
    let mut sorted: Vec<&HipaaPolicy> = policies.iter().collect();
    sorted.sort_by_key(|policy| policy.name_any());
    let mut clusters: Vec<EksClusterPrincipals> = Vec::new();
    for policy in sorted {
        let Some(access) = policy.status.as_ref().and_then(|s| s.eks_access.as_ref()) else {
            continue;
        };
        match clusters
            .iter_mut()
            .find(|known| known.access.cluster == access.cluster)
        {
            Some(known) => known.policies.push(policy.name_any()),
            None => clusters.push(EksClusterPrincipals {
                policies: vec![policy.name_any()],
                access: access.clone(),
            }),
        }
    }
    clusters.sort_by(|a, b| a.access.cluster.cmp(&b.access.cluster));
    clusters
}

/// `EKS cluster prod (authentication mode API; HipaaPolicy production-phi)`.
pub fn heading(cluster: &EksClusterPrincipals) -> String {
    format!(
        "EKS cluster {} (authentication mode {}; HipaaPolicy {})",
        cluster.access.cluster,
        cluster
            .access
            .authentication_mode
            .as_deref()
            .unwrap_or("not reported"),
        cluster.policies.join(", ")
    )
}

/// One row per access entry, then one per aws-auth mapping.
pub fn principal_rows(access: &EksAccessStatus) -> Vec<[String; 5]> {
    access
        .access_entries
        .iter()
        .map(entry_row)
        .chain(access.aws_auth.iter().map(mapping_row))
        .collect()
}

/// Why part of the cluster's principals is missing, one sentence each.
pub fn gaps(access: &EksAccessStatus) -> Vec<String> {
    let mut gaps = Vec::new();
    if let Some(error) = &access.access_entries_error {
        gaps.push(format!("the access entries could not be listed: {error}"));
    }
    if let Some(error) = &access.aws_auth_error {
        gaps.push(format!("the aws-auth ConfigMap could not be read: {error}"));
    }
    if access.truncated {
        gaps.push("the operator's status lists only the first 200 of each".to_string());
    }
    gaps
}

fn entry_row(entry: &EksAccessEntryStatus) -> [String; 5] {
    let policies: Vec<String> = entry
        .access_policies
        .iter()
        .map(|policy| {
            if policy.namespaces.is_empty() {
                format!("{} ({})", policy.policy, policy.scope)
            } else {
                format!(
                    "{} ({}: {})",
                    policy.policy,
                    policy.scope,
                    policy.namespaces.join(", ")
                )
            }
        })
        .collect();
    [
        entry.principal_arn.clone(),
        format!(
            "access entry ({})",
            entry.entry_type.as_deref().unwrap_or("type not reported")
        ),
        entry.username.clone().unwrap_or_else(|| "—".to_string()),
        dash_if_empty(entry.kubernetes_groups.join(", ")),
        dash_if_empty(policies.join("; ")),
    ]
}

fn mapping_row(mapping: &AwsAuthMappingStatus) -> [String; 5] {
    [
        mapping.arn.clone(),
        format!("aws-auth {}", mapping.list),
        mapping.username.clone().unwrap_or_else(|| "—".to_string()),
        dash_if_empty(mapping.groups.join(", ")),
        "—".to_string(),
    ]
}

fn dash_if_empty(text: String) -> String {
    if text.is_empty() {
        "—".to_string()
    } else {
        text
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use hipaa_crds::{EksAccessPolicyStatus, HipaaPolicyStatus};

    pub(crate) fn policy_with(name: &str, access: Option<EksAccessStatus>) -> HipaaPolicy {
        let mut policy: HipaaPolicy = yaml_serde::from_str(&format!(
            "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: {name}}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: \"true\"}}}}
"
        ))
        .unwrap();
        policy.status = Some(HipaaPolicyStatus {
            eks_access: access,
            ..HipaaPolicyStatus::default()
        });
        policy
    }

    pub(crate) fn prod_access() -> EksAccessStatus {
        EksAccessStatus {
            cluster: "prod".into(),
            authentication_mode: Some("API_AND_CONFIG_MAP".into()),
            access_entries: vec![EksAccessEntryStatus {
                principal_arn: "arn:aws:iam::111122223333:role/platform-admin".into(),
                entry_type: Some("STANDARD".into()),
                username: Some("platform-admin".into()),
                kubernetes_groups: Vec::new(),
                access_policies: vec![EksAccessPolicyStatus {
                    policy: "AmazonEKSClusterAdminPolicy".into(),
                    scope: "cluster".into(),
                    namespaces: Vec::new(),
                }],
            }],
            aws_auth: vec![AwsAuthMappingStatus {
                list: "mapUsers".into(),
                arn: "arn:aws:iam::111122223333:user/alice".into(),
                username: Some("alice".into()),
                groups: vec!["system:masters".into()],
            }],
            aws_auth_error: None,
            access_entries_error: None,
            truncated: false,
        }
    }

    #[test]
    fn each_cluster_is_listed_once_with_every_policy_that_links_it() {
        let policies = [
            policy_with("b", Some(prod_access())),
            policy_with("a", Some(prod_access())),
            policy_with("c", None),
        ];
        let clusters = eks_principals(&policies);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].policies, ["a", "b"]);
        assert_eq!(
            heading(&clusters[0]),
            "EKS cluster prod (authentication mode API_AND_CONFIG_MAP; HipaaPolicy a, b)"
        );
        let rows = principal_rows(&clusters[0].access);
        assert_eq!(
            rows[0],
            [
                "arn:aws:iam::111122223333:role/platform-admin",
                "access entry (STANDARD)",
                "platform-admin",
                "—",
                "AmazonEKSClusterAdminPolicy (cluster)"
            ]
        );
        assert_eq!(rows[1][1], "aws-auth mapUsers");
        assert_eq!(rows[1][3], "system:masters");
        let mut denied = prod_access();
        denied.access_entries_error = Some("AccessDeniedException: no".into());
        assert_eq!(
            gaps(&denied),
            ["the access entries could not be listed: AccessDeniedException: no"]
        );
    }
}
