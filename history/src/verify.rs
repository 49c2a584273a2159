//! Verifying chains: every record carries the hash of its own content, names its predecessor's
//! key and hash, and numbers itself one more than it. A chain read back from storage is checked
//! in key order and the first record that breaks it is named: unreadable, altered (its hash or
//! its key does not match its content), a sequence number missing before it, or a link that does
//! not match the record before. A removed last record leaves no trace in the chain itself; the
//! bucket's Object Lock retention is what keeps it (docs/history.md).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::codec::hash_matches;
use crate::key::{ChainId, parse_key};
use crate::record::HistoryRecord;

/// One object read back from the history prefix.
pub struct Stored {
    pub key: String,
    /// The record, or why its bytes are not one.
    pub record: Result<HistoryRecord, String>,
}

/// The first problem of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "camelCase")]
pub enum ChainProblem {
    /// The object is not a readable record.
    Unreadable { key: String, reason: String },
    /// The record's content does not hash to the hash it carries, or does not match its key.
    Altered { key: String, reason: String },
    /// No record has sequence number `sequence`; `next` is the first key after the gap.
    Missing { sequence: u64, next: String },
    /// The record's link does not name the record before it (key or hash).
    BrokenLink { key: String, reason: String },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Unreadable { key, reason } => write!(f, "{key}: unreadable: {reason}"),
            ChainProblem::Altered { key, reason } => write!(f, "{key}: altered: {reason}"),
            ChainProblem::Missing { sequence, next } => {
                write!(f, "record {sequence} is missing (before {next})")
            }
            ChainProblem::BrokenLink { key, reason } => write!(f, "{key}: broken link: {reason}"),
        }
    }
}

/// What verifying one chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainVerdict {
    pub cluster: String,
    pub policy: String,
    /// Records found.
    pub records: usize,
    /// The last record's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// The first problem, None when the chain holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ChainProblem>,
}

/// Every chain under `prefix` in `stored`, each verified; objects whose keys are not record keys
/// are left out. Chains in key order.
pub fn verify_chains(prefix: &str, stored: Vec<Stored>) -> Vec<ChainVerdict> {
    let mut chains: BTreeMap<ChainId, Vec<(u64, Stored)>> = BTreeMap::new();
    for object in stored {
        if let Some(parts) = parse_key(prefix, &object.key) {
            chains
                .entry(parts.chain)
                .or_default()
                .push((parts.sequence, object));
        }
    }
    chains
        .into_iter()
        .map(|(chain, mut records)| {
            records.sort_by(|a, b| (a.0, &a.1.key).cmp(&(b.0, &b.1.key)));
            verify_one(chain, &records)
        })
        .collect()
}

fn verify_one(chain: ChainId, records: &[(u64, Stored)]) -> ChainVerdict {
    let problem = first_problem(&chain, records);
    ChainVerdict {
        cluster: chain.cluster,
        policy: chain.policy,
        records: records.len(),
        last: records.last().map(|(_, s)| s.key.clone()),
        problem,
    }
}

fn first_problem(chain: &ChainId, records: &[(u64, Stored)]) -> Option<ChainProblem> {
    let mut before: Option<(&str, &HistoryRecord)> = None;
    for (expected, (sequence, stored)) in (0_u64..).zip(records) {
        let key = stored.key.clone();
        if *sequence > expected {
            return Some(ChainProblem::Missing {
                sequence: expected,
                next: key,
            });
        }
        if *sequence < expected {
            return Some(ChainProblem::Altered {
                key,
                reason: format!("a second record numbered {sequence}"),
            });
        }
        let record = match &stored.record {
            Ok(record) => record,
            Err(reason) => {
                return Some(ChainProblem::Unreadable {
                    key,
                    reason: reason.clone(),
                });
            }
        };
        if !hash_matches(record) {
            return Some(ChainProblem::Altered {
                key,
                reason: "its content does not hash to the sha256 it carries".into(),
            });
        }
        if record.sequence != *sequence
            || record.cluster.name != chain.cluster
            || record.policy != chain.policy
        {
            return Some(ChainProblem::Altered {
                key,
                reason: format!(
                    "it holds record {} of {}/{}",
                    record.sequence, record.cluster.name, record.policy
                ),
            });
        }
        if let Some(reason) = link_problem(record, before) {
            return Some(ChainProblem::BrokenLink { key, reason });
        }
        before = Some((&stored.key, record));
    }
    None
}

/// Why `record` does not follow `before`, if it does not.
fn link_problem(record: &HistoryRecord, before: Option<(&str, &HistoryRecord)>) -> Option<String> {
    match (&record.previous, before) {
        (None, None) => None,
        (Some(link), None) => Some(format!("the first record links to {}", link.key)),
        (None, Some((key, _))) => Some(format!("it does not link to {key}")),
        (Some(link), Some((key, previous))) => {
            if link.key != key {
                Some(format!("it links to {}, not {key}", link.key))
            } else if link.sha256 != previous.sha256 {
                Some(format!("{key} does not have the hash it links to"))
            } else if record.cluster.uid != previous.cluster.uid {
                Some(format!(
                    "{key} comes from another cluster (kube-system UID)"
                ))
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
