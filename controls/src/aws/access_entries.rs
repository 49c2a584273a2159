//! Who reaches the EKS cluster as an IAM principal: the evidence (the authentication mode, the
//! EKS access entries with their access policies, the aws-auth mappings) and the two controls
//! over it, HIPAA-EKS-ACCESS-ADMIN (cluster-admin-equivalent principals outside an allow-list)
//! and HIPAA-EKS-AUTH-MODE (access entries rather than the aws-auth ConfigMap).

use serde::{Deserialize, Serialize};

use crate::policy::glob_matches;

use super::Lookup;
use super::aws_enum;
use super::judge::Verdict;

/// The access policy that maps to the Kubernetes `cluster-admin` ClusterRole.
pub const CLUSTER_ADMIN_POLICY: &str = "AmazonEKSClusterAdminPolicy";
/// The Kubernetes group that bypasses RBAC altogether.
pub const SYSTEM_MASTERS: &str = "system:masters";

aws_enum!(
    /// `cluster.accessConfig.authenticationMode`: where EKS looks up IAM principals.
    AuthenticationMode {
        Api = "API",
        ApiAndConfigMap = "API_AND_CONFIG_MAP",
        ConfigMap = "CONFIG_MAP",
    }
);

impl AuthenticationMode {
    /// EKS honours access entries in this mode.
    pub fn uses_access_entries(&self) -> bool {
        matches!(self, Self::Api | Self::ApiAndConfigMap)
    }

    /// EKS honours the aws-auth ConfigMap in this mode.
    pub fn uses_config_map(&self) -> bool {
        matches!(self, Self::ConfigMap | Self::ApiAndConfigMap)
    }
}

/// One EKS access entry (DescribeAccessEntry) with its associated access policies
/// (ListAssociatedAccessPolicies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessEntry {
    /// `accessEntry.principalArn`: the IAM role or user.
    pub principal_arn: String,
    /// `accessEntry.type`: STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, ...
    #[serde(default, rename = "type")]
    pub entry_type: Option<String>,
    /// `accessEntry.username`: the Kubernetes user the principal is.
    #[serde(default)]
    pub username: Option<String>,
    /// `accessEntry.kubernetesGroups`.
    #[serde(default)]
    pub kubernetes_groups: Vec<String>,
    #[serde(default)]
    pub access_policies: Vec<AssociatedAccessPolicy>,
}

/// An access policy associated with an access entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociatedAccessPolicy {
    /// E.g. `arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`.
    pub policy_arn: String,
    /// `accessScope.type`: `cluster` or `namespace`.
    pub scope: String,
    /// `accessScope.namespaces` of a namespace scope.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

impl AssociatedAccessPolicy {
    /// The policy's name, the last segment of its ARN.
    pub fn name(&self) -> &str {
        self.policy_arn
            .rsplit('/')
            .next()
            .unwrap_or(&self.policy_arn)
    }

    /// `cluster` or `namespace (a, b)`.
    pub fn scope_text(&self) -> String {
        if self.namespaces.is_empty() {
            self.scope.clone()
        } else {
            format!("{} ({})", self.scope, self.namespaces.join(", "))
        }
    }

    /// AmazonEKSClusterAdminPolicy over the whole cluster, which is `cluster-admin`. Scoped to
    /// namespaces it grants admin there only, which the RBAC-side controls' concern is.
    fn is_cluster_admin(&self) -> bool {
        self.name() == CLUSTER_ADMIN_POLICY && self.scope.eq_ignore_ascii_case("cluster")
    }
}

/// Which list of the aws-auth ConfigMap a mapping comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AwsAuthList {
    #[serde(rename = "mapRoles")]
    MapRoles,
    #[serde(rename = "mapUsers")]
    MapUsers,
}

impl AwsAuthList {
    pub fn as_str(self) -> &'static str {
        match self {
            AwsAuthList::MapRoles => "mapRoles",
            AwsAuthList::MapUsers => "mapUsers",
        }
    }
}

/// One entry of the aws-auth ConfigMap's mapRoles or mapUsers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsAuthMapping {
    pub list: AwsAuthList,
    /// `rolearn` or `userarn`.
    pub arn: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One IAM principal with cluster-admin-equivalent access, and how it gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminGrant {
    pub principal_arn: String,
    /// E.g. `access entry with AmazonEKSClusterAdminPolicy (cluster scope)`.
    pub how: String,
}

/// Every cluster-admin-equivalent grant of the access entries.
pub fn access_entry_admins(entries: &[AccessEntry]) -> Vec<AdminGrant> {
    let mut grants = Vec::new();
    for entry in entries {
        for policy in entry
            .access_policies
            .iter()
            .filter(|p| p.is_cluster_admin())
        {
            grants.push(AdminGrant {
                principal_arn: entry.principal_arn.clone(),
                how: format!(
                    "access entry with {} ({} scope)",
                    policy.name(),
                    policy.scope
                ),
            });
        }
        if entry.kubernetes_groups.iter().any(|g| g == SYSTEM_MASTERS) {
            grants.push(AdminGrant {
                principal_arn: entry.principal_arn.clone(),
                how: format!("access entry in the Kubernetes group {SYSTEM_MASTERS}"),
            });
        }
    }
    grants
}

/// Every aws-auth mapping into system:masters.
pub fn aws_auth_admins(mappings: &[AwsAuthMapping]) -> Vec<AdminGrant> {
    mappings
        .iter()
        .filter(|m| m.groups.iter().any(|g| g == SYSTEM_MASTERS))
        .map(|m| AdminGrant {
            principal_arn: m.arn.clone(),
            how: format!("aws-auth {} in the group {SYSTEM_MASTERS}", m.list.as_str()),
        })
        .collect()
}

/// What the cluster says about its IAM principals (the fields of `EksCluster` that hold them).
pub(crate) struct Principals<'a> {
    pub name: &'a str,
    pub authentication_mode: Option<&'a AuthenticationMode>,
    pub access_entries: &'a Option<Lookup<Vec<AccessEntry>>>,
    pub aws_auth: &'a Option<Lookup<Vec<AwsAuthMapping>>>,
}

/// HIPAA-EKS-ACCESS-ADMIN: every cluster-admin-equivalent principal matches `allowed`. A source
/// the mode uses that could not be read is an Error, unless another source already fails.
pub(crate) fn cluster_admins(cluster: &Principals<'_>, allowed: &[String]) -> Verdict {
    let name = cluster.name;
    let mode = match cluster.authentication_mode {
        None => {
            return Verdict::Error(format!(
                "cannot evaluate EKS cluster {name}: DescribeCluster reported no accessConfig.authenticationMode"
            ));
        }
        Some(AuthenticationMode::Other(other)) => {
            return Verdict::Error(format!(
                "cannot evaluate EKS cluster {name}: unknown authentication mode {other}"
            ));
        }
        Some(mode) => mode,
    };
    let mut grants = Vec::new();
    let mut unreadable = Vec::new();
    if mode.uses_access_entries() {
        let entries = cluster.access_entries;
        read_source(
            entries,
            "the access entries",
            access_entry_admins,
            &mut grants,
            &mut unreadable,
        );
    }
    if mode.uses_config_map() {
        let mappings = cluster.aws_auth;
        read_source(
            mappings,
            "the aws-auth mappings",
            aws_auth_admins,
            &mut grants,
            &mut unreadable,
        );
    }
    let outside: Vec<String> = grants
        .iter()
        .filter(|g| !allowed.iter().any(|p| glob_matches(p, &g.principal_arn)))
        .map(|g| format!("{} ({})", g.principal_arn, g.how))
        .collect();
    if !outside.is_empty() {
        let mut message = format!(
            "EKS cluster {name} gives cluster-admin-equivalent access to IAM principals outside allowedPrincipals: {}",
            outside.join("; ")
        );
        if !unreadable.is_empty() {
            message.push_str(&format!("; and cannot tell for {}", unreadable.join("; ")));
        }
        return Verdict::Fail(message);
    }
    if !unreadable.is_empty() {
        return Verdict::Error(format!(
            "cannot evaluate EKS cluster {name}: {}",
            unreadable.join("; ")
        ));
    }
    Verdict::Pass
}

/// Adds the grants of one source, or why it could not be read.
fn read_source<T>(
    source: &Option<Lookup<Vec<T>>>,
    what: &str,
    admins: fn(&[T]) -> Vec<AdminGrant>,
    grants: &mut Vec<AdminGrant>,
    unreadable: &mut Vec<String>,
) {
    match source {
        None => unreadable.push(format!("{what} were not looked up")),
        Some(Err(error)) => unreadable.push(format!("{what}: {error}")),
        Some(Ok(found)) => grants.extend(admins(found)),
    }
}

/// HIPAA-EKS-AUTH-MODE: API passes; API_AND_CONFIG_MAP only with `allow_config_map`.
pub(crate) fn authentication_mode(cluster: &Principals<'_>, allow_config_map: bool) -> Verdict {
    let name = cluster.name;
    match cluster.authentication_mode {
        None => Verdict::Error(format!(
            "cannot evaluate EKS cluster {name}: DescribeCluster reported no accessConfig.authenticationMode"
        )),
        Some(AuthenticationMode::Api) => Verdict::Pass,
        Some(AuthenticationMode::ApiAndConfigMap) if allow_config_map => Verdict::Pass,
        Some(AuthenticationMode::ApiAndConfigMap) => Verdict::Fail(format!(
            "EKS cluster {name} authenticates through access entries and the aws-auth ConfigMap (API_AND_CONFIG_MAP), and allowConfigMap is not set"
        )),
        Some(AuthenticationMode::ConfigMap) => Verdict::Fail(format!(
            "EKS cluster {name} authenticates only through the aws-auth ConfigMap (CONFIG_MAP), not through access entries"
        )),
        Some(AuthenticationMode::Other(other)) => Verdict::Error(format!(
            "cannot evaluate EKS cluster {name}: unknown authentication mode {other}"
        )),
    }
}
