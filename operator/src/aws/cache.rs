//! What one policy's refresh cycle has looked up so far, and the plan of what is still to look
//! up: everything at the start of a cycle (the audit interval elapsed, or the spec changed), then
//! only what the links add, plus failed lookups once [`RETRY_FAILED_AFTER`] has passed. Lookups
//! run in three phases because each needs the one before: listings, the cluster and the registry
//! scanning configuration; then the repositories, images and secrets that no listing covered;
//! then the KMS keys all of those use. Plain functions over plain data.

use std::collections::{BTreeMap, BTreeSet};

use super::assemble::{kms_references, repository_covered_by, secret_covered_by};
use super::data::plan::data_failures_due;
pub use super::found::{Fetched, Found, KeyKey};
use super::link::{Links, RepositoryKey, SecretKey};
use chrono::{DateTime, Utc};
use hipaa_controls::aws::EksCluster;

pub use super::fetched::RETRY_FAILED_AFTER;
use super::fetched::due;

/// One AWS lookup to make.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Job {
    Cluster { region: String, name: String },
    RepositoryList { region: String },
    RegistryScan { region: String },
    SecretList { region: String },
    Repository(RepositoryKey),
    Findings(RepositoryKey, String),
    Secret(SecretKey),
    Key(KeyKey),
}

/// [`due`] for a cluster, whose access entries or aws-auth mappings may have failed while
/// DescribeCluster succeeded: such a cluster is tried again as a failure is.
fn cluster_due(fetched: Option<&Fetched<EksCluster>>, now: DateTime<Utc>) -> bool {
    match fetched {
        Some(Fetched {
            at,
            result: Ok(cluster),
        }) if principals_failed(cluster) => now - *at >= RETRY_FAILED_AFTER,
        other => due(other, now),
    }
}

/// The cluster's access entries or aws-auth mappings could not be read.
pub fn principals_failed(cluster: &EksCluster) -> bool {
    matches!(cluster.access_entries, Some(Err(_))) || matches!(cluster.aws_auth, Some(Err(_)))
}

/// Phase 1: the cluster, the listings the globs need, and each region's scanning configuration.
pub fn first_jobs(links: &Links, found: &Found, now: DateTime<Utc>) -> Vec<Job> {
    let mut jobs = BTreeSet::new();
    if let Some(name) = &links.eks_cluster {
        let key = (links.region.clone(), name.clone());
        if cluster_due(found.clusters.get(&key), now) {
            jobs.insert(Job::Cluster {
                region: key.0,
                name: key.1,
            });
        }
    }
    let mut repository_regions: BTreeSet<&String> =
        links.repositories.keys().map(|key| &key.region).collect();
    if !links.repository_globs.is_empty() {
        repository_regions.insert(&links.region);
        if due(found.repository_lists.get(&links.region), now) {
            jobs.insert(Job::RepositoryList {
                region: links.region.clone(),
            });
        }
    }
    for region in repository_regions {
        if due(found.registry_scans.get(region), now) {
            jobs.insert(Job::RegistryScan {
                region: region.clone(),
            });
        }
    }
    if !links.secret_globs.is_empty() && due(found.secret_lists.get(&links.region), now) {
        jobs.insert(Job::SecretList {
            region: links.region.clone(),
        });
    }
    jobs.into_iter().collect()
}

/// Phase 2: repositories and secrets no listing covered, and the scan findings of every image.
pub fn second_jobs(links: &Links, found: &Found, now: DateTime<Utc>) -> Vec<Job> {
    let mut jobs = BTreeSet::new();
    for (key, images) in &links.repositories {
        if repository_covered_by(found, key).is_none() && due(found.repositories.get(key), now) {
            jobs.insert(Job::Repository(key.clone()));
        }
        for reference in images.keys() {
            let image = (key.clone(), reference.clone());
            if due(found.findings.get(&image), now) {
                jobs.insert(Job::Findings(image.0, image.1));
            }
        }
    }
    for key in links.secrets.keys() {
        if secret_covered_by(found, key).is_none() && due(found.secrets.get(key), now) {
            jobs.insert(Job::Secret(key.clone()));
        }
    }
    jobs.into_iter().collect()
}

/// Phase 3: every KMS key the looked-up resources use.
pub fn key_jobs(links: &Links, found: &Found, now: DateTime<Utc>) -> Vec<Job> {
    let keys: BTreeSet<KeyKey> = kms_references(links, found)
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| due(found.keys.get(key), now))
        .collect();
    keys.into_iter().map(Job::Key).collect()
}

/// Forgets lookups the links no longer need (a workload removed, an image replaced).
pub fn prune(found: &mut Found, links: &Links) {
    let cluster = links
        .eks_cluster
        .as_ref()
        .map(|name| (links.region.clone(), name.clone()));
    found
        .clusters
        .retain(|key, _| Some(key) == cluster.as_ref());
    if links.repository_globs.is_empty() {
        found.repository_lists.clear();
    }
    if links.secret_globs.is_empty() {
        found.secret_lists.clear();
    }
    found
        .repositories
        .retain(|key, _| links.repositories.contains_key(key));
    found.findings.retain(|(key, reference), _| {
        links
            .repositories
            .get(key)
            .is_some_and(|images| images.contains_key(reference))
    });
    found
        .secrets
        .retain(|key, _| links.secrets.contains_key(key));
    let keys: BTreeSet<KeyKey> = kms_references(links, found)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    found.keys.retain(|key, _| keys.contains(key));
}

/// True when the found lookups hold a failure that is due for another try.
pub fn has_failures_due(found: &Found, now: DateTime<Utc>) -> bool {
    fn any_due<K, T>(map: &BTreeMap<K, Fetched<T>>, now: DateTime<Utc>) -> bool {
        map.values()
            .any(|fetched| fetched.result.is_err() && due(Some(fetched), now))
    }
    found
        .clusters
        .values()
        .any(|fetched| cluster_due(Some(fetched), now))
        || any_due(&found.repository_lists, now)
        || any_due(&found.registry_scans, now)
        || any_due(&found.repositories, now)
        || any_due(&found.findings, now)
        || any_due(&found.secret_lists, now)
        || any_due(&found.secrets, now)
        || any_due(&found.keys, now)
        || data_failures_due(&found.data, now)
}

#[cfg(test)]
mod tests;
