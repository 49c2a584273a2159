//! Verifying chains: intact, with a record removed, altered, replaced, or unreadable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::build::record_sha256;
use crate::fixtures::{PREFIX, chain_of, key_of};

fn stored(records: &[HistoryRecord]) -> Vec<Stored> {
    records
        .iter()
        .map(|r| Stored {
            key: key_of(r),
            record: Ok(r.clone()),
        })
        .collect()
}

fn problem(stored: Vec<Stored>) -> Option<ChainProblem> {
    let verdicts = verify_chains(PREFIX, stored);
    assert_eq!(verdicts.len(), 1);
    verdicts.into_iter().next().unwrap().problem
}

#[test]
fn an_intact_chain_verifies_and_chains_are_told_apart() {
    let mut objects = stored(&chain_of("prod", &[1, 2, 3]));
    objects.extend(stored(&chain_of("staging", &[0])));
    objects.push(Stored {
        key: format!("{PREFIX}/README.txt"),
        record: Err("not gzip".into()),
    });
    let verdicts = verify_chains(PREFIX, objects);
    assert_eq!(verdicts.len(), 2);
    assert_eq!(
        verdicts
            .iter()
            .map(|v| (v.cluster.as_str(), v.records, v.problem.is_none()))
            .collect::<Vec<_>>(),
        [("prod", 3, true), ("staging", 1, true)]
    );
}

#[test]
fn a_removed_record_is_named_by_its_sequence_number() {
    let chain = chain_of("prod", &[1, 2, 3, 4]);
    let mut objects = stored(&chain);
    objects.remove(1);
    assert_eq!(
        problem(objects),
        Some(ChainProblem::Missing {
            sequence: 1,
            next: key_of(&chain[2]),
        })
    );
    let mut objects = stored(&chain);
    objects.remove(0);
    assert!(matches!(
        problem(objects),
        Some(ChainProblem::Missing { sequence: 0, .. })
    ));
}

#[test]
fn an_altered_record_is_named_even_when_last() {
    let chain = chain_of("prod", &[1, 2, 3]);
    for index in [0, 2] {
        let mut objects = stored(&chain);
        let record = objects[index].record.as_mut().unwrap();
        record.violations.clear();
        let found = problem(objects).unwrap();
        assert!(
            matches!(&found, ChainProblem::Altered { key, .. } if *key == key_of(&chain[index])),
            "{found}"
        );
    }
}

#[test]
fn a_rehashed_record_breaks_the_next_records_link() {
    let chain = chain_of("prod", &[1, 2, 3]);
    let mut objects = stored(&chain);
    let record = objects[1].record.as_mut().unwrap();
    record.violations.clear();
    record.sha256 = record_sha256(record).unwrap();
    let found = problem(objects).unwrap();
    assert_eq!(
        found,
        ChainProblem::BrokenLink {
            key: key_of(&chain[2]),
            reason: format!("{} does not have the hash it links to", key_of(&chain[1])),
        }
    );
}

#[test]
fn a_record_under_another_key_or_unreadable_is_named() {
    let chain = chain_of("prod", &[1, 2]);
    let mut objects = stored(&chain);
    objects[1].record = Ok(chain[0].clone());
    assert!(matches!(
        problem(objects),
        Some(ChainProblem::Altered { .. })
    ));
    let mut objects = stored(&chain);
    objects[0].record = Err("not gzip".into());
    assert_eq!(
        problem(objects).unwrap().to_string(),
        format!("{}: unreadable: not gzip", key_of(&chain[0]))
    );
}
