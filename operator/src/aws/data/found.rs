//! What one policy's refresh cycle has found about the AWS data behind its workloads: the Pod
//! Identity associations, the roles, the region's stores (listed once per cycle) and the details
//! of the stores a role reaches, each with when it was looked up. Plain data, read by the plan
//! ([`super::plan`]) and by the assembly of the snapshot ([`super::assemble`]).

use std::collections::{BTreeMap, BTreeSet};

use hipaa_controls::aws::{
    AccountPosture, DynamoTable, EfsFileSystem, IamRole, Listener, LoadBalancer, RdsDatabase,
    S3Bucket,
};

use super::link::DataLinks;
use crate::aws::fetched::Fetched;

/// An EKS Pod Identity association: the role pods of one ServiceAccount get.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodIdentity {
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
}

/// A load balancer with the tags the AWS Load Balancer Controller sets on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedLoadBalancer {
    pub load_balancer: LoadBalancer,
    pub tags: BTreeMap<String, String>,
}

/// The region's data stores, as listed: what wildcards in policies are matched against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listings {
    /// ListBuckets.
    pub buckets: Option<Fetched<Vec<String>>>,
    /// DescribeDBInstances and DescribeDBClusters (the listing is the description).
    pub databases: Option<Fetched<Vec<RdsDatabase>>>,
    /// ListTables, with the ARN each table has in the caller's account.
    pub tables: Option<Fetched<Vec<ListedTable>>>,
}

/// Everything about AWS data looked up in the current cycle of one policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataFound {
    /// ListPodIdentityAssociations + DescribePodIdentityAssociation for the cluster.
    pub pod_identities: Option<Fetched<Vec<PodIdentity>>>,
    /// The roles by ARN.
    pub roles: BTreeMap<String, Fetched<IamRole>>,
    pub listings: Listings,
    /// Buckets a role reaches, by name.
    pub buckets: BTreeMap<String, Fetched<S3Bucket>>,
    /// Tables a role reaches, by name.
    pub tables: BTreeMap<String, Fetched<DynamoTable>>,
    /// Whether a parameter group enforces TLS, by (group, engine, is a cluster group).
    pub tls: BTreeMap<(String, String, bool), Fetched<Option<bool>>>,
    /// The region's load balancers (only looked up when an Ingress may be served by one).
    pub load_balancers: Option<Fetched<Vec<TaggedLoadBalancer>>>,
    /// Listeners by load balancer ARN.
    pub listeners: BTreeMap<String, Fetched<Vec<Listener>>>,
    /// The region's file systems (only looked up when a claim is on EFS).
    pub file_systems: Option<Fetched<Vec<EfsFileSystem>>>,
    /// PersistentVolume name → the EFS file system it is on (only EFS volumes).
    pub volumes: Option<Fetched<BTreeMap<String, String>>>,
    /// The account's safeguards.
    pub account: Option<Fetched<AccountPosture>>,
    /// The stores ACK and Crossplane objects in scope declare.
    pub declared: Option<Fetched<Vec<super::declared::DeclaredStore>>>,
}

/// A listed table: its name and ARN.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedTable {
    pub name: String,
    pub arn: String,
}

/// The Pod Identity associations found (none when not looked up or failed).
pub fn pod_identities(found: &DataFound) -> &[PodIdentity] {
    match &found.pod_identities {
        Some(Fetched {
            result: Ok(all), ..
        }) => all,
        _ => &[],
    }
}

/// The stores declared in scope (none when not looked up or failed).
pub fn declared(found: &DataFound) -> &[super::declared::DeclaredStore] {
    match &found.declared {
        Some(Fetched {
            result: Ok(all), ..
        }) => all,
        _ => &[],
    }
}

/// Every role in-scope workloads run with: IRSA roles, and the Pod Identity roles of the
/// ServiceAccounts they run as.
pub fn linked_roles(links: &DataLinks, found: &DataFound) -> BTreeSet<String> {
    let mut roles: BTreeSet<String> = links.irsa.keys().cloned().collect();
    for association in pod_identities(found) {
        if links
            .workloads_of(&association.namespace, &association.service_account)
            .is_some()
        {
            roles.insert(association.role_arn.clone());
        }
    }
    roles
}
