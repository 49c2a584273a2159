//! The roles in-scope workloads run with (each with the workloads that use it, through IRSA or
//! Pod Identity), and the stores those roles reach among what the region's listings hold: the
//! operator's side of [`compute_reach`], which decides which buckets, tables and databases a
//! refresh describes and which workloads each store names.

use std::collections::{BTreeMap, HashMap};

use hipaa_controls::aws::{
    IamRole, IdentitySource, LookedUp, LookupError, MAX_STORE_ACCESSES, RdsDatabase, RdsKind,
    RoleUse, StoreAccess, StoreInventory, StoreRef, UnknownReach, compute_reach,
};
use hipaa_controls::model::ResourceRef;

use super::declared::DeclaredName;
use super::found::{DataFound, linked_roles, pod_identities};
use super::link::DataLinks;
use crate::aws::fetched::Fetched;

/// What the roles reach, by store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReachedStores {
    /// Every linked role, with its uses, as looked up.
    pub roles: Vec<LookedUp<IamRole>>,
    /// Bucket name → who reaches it.
    pub buckets: BTreeMap<String, Accesses>,
    /// Table name → who reaches it.
    pub tables: BTreeMap<String, Accesses>,
    /// Database ARN → who reaches it.
    pub databases: BTreeMap<String, Accesses>,
    /// Roles whose reach is unknown (a policy that could not be read).
    pub unknown: Vec<UnknownReach>,
    /// Bucket name or database ARN → the ACK or Crossplane objects that declare it.
    pub declared_by: BTreeMap<String, Vec<ResourceRef>>,
    /// Declared databases the region's listing does not hold: (identifier, declaring object).
    pub declared_missing: Vec<(String, ResourceRef)>,
}

/// Who reaches one store: the first [`MAX_STORE_ACCESSES`] workload × role paths, and how many
/// there are in all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accesses {
    pub first: Vec<StoreAccess>,
    pub total: usize,
}

impl ReachedStores {
    /// What the linked roles reach among the listed stores, and the stores declared in scope.
    pub fn compute(links: &DataLinks, found: &DataFound) -> ReachedStores {
        let roles = roles(links, found);
        let databases = listed(&found.listings.databases);
        let tables = listed(&found.listings.tables);
        let stores = listed(&found.listings.buckets)
            .iter()
            .map(|name| StoreRef::S3Bucket { name: name.clone() })
            .chain(databases.iter().map(|database| StoreRef::Rds {
                kind: database.kind.clone(),
                arn: database.arn.clone(),
                resource_id: database.resource_id.clone(),
            }))
            .chain(tables.iter().map(|table| StoreRef::DynamoTable {
                arn: table.arn.clone(),
            }));
        let table_names: HashMap<&str, &str> = tables
            .iter()
            .map(|table| (table.arn.as_str(), table.name.as_str()))
            .collect();
        let (reached_stores, unknown) = reach_over(&roles, stores);
        let mut reached = ReachedStores {
            unknown,
            ..ReachedStores::default()
        };
        for (store, accesses) in reached_stores {
            match store {
                StoreRef::S3Bucket { name } => {
                    reached.buckets.insert(name, accesses);
                }
                StoreRef::Rds { arn, .. } => {
                    reached.databases.insert(arn, accesses);
                }
                StoreRef::DynamoTable { arn } => {
                    if let Some(name) = table_names.get(arn.as_str()) {
                        reached.tables.insert((*name).to_string(), accesses);
                    }
                }
                StoreRef::KmsKey { .. } => {}
            }
        }
        reached.roles = roles;
        reached.add_declared(found, databases);
        reached
    }

    /// Links the stores ACK and Crossplane objects declare, reached by a role or not.
    fn add_declared(&mut self, found: &DataFound, databases: &[RdsDatabase]) {
        for declared in super::found::declared(found) {
            let key = match &declared.store {
                DeclaredName::Bucket(name) => {
                    self.buckets.entry(name.clone()).or_default();
                    name.clone()
                }
                DeclaredName::Database { kind, identifier } => {
                    let Some(database) = databases
                        .iter()
                        .find(|d| &d.kind == kind && &d.identifier == identifier)
                    else {
                        self.declared_missing
                            .push((identifier.clone(), declared.object.clone()));
                        continue;
                    };
                    self.databases.entry(database.arn.clone()).or_default();
                    database.arn.clone()
                }
            };
            self.declared_by
                .entry(key)
                .or_default()
                .push(declared.object.clone());
        }
    }
}

/// The parameter group whose TLS setting the database at `arn` needs: (group, engine, is a
/// cluster group).
pub fn tls_key(arn: &str, found: &DataFound) -> Option<(String, String, bool)> {
    let database = listed(&found.listings.databases)
        .iter()
        .find(|database| database.arn == arn)?;
    let group = database.parameter_group.clone()?;
    Some((
        group,
        database.engine.clone(),
        database.kind == RdsKind::Cluster,
    ))
}

/// KMS key ARN → who reaches it, for `keys` (the keys the snapshot's stores use).
pub fn key_accesses(
    links: &DataLinks,
    found: &DataFound,
    keys: &[String],
) -> BTreeMap<String, Accesses> {
    let roles = roles(links, found);
    let stores = keys.iter().map(|arn| StoreRef::KmsKey { arn: arn.clone() });
    reach_over(&roles, stores)
        .0
        .into_iter()
        .filter_map(|(store, accesses)| match store {
            StoreRef::KmsKey { arn } => Some((arn, accesses)),
            _ => None,
        })
        .collect()
}

/// Every store of `stores` some role reaches, with who reaches it; and the roles whose reach is
/// unknown.
fn reach_over(
    roles: &[LookedUp<IamRole>],
    stores: impl Iterator<Item = StoreRef>,
) -> (Vec<(StoreRef, Accesses)>, Vec<UnknownReach>) {
    let inventory = StoreInventory::new(stores);
    let reach = compute_reach(roles, &inventory);
    let reached = reach
        .reached()
        .filter_map(|index| {
            // Only the first paths are kept: building every one (a role with `s3:*` on `*` used
            // by thousands of workloads reaches every bucket) would cost more than the budget
            // of a whole audit's linking.
            let accesses = Accesses {
                first: reach.accesses_limited(index, MAX_STORE_ACCESSES),
                total: reach.access_count(index),
            };
            Some((inventory.store(index)?.clone(), accesses))
        })
        .collect();
    (reached, reach.unknown().to_vec())
}

/// The listed items, or none when the listing failed or was not made.
fn listed<T>(fetched: &Option<Fetched<Vec<T>>>) -> &[T] {
    match fetched {
        Some(Fetched {
            result: Ok(items), ..
        }) => items,
        _ => &[],
    }
}

/// The linked roles as looked up, each with the workloads that use it.
fn roles(links: &DataLinks, found: &DataFound) -> Vec<LookedUp<IamRole>> {
    let mut uses: BTreeMap<String, Vec<RoleUse>> = BTreeMap::new();
    for (role, accounts) in &links.irsa {
        let pairs = accounts.iter().map(|(n, a)| (n.as_str(), a.as_str()));
        uses.entry(role.clone())
            .or_default()
            .extend(links.uses(pairs, IdentitySource::Irsa));
    }
    for association in pod_identities(found) {
        let pair = (
            association.namespace.as_str(),
            association.service_account.as_str(),
        );
        uses.entry(association.role_arn.clone())
            .or_default()
            .extend(links.uses([pair], IdentitySource::PodIdentity));
    }
    // Without the associations, a role bound through Pod Identity could be missing: that is an
    // Error of the roles' controls, never a silently shorter list.
    let associations_failed = match (&found.pod_identities, &links.cluster) {
        (
            Some(Fetched {
                result: Err(error), ..
            }),
            Some(cluster),
        ) => Some(LookedUp::failed(
            format!("the EKS Pod Identity associations of cluster {cluster}"),
            error.clone(),
        )),
        _ => None,
    };
    linked_roles(links, found)
        .into_iter()
        .map(|arn| {
            let mut used_by = uses.remove(&arn).unwrap_or_default();
            used_by.sort();
            used_by.dedup();
            let result = match found.roles.get(&arn) {
                Some(fetched) => fetched.result.clone().map(|mut role| {
                    role.used_by = used_by;
                    role
                }),
                None => Err(LookupError::new(
                    "NotLookedUp",
                    format!("IAM role {arn} has not been looked up yet"),
                )),
            };
            LookedUp {
                requested: arn,
                result,
            }
        })
        .chain(associations_failed)
        .collect()
}

/// The listed databases, for callers that need them whole.
pub fn listed_databases(found: &DataFound) -> &[RdsDatabase] {
    listed(&found.listings.databases)
}
