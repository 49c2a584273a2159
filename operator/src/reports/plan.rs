//! Which reports to write and which to delete, from the reports an audit gives and what the
//! operator remembers writing: a report is applied only when its content hash changed, and
//! deleted when its namespace left the policy's scope. Pure.

use std::collections::{BTreeMap, HashMap};

use super::build::ReportPart;
use super::{ReportApi, ReportKey};

/// What the operator knows one policy's reports hold, per API.
#[derive(Debug, Default)]
pub struct ReportMemory {
    /// The content hash of every report known to exist, by API and report.
    pub written: HashMap<(ReportApi, ReportKey), u64>,
    /// Per API, the serving epoch whose existing reports were read into `written` (reports are
    /// read again when the API comes back after being removed, see
    /// [`super::write::ReportWriter`]).
    pub seeded: HashMap<ReportApi, u64>,
}

impl ReportMemory {
    /// Whether the existing reports of `api` must be read first.
    pub fn needs_seed(&self, api: ReportApi, epoch: u64) -> bool {
        self.seeded.get(&api) != Some(&epoch)
    }

    /// Replaces what is known of `api`'s reports with what the API server lists.
    pub fn seed(&mut self, api: ReportApi, epoch: u64, existing: Vec<(ReportKey, u64)>) {
        self.written.retain(|(known, _), _| *known != api);
        self.written
            .extend(existing.into_iter().map(|(key, hash)| ((api, key), hash)));
        self.seeded.insert(api, epoch);
    }
}

/// The writes one audit needs for one API.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReportPlan {
    /// Reports whose content changed, or that do not exist yet.
    pub apply: Vec<ReportKey>,
    /// Reports of namespaces that left the scope.
    pub delete: Vec<ReportKey>,
}

impl ReportPlan {
    pub fn is_empty(&self) -> bool {
        self.apply.is_empty() && self.delete.is_empty()
    }
}

/// Compares the reports of an audit with what `memory` says exists.
pub fn plan(
    api: ReportApi,
    memory: &ReportMemory,
    parts: &BTreeMap<ReportKey, ReportPart<'_>>,
) -> ReportPlan {
    let apply = parts
        .iter()
        .filter(|(key, part)| memory.written.get(&(api, (*key).clone())) != Some(&part.hash))
        .map(|(key, _)| key.clone())
        .collect();
    let mut delete: Vec<ReportKey> = memory
        .written
        .keys()
        .filter(|(known, key)| *known == api && !parts.contains_key(key))
        .map(|(_, key)| key.clone())
        .collect();
    delete.sort();
    ReportPlan { apply, delete }
}
