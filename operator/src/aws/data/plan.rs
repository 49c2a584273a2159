//! The plan of what AWS data one refresh still has to look up, in three phases because each
//! needs the one before: the Pod Identity associations, the IRSA roles, the load balancers, the
//! volumes and the account's safeguards; then the Pod Identity roles, the region's stores (what
//! policy wildcards match), the file systems and the listeners of the matched load balancers;
//! then the details of every store a role reaches. Each lookup is made once per cycle (a
//! failure is tried again after [`RETRY_FAILED_AFTER`]). Plain functions over plain data.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::found::{DataFound, declared, linked_roles};
use super::link::DataLinks;
use super::matching::{file_systems_in_use, matched_load_balancers};
use super::reach::{ReachedStores, tls_key};
use crate::aws::fetched::Fetched;
use crate::aws::fetched::{RETRY_FAILED_AFTER, due};
use hipaa_controls::aws::{AccountPosture, S3Bucket};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;

/// One AWS (or Kubernetes) lookup about data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DataJob {
    PodIdentities {
        cluster: String,
    },
    Role(String),
    LoadBalancers,
    Volumes,
    Account {
        cluster: Option<String>,
    },
    Declared,
    Buckets,
    Databases,
    Tables,
    FileSystems,
    Listeners(String),
    Bucket(String),
    Table(String),
    Tls {
        group: String,
        engine: String,
        cluster: bool,
    },
}

/// The account's safeguards are due when never looked up, or when one of them failed long
/// enough ago.
fn account_due(fetched: Option<&Fetched<AccountPosture>>, now: DateTime<Utc>) -> bool {
    match fetched {
        None => true,
        Some(Fetched {
            at,
            result: Ok(account),
        }) => {
            let failed = account.trails.is_err()
                || account.guardduty.is_err()
                || account.ebs_encryption_by_default.is_err()
                || matches!(account.eks_log_group, Some(Err(_)));
            failed && now - *at >= RETRY_FAILED_AFTER
        }
        Some(other) => due(Some(other), now),
    }
}

/// A bucket is due when never looked up, or when one of its settings could not be read long
/// enough ago (each setting is its own call and permission).
fn bucket_due(fetched: Option<&Fetched<S3Bucket>>, now: DateTime<Utc>) -> bool {
    match fetched {
        Some(Fetched {
            at,
            result: Ok(bucket),
        }) => {
            let failed = bucket.encryption.is_err()
                || bucket.policy.is_err()
                || bucket.public_access_block.is_err()
                || bucket.public_acl_grants.is_err()
                || bucket.versioning.is_err()
                || bucket.object_lock.is_err();
            failed && now - *at >= RETRY_FAILED_AFTER
        }
        other => due(other, now),
    }
}

/// Phase 1.
pub fn first_data_jobs(links: &DataLinks, found: &DataFound, now: DateTime<Utc>) -> Vec<DataJob> {
    let mut jobs = BTreeSet::new();
    let cluster = links.cluster.as_deref();
    if let Some(cluster) = cluster
        && !links.accounts.is_empty()
        && due(found.pod_identities.as_ref(), now)
    {
        jobs.insert(DataJob::PodIdentities {
            cluster: cluster.to_string(),
        });
    }
    for role in links.irsa.keys() {
        if due(found.roles.get(role), now) {
            jobs.insert(DataJob::Role(role.clone()));
        }
    }
    if !links.ingresses.is_empty() && due(found.load_balancers.as_ref(), now) {
        jobs.insert(DataJob::LoadBalancers);
    }
    if !links.bound_claims.is_empty() && due(found.volumes.as_ref(), now) {
        jobs.insert(DataJob::Volumes);
    }
    if due(found.declared.as_ref(), now) {
        jobs.insert(DataJob::Declared);
    }
    if links.account_controls && account_due(found.account.as_ref(), now) {
        jobs.insert(DataJob::Account {
            cluster: cluster.map(str::to_string),
        });
    }
    jobs.into_iter().collect()
}

/// Phase 2.
pub fn second_data_jobs(links: &DataLinks, found: &DataFound, now: DateTime<Utc>) -> Vec<DataJob> {
    let mut jobs = BTreeSet::new();
    let roles = linked_roles(links, found);
    for role in &roles {
        if due(found.roles.get(role), now) {
            jobs.insert(DataJob::Role(role.clone()));
        }
    }
    if !roles.is_empty() || !declared(found).is_empty() {
        if due(found.listings.buckets.as_ref(), now) {
            jobs.insert(DataJob::Buckets);
        }
        if due(found.listings.databases.as_ref(), now) {
            jobs.insert(DataJob::Databases);
        }
        if due(found.listings.tables.as_ref(), now) {
            jobs.insert(DataJob::Tables);
        }
    }
    if !file_systems_in_use(links, found).is_empty() && due(found.file_systems.as_ref(), now) {
        jobs.insert(DataJob::FileSystems);
    }
    for (arn, _) in matched_load_balancers(links, found) {
        if due(found.listeners.get(&arn), now) {
            jobs.insert(DataJob::Listeners(arn));
        }
    }
    jobs.into_iter().collect()
}

/// Phase 3: the details of what the roles reach.
pub fn third_data_jobs(
    reached: &ReachedStores,
    found: &DataFound,
    now: DateTime<Utc>,
) -> Vec<DataJob> {
    let mut jobs = BTreeSet::new();
    for bucket in reached.buckets.keys() {
        if bucket_due(found.buckets.get(bucket), now) {
            jobs.insert(DataJob::Bucket(bucket.clone()));
        }
    }
    for table in reached.tables.keys() {
        if due(found.tables.get(table), now) {
            jobs.insert(DataJob::Table(table.clone()));
        }
    }
    for database in reached.databases.keys() {
        if let Some(key) = tls_key(database, found)
            && due(found.tls.get(&key), now)
        {
            jobs.insert(DataJob::Tls {
                group: key.0,
                engine: key.1,
                cluster: key.2,
            });
        }
    }
    jobs.into_iter().collect()
}

/// Forgets what the links no longer need, so that a long cycle does not keep every role and
/// store ever linked.
pub fn prune_data(found: &mut DataFound, links: &DataLinks, reached: &ReachedStores) {
    let roles = linked_roles(links, found);
    found.roles.retain(|arn, _| roles.contains(arn));
    found
        .buckets
        .retain(|name, _| reached.buckets.contains_key(name));
    found
        .tables
        .retain(|name, _| reached.tables.contains_key(name));
    if links.ingresses.is_empty() {
        found.load_balancers = None;
        found.listeners.clear();
    }
    if links.bound_claims.is_empty() {
        found.volumes = None;
    }
    if !links.account_controls {
        found.account = None;
    }
}

/// True when a data lookup failed long enough ago to try again within the cycle.
pub fn data_failures_due(found: &DataFound, now: DateTime<Utc>) -> bool {
    fn failed_due<T>(fetched: Option<&Fetched<T>>, now: DateTime<Utc>) -> bool {
        fetched.is_some_and(|f| f.result.is_err()) && due(fetched, now)
    }
    failed_due(found.pod_identities.as_ref(), now)
        || found.roles.values().any(|f| failed_due(Some(f), now))
        || failed_due(found.listings.buckets.as_ref(), now)
        || failed_due(found.listings.databases.as_ref(), now)
        || failed_due(found.listings.tables.as_ref(), now)
        || found.buckets.values().any(|f| bucket_due(Some(f), now))
        || found.tables.values().any(|f| failed_due(Some(f), now))
        || found.tls.values().any(|f| failed_due(Some(f), now))
        || failed_due(found.load_balancers.as_ref(), now)
        || found.listeners.values().any(|f| failed_due(Some(f), now))
        || failed_due(found.file_systems.as_ref(), now)
        || failed_due(found.volumes.as_ref(), now)
        || failed_due(found.declared.as_ref(), now)
        || (found.account.is_some() && account_due(found.account.as_ref(), now))
}

/// The account-wide controls: a policy that applies none of them has no account lookups.
pub const ACCOUNT_CONTROLS: &[&str] = &[
    ids::AWS_CLOUDTRAIL,
    ids::AWS_LOG_RETENTION,
    ids::AWS_GUARDDUTY,
    ids::AWS_EBS_DEFAULT_ENCRYPTION,
];

/// Whether `policy` applies an account-wide control (an invalid policy is treated as applying
/// them: its audit reports the error, and a lookup too many costs nothing).
pub fn applies_account_controls(policy: &HipaaPolicy) -> bool {
    match EffectivePolicy::from_policy(policy) {
        Ok(effective) => ACCOUNT_CONTROLS
            .iter()
            .any(|id| effective.setting(id).is_some()),
        Err(_) => true,
    }
}
