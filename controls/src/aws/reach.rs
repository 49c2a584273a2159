//! Which data stores each workload reaches through its IAM role: the Allow statements of the
//! role's policies matched against the stores that exist in the account, minus what explicit
//! Deny statements remove. Pure and fast: each role's patterns are compiled once, literal ARNs are
//! found by hash, wildcards only among the stores their literal prefix can name.
//!
//! Semantics, stated once: `Condition`s are reported, not evaluated — a conditional Allow still
//! grants (marked `conditional`) and a conditional Deny removes nothing. A Deny removes a grant
//! only when it provably covers it; when in doubt the grant stays. Policy variables in resources
//! are widened to `*`. A role whose policies could not all be read has unknown reach, returned in
//! [`Reach::unknown`] so that the caller reports Error, never a silent Pass.

mod compile;
mod compute;
mod inventory;
pub(crate) mod patterns;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;

pub use compute::compute_reach;
pub use inventory::{StoreInventory, StoreRef};

use super::LookedUp;
use super::identity::{IamRole, StoreAccess};
use super::stores::{DynamoTable, RdsDatabase, S3Bucket, StoreLinks};

/// What one role grants on one store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleGrant<'r> {
    pub role: &'r IamRole,
    /// The granting action patterns as written (a NotAction statement as `NotAction [..]`),
    /// deduplicated, in the order the role's policies first name them.
    pub actions: &'r [Cow<'r, str>],
    /// True when a granting Allow statement has a `Condition`.
    pub conditional: bool,
}

/// A role whose reach cannot be computed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownReach {
    /// The role's ARN (or the identifier it was requested by, when the role lookup failed).
    pub role: String,
    pub reason: String,
}

/// One role's grant on one store, as stored: the action list is shared by every store the role
/// reaches with the same actions.
#[derive(Clone, Debug)]
struct Entry<'a> {
    role: &'a IamRole,
    store: u32,
    /// Index into `Reach::lists`.
    list: u32,
    conditional: bool,
}

/// Who reaches which store: grants by store index of the [`StoreInventory`], and the roles whose
/// reach is unknown. Grants are kept store by store in one array (role order within a store),
/// and action lists are shared, so that computing reach allocates little.
#[derive(Clone, Debug, Default)]
pub struct Reach<'a> {
    /// `entries[offsets[s]..offsets[s + 1]]` are store `s`'s grants.
    offsets: Vec<u32>,
    entries: Vec<Entry<'a>>,
    /// Every distinct action list, as ranges of `actions`.
    lists: Vec<(u32, u32)>,
    actions: Vec<Cow<'a, str>>,
    unknown: Vec<UnknownReach>,
}

impl<'a> Reach<'a> {
    /// Lays the grants out store by store (a counting sort, stable: role order is kept).
    fn new(
        stores: usize,
        entries: Vec<Entry<'a>>,
        lists: Vec<(u32, u32)>,
        actions: Vec<Cow<'a, str>>,
        unknown: Vec<UnknownReach>,
    ) -> Reach<'a> {
        let mut offsets = vec![0u32; stores + 1];
        for entry in &entries {
            if let Some(count) = offsets.get_mut(entry.store as usize + 1) {
                *count += 1;
            }
        }
        for at in 1..offsets.len() {
            let before = offsets.get(at - 1).copied().unwrap_or_default();
            if let Some(offset) = offsets.get_mut(at) {
                *offset += before;
            }
        }
        let mut next = offsets.clone();
        let mut placed: Vec<Option<Entry<'a>>> = vec![None; entries.len()];
        for entry in entries {
            if let Some(at) = next.get_mut(entry.store as usize) {
                if let Some(slot) = placed.get_mut(*at as usize) {
                    *slot = Some(entry);
                }
                *at += 1;
            }
        }
        Reach {
            offsets,
            entries: placed.into_iter().flatten().collect(),
            lists,
            actions,
            unknown,
        }
    }

    /// The roles that grant access to the store at `index` of the inventory, in role order.
    pub fn grants(&self, index: usize) -> impl ExactSizeIterator<Item = RoleGrant<'_>> + '_ {
        let start = self.offsets.get(index).copied().unwrap_or_default() as usize;
        let end = self.offsets.get(index + 1).copied().unwrap_or_default() as usize;
        let entries = self.entries.get(start..end).unwrap_or_default();
        entries.iter().map(|entry| {
            let (from, len) = self
                .lists
                .get(entry.list as usize)
                .copied()
                .unwrap_or_default();
            let actions = self
                .actions
                .get(from as usize..(from + len) as usize)
                .unwrap_or_default();
            RoleGrant {
                role: entry.role,
                actions,
                conditional: entry.conditional,
            }
        })
    }

    /// The indices of the stores some role reaches.
    pub fn reached(&self) -> impl Iterator<Item = usize> + '_ {
        self.offsets
            .windows(2)
            .enumerate()
            .filter(|(_, bounds)| bounds.first() != bounds.get(1))
            .map(|(index, _)| index)
    }

    /// How many role grants there are over all stores.
    pub fn grant_count(&self) -> usize {
        self.entries.len()
    }

    /// The roles whose reach is unknown: the caller reports Error on each.
    pub fn unknown(&self) -> &[UnknownReach] {
        &self.unknown
    }

    /// Every workload × role that reaches the store at `index`, sorted. This is the one costly
    /// step: each [`StoreAccess`] owns its strings, so at scale (hundreds of thousands of
    /// workload × store pairs) ask only for the stores being reported, or cap with
    /// [`Reach::accesses_limited`].
    pub fn accesses(&self, index: usize) -> Vec<StoreAccess> {
        self.accesses_limited(index, usize::MAX)
    }

    /// How many workload × role pairs reach the store at `index` (what [`Reach::accesses`]
    /// would return, before removing a workload listed twice under one role).
    pub fn access_count(&self, index: usize) -> usize {
        self.grants(index)
            .map(|grant| grant.role.used_by.len())
            .sum()
    }

    /// At most `limit` of the store's accesses — the first in role order, then sorted — for a
    /// status that shows a few and counts the rest with [`Reach::access_count`].
    pub fn accesses_limited(&self, index: usize, limit: usize) -> Vec<StoreAccess> {
        let mut accesses: Vec<StoreAccess> = self
            .grants(index)
            .flat_map(|grant| {
                grant.role.used_by.iter().map(move |used| StoreAccess {
                    workload: used.workload.clone(),
                    role_arn: grant.role.arn.clone(),
                    actions: grant.actions.iter().map(|a| a.to_string()).collect(),
                    conditional: grant.conditional,
                })
            })
            .take(limit)
            .collect();
        accesses.sort();
        accesses.dedup();
        accesses
    }

    /// Writes `links.reached_by` of every found bucket, database and table that is in
    /// `inventory` (matched by bucket name, database ARN and table ARN).
    pub fn link_stores(
        &self,
        inventory: &StoreInventory,
        buckets: &mut [LookedUp<S3Bucket>],
        databases: &mut [LookedUp<RdsDatabase>],
        tables: &mut [LookedUp<DynamoTable>],
    ) {
        let mut index: HashMap<&str, usize> = HashMap::new();
        for store in 0..inventory.len() {
            match inventory.store(store) {
                Some(StoreRef::S3Bucket { name }) => index.insert(name.as_str(), store),
                Some(StoreRef::Rds { arn, .. } | StoreRef::DynamoTable { arn }) => {
                    index.insert(arn.as_str(), store)
                }
                Some(StoreRef::KmsKey { .. }) | None => None,
            };
        }
        let link = |key: &str, links: &mut StoreLinks| {
            if let Some(&store) = index.get(key) {
                links.reached_by = self.accesses(store);
            }
        };
        for bucket in buckets.iter_mut().filter_map(|b| b.result.as_mut().ok()) {
            link(&bucket.name, &mut bucket.links);
        }
        for database in databases.iter_mut().filter_map(|d| d.result.as_mut().ok()) {
            link(&database.arn, &mut database.links);
        }
        for table in tables.iter_mut().filter_map(|t| t.result.as_mut().ok()) {
            link(&table.arn, &mut table.links);
        }
    }
}
