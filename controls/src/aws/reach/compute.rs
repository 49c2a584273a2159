//! The reach computation proper: each role's documents compiled once, every Allow statement's
//! resources matched against the inventory's surfaces, Denys applied, and the grants gathered
//! with their actions as a bitset per (role, store) so that nothing is allocated per grant.

use std::borrow::Cow;
use std::collections::HashMap;

use super::super::identity::IamRole;
use super::super::{LookedUp, LookupError};
use super::compile::{CompiledRole, Resources, service_wildcards};
use super::inventory::{StoreInventory, Surface};
use super::patterns::Pattern;
use super::{Entry, Reach, UnknownReach};

/// Computes what every role in `roles` reaches among the stores of `inventory`.
pub fn compute_reach<'a>(roles: &'a [LookedUp<IamRole>], inventory: &StoreInventory) -> Reach<'a> {
    let wildcards = service_wildcards();
    let mut unknown = Vec::new();
    let mut gathered = Gathered::default();
    let mut scratch = RoleScratch::new(inventory.len());
    for looked_up in roles {
        let role = match readable(looked_up) {
            Ok(role) => role,
            Err(why) => {
                unknown.push(why);
                continue;
            }
        };
        let documents = role
            .policies
            .iter()
            .filter_map(|p| p.document.as_ref().ok());
        let compiled = CompiledRole::compile(documents, &wildcards);
        scratch.begin(compiled.labels.len());
        for allow in &compiled.allows {
            let mut apply = |surface: &Surface, granted: Option<&Pattern>| {
                if surface.services & allow.services == 0 {
                    return;
                }
                for unit in &allow.units {
                    if unit.service & surface.services == 0 {
                        continue;
                    }
                    let denied = unit.denied_by.iter().any(|&d| {
                        compiled
                            .denies
                            .get(d)
                            .is_some_and(|deny| deny.covers_surface(surface, granted))
                    });
                    if !denied {
                        scratch.grant(surface.store, unit.label, allow.conditional);
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
                        if surface.services & allow.services != 0
                            && Resources::spares(spared, surface)
                        {
                            apply(surface, None);
                        }
                    }
                }
            }
        }
        scratch.finish(role, &compiled.labels, &mut gathered);
    }
    Reach::new(
        inventory.len(),
        gathered.entries,
        gathered.lists,
        gathered.actions,
        unknown,
    )
}

/// Everything gathered so far, in the shape [`Reach`] keeps.
#[derive(Default)]
struct Gathered<'a> {
    entries: Vec<Entry<'a>>,
    lists: Vec<(u32, u32)>,
    actions: Vec<Cow<'a, str>>,
}

/// One role's grants while its statements are applied: per store, the labels granted as a
/// bitset (`width` words) and whether a conditional statement granted.
struct RoleScratch {
    /// Per store, the index in `grants` of the current role's grant (`u32::MAX`: none).
    slots: Vec<u32>,
    grants: Vec<(u32, bool)>,
    bits: Vec<u64>,
    width: usize,
    /// Label bitsets already turned into action lists, for this role.
    lists: HashMap<Vec<u64>, u32>,
}

impl RoleScratch {
    fn new(stores: usize) -> RoleScratch {
        RoleScratch {
            slots: vec![u32::MAX; stores],
            grants: Vec::new(),
            bits: Vec::new(),
            width: 1,
            lists: HashMap::new(),
        }
    }

    fn begin(&mut self, labels: usize) {
        self.width = labels.div_ceil(64).max(1);
    }

    fn grant(&mut self, store: u32, label: usize, conditional: bool) {
        let Some(slot) = self.slots.get_mut(store as usize) else {
            return;
        };
        if *slot == u32::MAX {
            *slot = self.grants.len() as u32;
            self.grants.push((store, false));
            self.bits.resize(self.bits.len() + self.width, 0);
        }
        let at = *slot as usize;
        if let Some((_, granted_conditionally)) = self.grants.get_mut(at) {
            *granted_conditionally |= conditional;
        }
        if let Some(word) = self.bits.get_mut(at * self.width + label / 64) {
            *word |= 1 << (label % 64);
        }
    }

    /// Moves the role's grants into `gathered` and clears the scratch for the next role.
    fn finish<'a>(
        &mut self,
        role: &'a IamRole,
        labels: &[Cow<'a, str>],
        gathered: &mut Gathered<'a>,
    ) {
        for (at, &(store, conditional)) in self.grants.iter().enumerate() {
            if let Some(slot) = self.slots.get_mut(store as usize) {
                *slot = u32::MAX;
            }
            let set = self
                .bits
                .get(at * self.width..(at + 1) * self.width)
                .unwrap_or_default();
            let list = match self.lists.get(set) {
                Some(&list) => list,
                None => {
                    let from = gathered.actions.len() as u32;
                    let granted = labels.iter().enumerate().filter(|(label, _)| {
                        set.get(label / 64)
                            .is_some_and(|word| word & (1 << (label % 64)) != 0)
                    });
                    gathered
                        .actions
                        .extend(granted.map(|(_, action)| action.clone()));
                    let len = gathered.actions.len() as u32 - from;
                    let list = gathered.lists.len() as u32;
                    gathered.lists.push((from, len));
                    self.lists.insert(set.to_vec(), list);
                    list
                }
            };
            gathered.entries.push(Entry {
                role,
                store,
                list,
                conditional,
            });
        }
        self.grants.clear();
        self.bits.clear();
        self.lists.clear();
    }
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
