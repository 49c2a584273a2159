//! The EKS cluster's IAM principals as the policy's status keeps them (`status.eksAccess`), so
//! that `kubectl hipaa report` can name the principal behind each access entry without calling
//! AWS: bounded, sorted by ARN, and stable between audits of the same snapshot.

use hipaa_crds::{
    AwsAuthMappingStatus, EksAccessEntryStatus, EksAccessPolicyStatus, EksAccessStatus,
};

use super::{AccessEntry, AwsAuthMapping, AwsSnapshot};

/// The most access entries (and, separately, aws-auth mappings) the status lists.
pub const MAX_STATUS_ACCESS_ENTRIES: usize = 200;

/// The access evidence of the snapshot's EKS cluster; `None` without a looked-up cluster.
pub fn eks_access_status(snapshot: &AwsSnapshot) -> Option<EksAccessStatus> {
    let cluster = snapshot.eks.as_ref()?.result.as_ref().ok()?;
    let mut status = EksAccessStatus {
        cluster: cluster.name.clone(),
        authentication_mode: cluster
            .authentication_mode
            .as_ref()
            .map(|mode| mode.as_str().to_string()),
        ..EksAccessStatus::default()
    };
    match &cluster.access_entries {
        Some(Ok(entries)) => {
            let mut listed: Vec<EksAccessEntryStatus> = entries.iter().map(entry_status).collect();
            listed.sort_by(|a, b| a.principal_arn.cmp(&b.principal_arn));
            status.truncated |= listed.len() > MAX_STATUS_ACCESS_ENTRIES;
            listed.truncate(MAX_STATUS_ACCESS_ENTRIES);
            status.access_entries = listed;
        }
        Some(Err(error)) => status.access_entries_error = Some(error.to_string()),
        None => {}
    }
    match &cluster.aws_auth {
        Some(Ok(mappings)) => {
            let mut listed: Vec<AwsAuthMappingStatus> =
                mappings.iter().map(mapping_status).collect();
            listed.sort_by(|a, b| (&a.arn, &a.list).cmp(&(&b.arn, &b.list)));
            status.truncated |= listed.len() > MAX_STATUS_ACCESS_ENTRIES;
            listed.truncate(MAX_STATUS_ACCESS_ENTRIES);
            status.aws_auth = listed;
        }
        Some(Err(error)) => status.aws_auth_error = Some(error.to_string()),
        None => {}
    }
    Some(status)
}

fn entry_status(entry: &AccessEntry) -> EksAccessEntryStatus {
    let mut access_policies: Vec<EksAccessPolicyStatus> = entry
        .access_policies
        .iter()
        .map(|policy| EksAccessPolicyStatus {
            policy: policy.name().to_string(),
            scope: policy.scope.clone(),
            namespaces: policy.namespaces.clone(),
        })
        .collect();
    access_policies.sort_by(|a, b| (&a.policy, &a.scope).cmp(&(&b.policy, &b.scope)));
    EksAccessEntryStatus {
        principal_arn: entry.principal_arn.clone(),
        entry_type: entry.entry_type.clone(),
        username: entry.username.clone(),
        kubernetes_groups: entry.kubernetes_groups.clone(),
        access_policies,
    }
}

fn mapping_status(mapping: &AwsAuthMapping) -> AwsAuthMappingStatus {
    AwsAuthMappingStatus {
        list: mapping.list.as_str().to_string(),
        arn: mapping.arn.clone(),
        username: mapping.username.clone(),
        groups: mapping.groups.clone(),
    }
}
