//! What exists in the account, indexed for reach: every data store becomes one or more
//! "surfaces" — an exact ARN (a bucket, a database, a table, a key) or a sub-resource space (a
//! bucket's objects, a table's indexes and streams, a database's `rds-db:connect` users) — each
//! tagged with the services whose actions apply to it. Literal ARNs are found by hash, wildcard
//! patterns by a binary search on their literal prefix.

use std::collections::HashMap;

use super::super::{AwsSnapshot, RdsKind};

/// One data store in the account, as the reach computation knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreRef {
    /// A bucket by name: its ARN is `arn:aws:s3:::<name>` and its objects `arn:aws:s3:::<name>/…`.
    S3Bucket { name: String },
    /// An RDS instance or cluster by ARN; `resource_id` (`db-…` / `cluster-…`) is what
    /// `rds-db:connect` grants name.
    Rds {
        kind: RdsKind,
        arn: String,
        resource_id: Option<String>,
    },
    /// A DynamoDB table by ARN (its indexes and streams count as the table).
    DynamoTable { arn: String },
    /// A KMS key by key ARN.
    KmsKey { arn: String },
}

/// Service bits: which actions apply to a surface.
pub(crate) const S3: u8 = 1;
pub(crate) const RDS: u8 = 1 << 1;
pub(crate) const RDS_DATA: u8 = 1 << 2;
pub(crate) const RDS_DB: u8 = 1 << 3;
pub(crate) const DYNAMODB: u8 = 1 << 4;
pub(crate) const KMS: u8 = 1 << 5;

/// The action prefix of each service bit, in bit order.
pub(crate) const SERVICES: [(u8, &str); 6] = [
    (S3, "s3:"),
    (RDS, "rds:"),
    (RDS_DATA, "rds-data:"),
    (RDS_DB, "rds-db:"),
    (DYNAMODB, "dynamodb:"),
    (KMS, "kms:"),
];

/// One ARN (or ARN space) of a store that grants can name.
#[derive(Clone, Debug)]
pub(crate) struct Surface {
    pub(crate) store: u32,
    /// The exact ARN, or for a sub-resource space the prefix every member starts with (ending
    /// in `/`).
    pub(crate) key: String,
    /// True for a sub-resource space.
    pub(crate) space: bool,
    pub(crate) services: u8,
}

/// The account's data stores, indexed. A store's index is its position in the list it was built
/// from; [`super::Reach`] answers by that index.
#[derive(Clone, Debug, Default)]
pub struct StoreInventory {
    stores: Vec<StoreRef>,
    surfaces: Vec<Surface>,
    /// Exact ARNs and space prefixes → surfaces.
    by_key: HashMap<String, Vec<u32>>,
    /// Surface ids sorted by key, for wildcard patterns' literal prefixes.
    sorted: Vec<u32>,
}

impl StoreInventory {
    /// Indexes `stores`; index `i` of the result is `stores[i]`.
    pub fn new(stores: impl IntoIterator<Item = StoreRef>) -> StoreInventory {
        let mut inventory = StoreInventory::default();
        for store in stores {
            inventory.add(store);
        }
        let surfaces = &inventory.surfaces;
        let mut sorted: Vec<u32> = (0..surfaces.len() as u32).collect();
        sorted.sort_by(|&a, &b| key_of(surfaces, a).cmp(key_of(surfaces, b)));
        inventory.sorted = sorted;
        inventory
    }

    /// The stores of a snapshot that were found (lookups that failed have no ARN to match), in
    /// the order S3 buckets, RDS databases, DynamoDB tables, KMS keys with a known ARN.
    pub fn from_snapshot(snapshot: &AwsSnapshot) -> StoreInventory {
        let buckets = snapshot
            .s3_buckets
            .iter()
            .filter_map(|b| b.result.as_ref().ok());
        let databases = snapshot
            .rds_databases
            .iter()
            .filter_map(|d| d.result.as_ref().ok());
        let tables = snapshot
            .dynamodb_tables
            .iter()
            .filter_map(|t| t.result.as_ref().ok());
        let keys = snapshot
            .kms_keys
            .iter()
            .filter_map(|k| k.result.as_ref().ok());
        StoreInventory::new(
            buckets
                .map(|b| StoreRef::S3Bucket {
                    name: b.name.clone(),
                })
                .chain(databases.map(|d| StoreRef::Rds {
                    kind: d.kind.clone(),
                    arn: d.arn.clone(),
                    resource_id: d.resource_id.clone(),
                }))
                .chain(tables.map(|t| StoreRef::DynamoTable { arn: t.arn.clone() }))
                .chain(
                    keys.filter_map(|k| k.arn.clone())
                        .map(|arn| StoreRef::KmsKey { arn }),
                ),
        )
    }

    /// The store at `index`.
    pub fn store(&self, index: usize) -> Option<&StoreRef> {
        self.stores.get(index)
    }

    /// How many stores there are.
    pub fn len(&self) -> usize {
        self.stores.len()
    }

    /// True when there are no stores.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }

    fn add(&mut self, store: StoreRef) {
        let id = self.stores.len() as u32;
        match &store {
            StoreRef::S3Bucket { name } => {
                let arn = format!("arn:aws:s3:::{name}");
                self.surface(id, format!("{arn}/"), true, S3);
                self.surface(id, arn, false, S3);
            }
            StoreRef::Rds {
                kind,
                arn,
                resource_id,
            } => {
                let data = if *kind == RdsKind::Cluster {
                    RDS_DATA
                } else {
                    0
                };
                self.surface(id, arn.clone(), false, RDS | data);
                if let (Some(resource_id), Some(users)) = (resource_id, db_users_prefix(arn)) {
                    self.surface(id, format!("{users}{resource_id}/"), true, RDS_DB);
                }
            }
            StoreRef::DynamoTable { arn } => {
                self.surface(id, format!("{arn}/"), true, DYNAMODB);
                self.surface(id, arn.clone(), false, DYNAMODB);
            }
            StoreRef::KmsKey { arn } => self.surface(id, arn.clone(), false, KMS),
        }
        self.stores.push(store);
    }

    fn surface(&mut self, store: u32, key: String, space: bool, services: u8) {
        let id = self.surfaces.len() as u32;
        self.by_key.entry(key.clone()).or_default().push(id);
        self.surfaces.push(Surface {
            store,
            key,
            space,
            services,
        });
    }

    pub(crate) fn surface_at(&self, id: u32) -> Option<&Surface> {
        self.surfaces.get(id as usize)
    }

    pub(crate) fn all_surfaces(&self) -> &[Surface] {
        &self.surfaces
    }

    /// The surfaces whose key is exactly `key`.
    pub(crate) fn with_key(&self, key: &str) -> &[u32] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }

    /// The surfaces whose key starts with `prefix`, in key order.
    pub(crate) fn with_key_prefix(&self, prefix: &str) -> &[u32] {
        let surfaces = &self.surfaces;
        let start = self
            .sorted
            .partition_point(|&id| key_of(surfaces, id) < prefix);
        let rest = self.sorted.get(start..).unwrap_or_default();
        let len = rest.partition_point(|&id| key_of(surfaces, id).starts_with(prefix));
        rest.get(..len).unwrap_or_default()
    }
}

fn key_of(surfaces: &[Surface], id: u32) -> &str {
    surfaces.get(id as usize).map_or("", |s| s.key.as_str())
}

/// `arn:aws:rds:<region>:<account>:db:x` → `arn:aws:rds-db:<region>:<account>:dbuser:`.
fn db_users_prefix(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("rds"), Some(region), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(format!("arn:{partition}:rds-db:{region}:{account}:dbuser:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces_are_found_by_exact_key_and_by_prefix() {
        let inventory = StoreInventory::new([
            StoreRef::S3Bucket { name: "phi".into() },
            StoreRef::S3Bucket {
                name: "phi-2".into(),
            },
            StoreRef::Rds {
                kind: RdsKind::Instance,
                arn: "arn:aws:rds:us-east-1:111122223333:db:orders".into(),
                resource_id: Some("db-ABC".into()),
            },
        ]);
        assert_eq!(inventory.with_key("arn:aws:s3:::phi").len(), 1);
        assert_eq!(inventory.with_key("arn:aws:s3:::phi/").len(), 1);
        assert_eq!(inventory.with_key_prefix("arn:aws:s3:::phi").len(), 4);
        assert_eq!(inventory.with_key_prefix("arn:aws:s3:::phi-").len(), 2);
        assert_eq!(
            inventory
                .with_key("arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABC/")
                .len(),
            1
        );
        assert!(inventory.with_key_prefix("arn:aws:kms").is_empty());
    }
}
