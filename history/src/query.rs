//! Reading a history: records grouped into their chains, and the record in force at a time
//! (the last one taken at or before it).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::key::ChainId;
use crate::record::HistoryRecord;

/// `records` grouped by chain (by the cluster and policy they carry), each in sequence order.
pub fn chains(records: Vec<HistoryRecord>) -> BTreeMap<ChainId, Vec<HistoryRecord>> {
    let mut chains: BTreeMap<ChainId, Vec<HistoryRecord>> = BTreeMap::new();
    for record in records {
        let id = ChainId {
            cluster: record.cluster.name.clone(),
            policy: record.policy.clone(),
        };
        chains.entry(id).or_default().push(record);
    }
    for records in chains.values_mut() {
        records.sort_by_key(|r| r.sequence);
    }
    chains
}

/// The record of one chain in force at `at`: the last taken at or before it.
pub fn in_force_at(chain: &[HistoryRecord], at: DateTime<Utc>) -> Option<&HistoryRecord> {
    chain.iter().rev().find(|record| record.time <= at)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures::{at, chain_of};

    #[test]
    fn the_record_in_force_is_the_last_at_or_before_the_time() {
        let records = chain_of("prod", &[1, 2, 0]);
        let chains = chains(records);
        let chain = chains.values().next().unwrap();
        assert_eq!(chain.len(), 3);
        let times: Vec<_> = chain.iter().map(|r| r.time).collect();
        assert_eq!(in_force_at(chain, at("2026-11-30T00:00:00Z")), None);
        assert_eq!(in_force_at(chain, times[0]).unwrap().sequence, 0);
        assert_eq!(
            in_force_at(chain, times[1] + chrono::TimeDelta::seconds(1))
                .unwrap()
                .sequence,
            1
        );
        assert_eq!(
            in_force_at(chain, at("2027-01-01T00:00:00Z"))
                .unwrap()
                .sequence,
            2
        );
    }
}
