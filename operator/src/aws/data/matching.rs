//! Which looked-up load balancers serve the in-scope Ingresses, and which file systems hold the
//! in-scope claims: the AWS Load Balancer Controller's tags or the Ingress status hostname for
//! the first, the EFS StorageClass or the PersistentVolume's volume handle for the second.

use std::collections::{BTreeMap, BTreeSet};

use hipaa_controls::model::ResourceRef;

use super::found::DataFound;
use super::link::DataLinks;
use crate::aws::fetched::Fetched;

/// The tag the AWS Load Balancer Controller sets to the Ingress group (or `namespace/name`).
pub const STACK_TAG: &str = "ingress.k8s.aws/stack";
/// The tag the controller sets to the cluster's name.
pub const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

/// Load balancer ARN → the in-scope Ingresses it serves.
pub fn matched_load_balancers(
    links: &DataLinks,
    found: &DataFound,
) -> BTreeMap<String, BTreeSet<ResourceRef>> {
    let mut matched: BTreeMap<String, BTreeSet<ResourceRef>> = BTreeMap::new();
    let Some(Fetched {
        result: Ok(balancers),
        ..
    }) = &found.load_balancers
    else {
        return matched;
    };
    for tagged in balancers {
        let balancer = &tagged.load_balancer;
        let dns = balancer.dns_name.as_deref().map(str::to_ascii_lowercase);
        let same_cluster = match (tagged.tags.get(CLUSTER_TAG), links.cluster.as_deref()) {
            (Some(tagged_cluster), Some(cluster)) => tagged_cluster == cluster,
            _ => true,
        };
        for ingress in &links.ingresses {
            let by_hostname = dns.as_deref().is_some_and(|dns| {
                ingress
                    .hostnames
                    .iter()
                    .any(|hostname| hostname.eq_ignore_ascii_case(dns))
            });
            let by_tags = same_cluster && tagged.tags.get(STACK_TAG) == Some(&ingress.stack);
            if by_hostname || by_tags {
                matched
                    .entry(balancer.arn.clone())
                    .or_default()
                    .insert(ingress.ingress.clone());
            }
        }
    }
    matched
}

/// EFS file system ID → the in-scope claims on it.
pub fn file_systems_in_use(
    links: &DataLinks,
    found: &DataFound,
) -> BTreeMap<String, BTreeSet<ResourceRef>> {
    let mut in_use = links.efs_claims.clone();
    if let Some(Fetched {
        result: Ok(volumes),
        ..
    }) = &found.volumes
    {
        for bound in &links.bound_claims {
            if let Some(file_system) = volumes.get(&bound.volume) {
                in_use
                    .entry(file_system.clone())
                    .or_default()
                    .insert(bound.claim.clone());
            }
        }
    }
    in_use
}

/// The file system ID of an EFS CSI volume handle: `fs-0abc`, `fs-0abc:/path` or
/// `fs-0abc::fsap-0def`.
pub fn file_system_of_handle(handle: &str) -> Option<&str> {
    let id = handle.split(':').next()?.trim();
    id.starts_with("fs-").then_some(id)
}
