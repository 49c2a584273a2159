//! EKS access entries: ListAccessEntries (paginated), then for each principal DescribeAccessEntry
//! and ListAssociatedAccessPolicies (paginated), concurrently within the clients' limit. Any call
//! that fails fails the whole lookup, so that HIPAA-EKS-ACCESS-ADMIN reports Error rather than
//! judging a partial list.

use aws_sdk_eks::types::{AccessEntry as SdkAccessEntry, AssociatedAccessPolicy as SdkPolicy};
use futures::future::try_join_all;
use hipaa_controls::aws::{AccessEntry, AssociatedAccessPolicy, EksCluster, Lookup};
use kube::Client;

use super::aws_auth;
use super::clients::{Clients, RegionClients};
use super::error::{actions, lookup_error};

/// Adds what the cluster's authentication mode uses to a DescribeCluster snapshot: the access
/// entries (API, API_AND_CONFIG_MAP) and the aws-auth mappings (CONFIG_MAP, API_AND_CONFIG_MAP).
/// An unknown or missing mode looks up neither; the controls report Error for it.
pub async fn add_principals(
    clients: &Clients,
    regional: &RegionClients,
    kube: Option<&Client>,
    cluster: &mut EksCluster,
) {
    let Some(mode) = cluster.authentication_mode.clone() else {
        return;
    };
    if mode.uses_access_entries() {
        cluster.access_entries = Some(access_entries(clients, regional, &cluster.name).await);
    }
    if mode.uses_config_map() {
        cluster.aws_auth = Some(aws_auth::read(kube).await);
    }
}

/// Every access entry of cluster `name` with its associated access policies.
pub async fn access_entries(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Vec<AccessEntry>> {
    let principals = list_access_entries(clients, regional, name).await?;
    try_join_all(
        principals
            .iter()
            .map(|principal| access_entry(clients, regional, name, principal)),
    )
    .await
}

/// ListAccessEntries, every page.
async fn list_access_entries(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Vec<String>> {
    let mut principals = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let output = {
            let _permit = clients.permit().await;
            regional
                .eks
                .list_access_entries()
                .cluster_name(name)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| lookup_error(&error, actions::EKS_LIST_ACCESS_ENTRIES))?
        };
        principals.extend(output.access_entries().iter().cloned());
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(principals),
        }
    }
}

/// DescribeAccessEntry and ListAssociatedAccessPolicies of one principal.
async fn access_entry(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
    principal: &str,
) -> Lookup<AccessEntry> {
    let described = {
        let _permit = clients.permit().await;
        regional
            .eks
            .describe_access_entry()
            .cluster_name(name)
            .principal_arn(principal)
            .send()
            .await
            .map_err(|error| lookup_error(&error, actions::EKS_DESCRIBE_ACCESS_ENTRY))?
    };
    let mut entry = match described.access_entry() {
        Some(found) => entry_snapshot(found, principal),
        None => AccessEntry {
            principal_arn: principal.to_string(),
            ..AccessEntry::default()
        },
    };
    let mut next_token: Option<String> = None;
    loop {
        let output = {
            let _permit = clients.permit().await;
            regional
                .eks
                .list_associated_access_policies()
                .cluster_name(name)
                .principal_arn(principal)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| {
                    lookup_error(&error, actions::EKS_LIST_ASSOCIATED_ACCESS_POLICIES)
                })?
        };
        entry.access_policies.extend(
            output
                .associated_access_policies()
                .iter()
                .map(policy_snapshot),
        );
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(entry),
        }
    }
}

/// The parts of a DescribeAccessEntry answer the report and the controls read.
pub fn entry_snapshot(entry: &SdkAccessEntry, requested: &str) -> AccessEntry {
    AccessEntry {
        principal_arn: entry.principal_arn().unwrap_or(requested).to_string(),
        entry_type: entry.r#type().map(str::to_string),
        username: entry.username().map(str::to_string),
        kubernetes_groups: entry.kubernetes_groups().to_vec(),
        access_policies: Vec::new(),
    }
}

/// An associated access policy; a missing scope reads as `cluster`, the widest (so that an
/// admin policy is never judged narrower than it may be).
pub fn policy_snapshot(policy: &SdkPolicy) -> AssociatedAccessPolicy {
    let scope = policy.access_scope();
    AssociatedAccessPolicy {
        policy_arn: policy.policy_arn().unwrap_or_default().to_string(),
        scope: scope
            .and_then(|s| s.r#type())
            .map_or("cluster", |kind| kind.as_str())
            .to_string(),
        namespaces: scope.map(|s| s.namespaces().to_vec()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use aws_sdk_eks::types::{AccessScope, AccessScopeType};

    #[test]
    fn an_entry_and_its_policies_are_read() {
        let entry = SdkAccessEntry::builder()
            .principal_arn("arn:aws:iam::1:role/admin")
            .r#type("STANDARD")
            .username("admin")
            .kubernetes_groups("ops")
            .build();
        let snapshot = entry_snapshot(&entry, "requested");
        assert_eq!(snapshot.principal_arn, "arn:aws:iam::1:role/admin");
        assert_eq!(snapshot.entry_type.as_deref(), Some("STANDARD"));
        assert_eq!(snapshot.kubernetes_groups, ["ops"]);
        let scoped = SdkPolicy::builder()
            .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy")
            .access_scope(
                AccessScope::builder()
                    .r#type(AccessScopeType::Namespace)
                    .namespaces("billing")
                    .build(),
            )
            .build();
        let policy = policy_snapshot(&scoped);
        assert_eq!(policy.scope, "namespace");
        assert_eq!(policy.namespaces, ["billing"]);
        assert_eq!(policy.name(), "AmazonEKSEditPolicy");
        let unscoped = SdkPolicy::builder()
            .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
            .build();
        assert_eq!(policy_snapshot(&unscoped).scope, "cluster");
    }
}
