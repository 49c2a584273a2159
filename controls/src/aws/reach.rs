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
mod inventory;
pub(crate) mod patterns;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;

pub use inventory::{StoreInventory, StoreRef};

use super::identity::{IamRole, StoreAccess};
use super::stores::{DynamoTable, RdsDatabase, S3Bucket};
use super::{LookedUp, LookupError};
use compile::{CompiledRole, Resources, service_wildcards};
use inventory::Surface;
use patterns::Pattern;

/// What one role grants on one store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant<'a> {
    pub role: &'a IamRole,
    /// The granting action patterns as written (a NotAction statement as `NotAction [..]`),
    /// deduplicated, in the order first seen.
    pub actions: Vec<Cow<'a, str>>,
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

/// Who reaches which store: grants by store index of the [`StoreInventory`], and the roles whose
/// reach is unknown.
#[derive(Clone, Debug, Default)]
pub struct Reach<'a> {
    by_store: Vec<Vec<RoleGrant<'a>>>,
    unknown: Vec<UnknownReach>,
}

/// Computes what every role in `roles` reaches among the stores of `inventory`.
pub fn compute_reach<'a>(roles: &'a [LookedUp<IamRole>], inventory: &StoreInventory) -> Reach<'a> {
    let wildcards = service_wildcards();
    let mut reach = Reach {
        by_store: vec![Vec::new(); inventory.len()],
        unknown: Vec::new(),
    };
    // Per store, the index of the grant the current role has on it (u32::MAX: none yet).
    let mut slots = vec![u32::MAX; inventory.len()];
    let mut grants: Vec<(u32, RoleGrant<'a>)> = Vec::new();
    for looked_up in roles {
        let role = match readable(looked_up) {
            Ok(role) => role,
            Err(unknown) => {
                reach.unknown.push(unknown);
                continue;
            }
        };
        let documents = role
            .policies
            .iter()
            .filter_map(|p| p.document.as_ref().ok());
        let compiled = CompiledRole::compile(documents, &wildcards);
        let mut grant = |surface: &Surface, label: &Cow<'a, str>, conditional: bool| {
            let slot = slots.get_mut(surface.store as usize);
            let Some(slot) = slot else { return };
            let existing = grants.get_mut(*slot as usize);
            match existing {
                Some((_, found)) => {
                    if !found.actions.contains(label) {
                        found.actions.push(label.clone());
                    }
                    found.conditional |= conditional;
                }
                None => {
                    *slot = grants.len() as u32;
                    grants.push((
                        surface.store,
                        RoleGrant {
                            role,
                            actions: vec![label.clone()],
                            conditional,
                        },
                    ));
                }
            }
        };
        for allow in &compiled.allows {
            let mut apply = |surface: &Surface, granted: Option<&Pattern>| {
                if surface.services & allow.services == 0 {
                    return;
                }
                for unit in &allow.units {
                    let denied = unit.denied_by.iter().any(|&d| {
                        compiled
                            .denies
                            .get(d)
                            .is_some_and(|deny| deny.covers_surface(surface, granted))
                    });
                    if unit.service & surface.services != 0 && !denied {
                        grant(surface, &unit.label, allow.conditional);
                    }
                }
            };
            match &allow.resources {
                Resources::Listed(patterns) => {
                    for pattern in patterns {
                        for_each_match(inventory, pattern, |s| apply(s, Some(pattern)));
                    }
                }
                Resources::AllBut(spared) => {
                    for surface in inventory.all_surfaces() {
                        if Resources::spares(spared, surface) {
                            apply(surface, None);
                        }
                    }
                }
            }
        }
        for (store, found) in grants.drain(..) {
            if let Some(slot) = slots.get_mut(store as usize) {
                *slot = u32::MAX;
            }
            if let Some(list) = reach.by_store.get_mut(store as usize) {
                list.push(found);
            }
        }
    }
    reach
}

/// The role, when every policy document it has could be read.
fn readable(looked_up: &LookedUp<IamRole>) -> Result<&IamRole, UnknownReach> {
    let unknown = |role: &str, reason: String| UnknownReach {
        role: role.to_string(),
        reason,
    };
    let role = looked_up.result.as_ref().map_err(|error| {
        unknown(
            &looked_up.requested,
            format!("the role could not be read: {error}"),
        )
    })?;
    if let Some(error) = &role.policies_error {
        return Err(unknown(
            &role.arn,
            format!("its policies could not be listed: {error}"),
        ));
    }
    let failed = role.policies.iter().find_map(|policy| {
        let error: &LookupError = policy.document.as_ref().err()?;
        let name = policy.arn.as_deref().unwrap_or(&policy.name);
        Some(format!("policy {name} could not be read: {error}"))
    });
    match failed {
        Some(reason) => Err(unknown(&role.arn, reason)),
        None => Ok(role),
    }
}

/// Calls `found` for every surface `pattern` names (a surface may come more than once).
fn for_each_match(inventory: &StoreInventory, pattern: &Pattern, mut found: impl FnMut(&Surface)) {
    if pattern.is_any() {
        inventory.all_surfaces().iter().for_each(found);
        return;
    }
    let literal = pattern.literal_prefix();
    let mut check = |id: u32| {
        if let Some(surface) = inventory.surface_at(id) {
            let hit = if surface.space {
                pattern.matches_some_extension(&surface.key)
            } else {
                pattern.matches(&surface.key)
            };
            if hit {
                found(surface);
            }
        }
    };
    if pattern.is_literal() {
        inventory.with_key(literal).iter().for_each(|&id| check(id));
    } else {
        inventory
            .with_key_prefix(literal)
            .iter()
            .for_each(|&id| check(id));
    }
    // Spaces whose prefix is shorter than the literal part (`arn:aws:s3:::b/` for
    // `arn:aws:s3:::b/reports/*`); a prefix equal to it was found above.
    for (at, _) in literal.match_indices('/') {
        if at + 1 < literal.len() {
            let prefix = literal.get(..=at).unwrap_or_default();
            inventory.with_key(prefix).iter().for_each(|&id| check(id));
        }
    }
}

impl<'a> Reach<'a> {
    /// The roles that grant access to the store at `index` of the inventory.
    pub fn grants(&self, index: usize) -> &[RoleGrant<'a>] {
        self.by_store.get(index).map_or(&[], Vec::as_slice)
    }

    /// The indices of the stores some role reaches, with their grants.
    pub fn reached(&self) -> impl Iterator<Item = (usize, &[RoleGrant<'a>])> {
        self.by_store
            .iter()
            .enumerate()
            .filter(|(_, grants)| !grants.is_empty())
            .map(|(index, grants)| (index, grants.as_slice()))
    }

    /// The roles whose reach is unknown: the caller reports Error on each.
    pub fn unknown(&self) -> &[UnknownReach] {
        &self.unknown
    }

    /// Every workload × role that reaches the store at `index`, sorted.
    pub fn accesses(&self, index: usize) -> Vec<StoreAccess> {
        let mut accesses: Vec<StoreAccess> = self
            .grants(index)
            .iter()
            .flat_map(|grant| {
                grant.role.used_by.iter().map(|used| StoreAccess {
                    workload: used.workload.clone(),
                    role_arn: grant.role.arn.clone(),
                    actions: grant.actions.iter().map(|a| a.to_string()).collect(),
                    conditional: grant.conditional,
                })
            })
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
        let link = |key: &str, links: &mut super::StoreLinks| {
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
