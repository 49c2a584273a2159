//! What changed between two records of a chain: the spec, each control's result, and the
//! violations that appeared or went away.

use std::collections::{BTreeMap, BTreeSet};

use hipaa_crds::{ControlResult, ViolationStatus};
use serde::Serialize;

use crate::record::HistoryRecord;

/// The changes from one record to another.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordDiff {
    pub cluster: String,
    pub policy: String,
    /// The earlier record's sequence number and time (None: the chain had no record yet).
    pub from: Option<RecordRef>,
    pub to: Option<RecordRef>,
    pub spec_changed: bool,
    pub controls: Vec<ControlChange>,
    pub violations_added: Vec<ViolationStatus>,
    pub violations_removed: Vec<ViolationStatus>,
}

impl RecordDiff {
    /// True when nothing the records judge differs.
    pub fn is_empty(&self) -> bool {
        !self.spec_changed
            && self.controls.is_empty()
            && self.violations_added.is_empty()
            && self.violations_removed.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordRef {
    pub sequence: u64,
    pub time: String,
}

/// A control whose result changed (None: absent from that record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlChange {
    pub id: String,
    pub from: Option<ControlResult>,
    pub to: Option<ControlResult>,
}

/// The changes from `from` to `to`, two records of one chain (either may be missing).
pub fn diff_records(from: Option<&HistoryRecord>, to: Option<&HistoryRecord>) -> RecordDiff {
    let either = to.or(from);
    let results = |record: Option<&HistoryRecord>| -> BTreeMap<String, ControlResult> {
        record
            .map(|r| {
                r.status
                    .controls
                    .iter()
                    .map(|c| (c.id.clone(), c.result))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (before, after) = (results(from), results(to));
    let ids: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let controls = ids
        .into_iter()
        .filter_map(|id| {
            let (a, b) = (before.get(id).copied(), after.get(id).copied());
            (a != b).then(|| ControlChange {
                id: id.clone(),
                from: a,
                to: b,
            })
        })
        .collect();
    let violations = |record: Option<&HistoryRecord>| -> Vec<ViolationStatus> {
        record
            .map(HistoryRecord::violation_statuses)
            .unwrap_or_default()
    };
    let (was, is) = (violations(from), violations(to));
    let reference = |record: Option<&HistoryRecord>| {
        record.map(|r| RecordRef {
            sequence: r.sequence,
            time: r.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    };
    RecordDiff {
        cluster: either.map(|r| r.cluster.name.clone()).unwrap_or_default(),
        policy: either.map(|r| r.policy.clone()).unwrap_or_default(),
        from: reference(from),
        to: reference(to),
        spec_changed: from.map(|r| &r.spec_sha256) != to.map(|r| &r.spec_sha256),
        controls,
        violations_added: is.iter().filter(|v| !was.contains(v)).cloned().collect(),
        violations_removed: was.iter().filter(|v| !is.contains(v)).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures::chain_of;

    #[test]
    fn a_diff_names_added_and_removed_violations_and_changed_results() {
        let chain = chain_of("prod", &[2, 1, 0]);
        let diff = diff_records(Some(&chain[0]), Some(&chain[1]));
        assert!(!diff.spec_changed);
        assert!(diff.violations_added.is_empty());
        assert_eq!(diff.violations_removed.len(), 1);
        assert_eq!(diff.violations_removed[0].name, "api-1");
        assert!(diff.controls.is_empty(), "{diff:?}");
        let diff = diff_records(Some(&chain[1]), Some(&chain[2]));
        assert_eq!(
            diff.controls,
            vec![ControlChange {
                id: "HIPAA-K8S-PRIVILEGED".into(),
                from: Some(ControlResult::Fail),
                to: Some(ControlResult::Pass),
            }]
        );
        let back = diff_records(Some(&chain[2]), Some(&chain[0]));
        assert_eq!(back.violations_added.len(), 2);
        assert!(diff_records(Some(&chain[1]), Some(&chain[1])).is_empty());
        let from_nothing = diff_records(None, Some(&chain[0]));
        assert!(from_nothing.spec_changed);
        assert_eq!(from_nothing.violations_added.len(), 2);
    }
}
