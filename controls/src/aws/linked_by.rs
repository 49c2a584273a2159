//! What links each AWS resource of a snapshot to the policy, as the status's
//! `awsResources[].linkedBy` shows it: the workloads that reach a data store and the role they
//! reach it by, the workloads that run with a role, the Ingresses an ALB serves, the claims on an
//! EFS file system, and the ACK or Crossplane objects that declare a store.

use std::collections::{HashMap, HashSet};

use hipaa_crds::{AwsResourceLink, AwsResourceStatus, MAX_STATUS_RESOURCE_LINKS};

use crate::model::ResourceRef;

use super::identity::IdentitySource;
use super::stores::StoreLinks;
use super::{
    AwsSnapshot, KIND_ALB, KIND_DYNAMODB_TABLE, KIND_EFS_FILE_SYSTEM, KIND_IAM_ROLE,
    KIND_RDS_CLUSTER, KIND_RDS_INSTANCE, KIND_S3_BUCKET, RdsKind,
};

/// The links of every resource of the snapshot, by (kind, name) as its evaluation names it.
pub fn resource_links(snapshot: &AwsSnapshot) -> HashMap<(&'static str, String), Links> {
    let mut links: HashMap<(&'static str, String), Links> = HashMap::new();
    let pod_identity: PodIdentityUses = snapshot
        .roles
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .flat_map(|role| {
            role.used_by
                .iter()
                .filter(|used| used.source == IdentitySource::PodIdentity)
                .map(|used| (&used.workload, role.arn.as_str()))
        })
        .collect();
    for role in snapshot.roles.iter().filter_map(|r| r.result.as_ref().ok()) {
        let entry = links.entry((KIND_IAM_ROLE, role.arn.clone())).or_default();
        for used in &role.used_by {
            entry
                .listed
                .push(link(&used.workload, None, used.source.as_str()));
        }
        entry.total = entry.listed.len();
    }
    for bucket in snapshot
        .s3_buckets
        .iter()
        .filter_map(|b| b.result.as_ref().ok())
    {
        links.insert(
            (KIND_S3_BUCKET, bucket.name.clone()),
            store_links(&bucket.links, &pod_identity),
        );
    }
    for database in snapshot
        .rds_databases
        .iter()
        .filter_map(|d| d.result.as_ref().ok())
    {
        let kind = match database.kind {
            RdsKind::Cluster => KIND_RDS_CLUSTER,
            _ => KIND_RDS_INSTANCE,
        };
        links.insert(
            (kind, database.identifier.clone()),
            store_links(&database.links, &pod_identity),
        );
    }
    for table in snapshot
        .dynamodb_tables
        .iter()
        .filter_map(|t| t.result.as_ref().ok())
    {
        links.insert(
            (KIND_DYNAMODB_TABLE, table.name.clone()),
            store_links(&table.links, &pod_identity),
        );
    }
    for balancer in snapshot
        .load_balancers
        .iter()
        .filter_map(|l| l.result.as_ref().ok())
    {
        let served = balancer.ingresses.iter().map(|i| link(i, None, "Ingress"));
        links.insert(
            (KIND_ALB, balancer.name.clone()),
            Links::all(served.collect()),
        );
    }
    for file_system in snapshot
        .efs_file_systems
        .iter()
        .filter_map(|f| f.result.as_ref().ok())
    {
        let claims = file_system.volumes.iter().map(|c| link(c, None, "Volume"));
        links.insert(
            (KIND_EFS_FILE_SYSTEM, file_system.id.clone()),
            Links::all(claims.collect()),
        );
    }
    links
}

/// Fills `linkedBy` (at most [`MAX_STATUS_RESOURCE_LINKS`], with the total beyond) of the
/// statuses of the snapshot's resources.
pub fn add_resource_links(statuses: &mut [AwsResourceStatus], snapshot: &AwsSnapshot) {
    let mut links = resource_links(snapshot);
    for status in statuses {
        let Some(kind) = KINDS.iter().find(|kind| **kind == status.kind) else {
            continue;
        };
        let Some(Links {
            listed: mut found,
            total,
        }) = links.remove(&(*kind, status.name.clone()))
        else {
            continue;
        };
        found.truncate(MAX_STATUS_RESOURCE_LINKS);
        status.linked_by_total =
            (total > found.len()).then(|| i32::try_from(total).unwrap_or(i32::MAX));
        status.linked_by = found;
    }
}

/// (workload, role ARN) pairs bound through EKS Pod Identity rather than IRSA.
type PodIdentityUses<'a> = HashSet<(&'a ResourceRef, &'a str)>;

const KINDS: &[&str] = &[
    KIND_IAM_ROLE,
    KIND_S3_BUCKET,
    KIND_RDS_INSTANCE,
    KIND_RDS_CLUSTER,
    KIND_DYNAMODB_TABLE,
    KIND_ALB,
    KIND_EFS_FILE_SYSTEM,
];

/// A store's workloads (by role, how the role is bound) and declaring objects.
fn store_links(links: &StoreLinks, pod_identity: &PodIdentityUses) -> Links {
    let mut out: Vec<AwsResourceLink> = links
        .reached_by
        .iter()
        .map(|access| {
            let via = if pod_identity.contains(&(&access.workload, access.role_arn.as_str())) {
                IdentitySource::PodIdentity.as_str()
            } else {
                IdentitySource::Irsa.as_str()
            };
            link(&access.workload, Some(&access.role_arn), via)
        })
        .collect();
    out.extend(links.declared_by.iter().map(|object| {
        let via = if object.kind.contains(".services.k8s.aws") {
            "ACK"
        } else {
            "Crossplane"
        };
        link(object, None, via)
    }));
    out.sort_by(|a, b| {
        (&a.namespace, &a.name, &a.kind, &a.role).cmp(&(&b.namespace, &b.name, &b.kind, &b.role))
    });
    out.dedup();
    let total = links.reached_by_total.max(links.reached_by.len()) + links.declared_by.len();
    Links { listed: out, total }
}

/// The links of one resource: those listed, and how many there are in all (a store keeps only
/// its first workload × role paths).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    pub listed: Vec<AwsResourceLink>,
    pub total: usize,
}

impl Links {
    fn all(listed: Vec<AwsResourceLink>) -> Links {
        let total = listed.len();
        Links { listed, total }
    }
}

fn link(object: &ResourceRef, role: Option<&str>, via: &str) -> AwsResourceLink {
    AwsResourceLink {
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
        role: role.map(str::to_string),
        via: via.to_string(),
    }
}
