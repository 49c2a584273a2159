//! Assembly of the data part of the snapshot: the linked roles with their uses, the buckets,
//! databases and tables they reach with who reaches them, the load balancers of in-scope
//! Ingresses, the file systems of in-scope claims, and the account's safeguards. A store whose
//! lookup is missing or failed is in the snapshot as a failure, so that its controls report
//! Error; a listing that failed stands for every store it would have named.

use std::collections::{BTreeMap, HashMap};

use hipaa_controls::aws::{
    AwsSnapshot, DynamoTable, EfsFileSystem, LoadBalancer, LookedUp, LookupError, RdsDatabase,
    S3Bucket, StoreLinks,
};
use hipaa_controls::model::ResourceRef;

use super::found::DataFound;
use super::matching::{file_systems_in_use, matched_load_balancers};
use super::reach::{Accesses, ReachedStores, key_accesses, tls_key};
use crate::aws::fetched::{Fetched, not_looked_up, result_of};

/// Fills the data fields of `snapshot`.
pub fn assemble_data(
    snapshot: &mut AwsSnapshot,
    links: &super::link::DataLinks,
    found: &DataFound,
) {
    let reached = ReachedStores::compute(links, found);
    let any_role = !reached.roles.is_empty() || !super::found::declared(found).is_empty();
    let ReachedStores {
        roles,
        buckets: reached_buckets,
        tables: reached_tables,
        databases: reached_databases,
        declared_by,
        declared_missing,
        ..
    } = reached;
    snapshot.s3_buckets = buckets(reached_buckets, &declared_by, found, any_role);
    snapshot.rds_databases = databases(
        reached_databases,
        &declared_by,
        declared_missing,
        found,
        any_role,
    );
    snapshot.dynamodb_tables = tables(reached_tables, found, any_role);
    snapshot.roles = roles;
    snapshot.load_balancers = load_balancers(links, found);
    snapshot.efs_file_systems = file_systems(links, found);
    snapshot.account = match &found.account {
        Some(Fetched {
            result: Ok(account),
            ..
        }) => Some(account.clone()),
        _ => None,
    };
}

/// Adds to each looked-up KMS key the workloads whose roles are allowed to use it.
pub fn link_keys(snapshot: &mut AwsSnapshot, links: &super::link::DataLinks, found: &DataFound) {
    let arns: Vec<String> = snapshot
        .kms_keys
        .iter()
        .filter_map(|key| key.result.as_ref().ok()?.arn.clone())
        .collect();
    if arns.is_empty() || links.accounts.is_empty() {
        return;
    }
    let reached = key_accesses(links, found, &arns);
    for key in snapshot
        .kms_keys
        .iter_mut()
        .filter_map(|k| k.result.as_mut().ok())
    {
        let Some(accesses) = key.arn.as_ref().and_then(|arn| reached.get(arn)) else {
            continue;
        };
        for access in &accesses.first {
            if !key.used_by.contains(&access.workload) {
                key.used_by.push(access.workload.clone());
            }
        }
    }
}

/// The listing's error, when the listing failed (or was never made) while roles exist.
fn listing_failure<T>(
    fetched: &Option<Fetched<Vec<T>>>,
    what: &str,
    any_role: bool,
) -> Option<LookupError> {
    if !any_role {
        return None;
    }
    match fetched {
        Some(Fetched { result: Ok(_), .. }) => None,
        Some(Fetched {
            result: Err(error), ..
        }) => Some(error.clone()),
        None => Some(not_looked_up(what)),
    }
}

fn buckets(
    reached: BTreeMap<String, Accesses>,
    declared: &BTreeMap<String, Vec<ResourceRef>>,
    found: &DataFound,
    any_role: bool,
) -> Vec<LookedUp<S3Bucket>> {
    if let Some(error) = listing_failure(&found.listings.buckets, "the S3 buckets", any_role) {
        return vec![LookedUp::failed("the S3 buckets the roles reach", error)];
    }
    reached
        .into_iter()
        .map(|(name, accesses)| {
            let result = result_of(found.buckets.get(&name), &format!("S3 bucket {name}")).map(
                |mut bucket| {
                    bucket.links = links_of(accesses, declared.get(&name));
                    bucket
                },
            );
            LookedUp {
                requested: name,
                result,
            }
        })
        .collect()
}

fn databases(
    reached: BTreeMap<String, Accesses>,
    declared: &BTreeMap<String, Vec<ResourceRef>>,
    missing: Vec<(String, ResourceRef)>,
    found: &DataFound,
    any_role: bool,
) -> Vec<LookedUp<RdsDatabase>> {
    if let Some(error) = listing_failure(&found.listings.databases, "the RDS databases", any_role) {
        return vec![LookedUp::failed("the RDS databases the roles reach", error)];
    }
    let listed = super::reach::listed_databases(found);
    let by_arn: HashMap<&str, &RdsDatabase> = listed.iter().map(|d| (d.arn.as_str(), d)).collect();
    reached
        .into_iter()
        .filter_map(|(arn, accesses)| {
            let mut database = (*by_arn.get(arn.as_str())?).clone();
            database.tls_enforced = match tls_key(&arn, found) {
                None => Ok(None),
                Some(key) => result_of(
                    found.tls.get(&key),
                    &format!("the TLS setting of parameter group {}", key.0),
                ),
            };
            database.links = links_of(accesses, declared.get(&arn));
            Some(LookedUp::found(database.identifier.clone(), database))
        })
        .chain(missing.into_iter().map(|(identifier, object)| {
            let error = LookupError::new(
                "DBNotFound",
                format!(
                    "{object} declares RDS database {identifier}, which the region does not hold"
                ),
            );
            LookedUp::failed(identifier, error)
        }))
        .collect()
}

fn tables(
    reached: BTreeMap<String, Accesses>,
    found: &DataFound,
    any_role: bool,
) -> Vec<LookedUp<DynamoTable>> {
    if let Some(error) = listing_failure(&found.listings.tables, "the DynamoDB tables", any_role) {
        return vec![LookedUp::failed(
            "the DynamoDB tables the roles reach",
            error,
        )];
    }
    reached
        .into_iter()
        .map(|(name, accesses)| {
            let result = result_of(found.tables.get(&name), &format!("DynamoDB table {name}")).map(
                |mut table| {
                    table.links = links_of(accesses, None);
                    table
                },
            );
            LookedUp {
                requested: name,
                result,
            }
        })
        .collect()
}

/// A store's links: who reaches it (moved, not copied: a refresh builds them once) and the
/// objects that declare it.
fn links_of(accesses: Accesses, declared: Option<&Vec<ResourceRef>>) -> StoreLinks {
    StoreLinks {
        reached_by: accesses.first,
        reached_by_total: accesses.total,
        declared_by: declared.cloned().unwrap_or_default(),
    }
}

fn load_balancers(
    links: &super::link::DataLinks,
    found: &DataFound,
) -> Vec<LookedUp<LoadBalancer>> {
    if links.ingresses.is_empty() {
        return Vec::new();
    }
    let listed = match &found.load_balancers {
        Some(Fetched {
            result: Ok(listed), ..
        }) => listed,
        Some(Fetched {
            result: Err(error), ..
        }) => {
            return vec![LookedUp::failed(
                "the load balancers of the Ingresses",
                error.clone(),
            )];
        }
        None => {
            let error = not_looked_up("the region's load balancers");
            return vec![LookedUp::failed(
                "the load balancers of the Ingresses",
                error,
            )];
        }
    };
    matched_load_balancers(links, found)
        .into_iter()
        .filter_map(|(arn, ingresses)| {
            let mut balancer = listed
                .iter()
                .find(|tagged| tagged.load_balancer.arn == arn)?
                .load_balancer
                .clone();
            balancer.listeners = result_of(
                found.listeners.get(&arn),
                &format!("the listeners of {}", balancer.name),
            );
            balancer.ingresses = ingresses.into_iter().collect();
            Some(LookedUp::found(balancer.name.clone(), balancer))
        })
        .collect()
}

fn file_systems(links: &super::link::DataLinks, found: &DataFound) -> Vec<LookedUp<EfsFileSystem>> {
    let mut out = Vec::new();
    if !links.bound_claims.is_empty()
        && let Some(Fetched {
            result: Err(error), ..
        }) = &found.volumes
    {
        out.push(LookedUp::failed(
            "the PersistentVolumes of the claims",
            error.clone(),
        ));
    }
    let in_use = file_systems_in_use(links, found);
    if in_use.is_empty() {
        return out;
    }
    let listed = match &found.file_systems {
        Some(Fetched {
            result: Ok(listed), ..
        }) => Ok(listed),
        Some(Fetched {
            result: Err(error), ..
        }) => Err(error.clone()),
        None => Err(not_looked_up("the region's EFS file systems")),
    };
    for (id, claims) in in_use {
        let result = match &listed {
            Err(error) => Err(error.clone()),
            Ok(listed) => match listed.iter().find(|fs| fs.id == id) {
                Some(file_system) => Ok(EfsFileSystem {
                    volumes: claims.into_iter().collect(),
                    ..file_system.clone()
                }),
                None => Err(LookupError::new(
                    "FileSystemNotFound",
                    format!("EFS file system {id} does not exist in the region"),
                )),
            },
        };
        out.push(LookedUp {
            requested: id,
            result,
        });
    }
    out
}
