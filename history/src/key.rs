//! Object keys: `PREFIX/<cluster>/<policy>/<sequence, 10 digits>-<time, YYYYMMDDTHHMMSSZ>.json.gz`.
//! Within a chain, the keys sort by sequence, hence by time; the cluster and policy segments
//! make each chain a prefix of its own, and many clusters can share one history prefix.

use chrono::{DateTime, NaiveDateTime, Utc};

const SUFFIX: &str = ".json.gz";
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// One chain: a policy of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId {
    pub cluster: String,
    pub policy: String,
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.cluster, self.policy)
    }
}

/// What a record's key says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyParts {
    pub chain: ChainId,
    pub sequence: u64,
    pub time: DateTime<Utc>,
}

/// `prefix` with one trailing slash, or empty.
fn normalized(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// The key prefix of one chain's records, ending in `/`.
pub fn chain_prefix(prefix: &str, chain: &ChainId) -> String {
    format!("{}{}/{}/", normalized(prefix), chain.cluster, chain.policy)
}

/// The key of record `sequence` of `chain`, taken at `time`.
pub fn record_key(prefix: &str, chain: &ChainId, sequence: u64, time: DateTime<Utc>) -> String {
    format!(
        "{}{sequence:010}-{}{SUFFIX}",
        chain_prefix(prefix, chain),
        time.format(TIME_FORMAT)
    )
}

/// The parts of `key` under `prefix`, or None when it is not a record key.
pub fn parse_key(prefix: &str, key: &str) -> Option<KeyParts> {
    let rest = key.strip_prefix(&normalized(prefix))?;
    let mut segments = rest.split('/');
    let (cluster, policy, file) = (segments.next()?, segments.next()?, segments.next()?);
    if segments.next().is_some() || cluster.is_empty() || policy.is_empty() {
        return None;
    }
    let (sequence, time) = file.strip_suffix(SUFFIX)?.split_once('-')?;
    if sequence.len() != 10 || !sequence.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let time = NaiveDateTime::parse_from_str(time, TIME_FORMAT).ok()?;
    Some(KeyParts {
        chain: ChainId {
            cluster: cluster.to_string(),
            policy: policy.to_string(),
        },
        sequence: sequence.parse().ok()?,
        time: time.and_utc(),
    })
}

/// True when `name` can be a key segment: a DNS label's characters, 1 to 63 of them.
pub fn is_valid_cluster_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !name.starts_with(['-', '.'])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn chain() -> ChainId {
        ChainId {
            cluster: "prod-east".into(),
            policy: "production-phi".into(),
        }
    }

    #[test]
    fn a_key_round_trips_and_sorts_by_sequence() {
        let time = DateTime::parse_from_rfc3339("2026-12-06T05:04:03Z")
            .unwrap()
            .with_timezone(&Utc);
        let key = record_key("/evidence/", &chain(), 7, time);
        assert_eq!(
            key,
            "evidence/prod-east/production-phi/0000000007-20261206T050403Z.json.gz"
        );
        let parts = parse_key("evidence", &key).unwrap();
        assert_eq!(parts.chain, chain());
        assert_eq!((parts.sequence, parts.time), (7, time));
        assert!(record_key("evidence", &chain(), 10, time) > key);
        assert_eq!(
            parse_key("", &record_key("", &chain(), 1, time))
                .unwrap()
                .sequence,
            1
        );
    }

    #[test]
    fn other_objects_are_not_record_keys() {
        for key in [
            "evidence/prod-east/production-phi/notes.txt",
            "evidence/prod-east/production-phi/7-20261206T050403Z.json.gz",
            "evidence/prod-east/0000000007-20261206T050403Z.json.gz",
            "other/prod-east/p/0000000007-20261206T050403Z.json.gz",
            "evidence/prod-east/p/x/0000000007-20261206T050403Z.json.gz",
        ] {
            assert_eq!(parse_key("evidence", key), None, "{key}");
        }
    }

    #[test]
    fn cluster_names_are_key_safe() {
        assert!(is_valid_cluster_name("prod-east.1"));
        for bad in ["", "Prod", "a/b", "-a", &"a".repeat(64)] {
            assert!(!is_valid_cluster_name(bad), "{bad}");
        }
    }
}
