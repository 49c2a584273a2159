//! Finding records: the record keys under a history location grouped into chains (one cluster's
//! only, with `--cluster`), and the record of each chain in force at a time, read by its key
//! alone (keys carry their record's time, so one object per chain is fetched).

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use hipaa_history::{
    ChainId, HistoryRecord, KeyParts, S3Location, TrendFigures, decode, parse_key,
};

use super::s3::HistoryReader;

/// One chain's record keys, in sequence order.
pub type ChainKeys = BTreeMap<ChainId, Vec<(KeyParts, String)>>;

/// The record keys under `location`, per chain; only `cluster`'s when given.
pub async fn chain_keys(
    reader: &HistoryReader,
    location: &S3Location,
    cluster: Option<&str>,
) -> anyhow::Result<ChainKeys> {
    let mut listed = match cluster {
        Some(cluster) => format!("{}/{cluster}/", location.prefix),
        None => format!("{}/", location.prefix),
    };
    if listed.starts_with('/') {
        listed.remove(0);
    }
    let keys = reader.list(&location.bucket, &listed).await?;
    Ok(group_keys(&location.prefix, keys))
}

/// `keys` that are record keys under `prefix`, grouped by chain and sorted by sequence.
pub fn group_keys(prefix: &str, keys: Vec<String>) -> ChainKeys {
    let mut chains = ChainKeys::new();
    for key in keys {
        if let Some(parts) = parse_key(prefix, &key) {
            chains
                .entry(parts.chain.clone())
                .or_default()
                .push((parts, key));
        }
    }
    for keys in chains.values_mut() {
        keys.sort_by(|a, b| (a.0.sequence, &a.1).cmp(&(b.0.sequence, &b.1)));
    }
    chains
}

/// How many of `keys` were taken at or before `at` by their key's time (whole seconds).
pub fn taken_by(keys: &[(KeyParts, String)], at: DateTime<Utc>) -> usize {
    keys.iter()
        .take_while(|(parts, _)| parts.time <= at)
        .count()
}

/// The record of one chain in force at `at`, if any.
pub async fn record_at(
    reader: &HistoryReader,
    location: &S3Location,
    keys: &[(KeyParts, String)],
    at: DateTime<Utc>,
) -> anyhow::Result<Option<HistoryRecord>> {
    let mut candidates = taken_by(keys, at);
    // A key's time is its record's, truncated to the second: the record itself may be later.
    while candidates > 0 {
        let Some((_, key)) = keys.get(candidates - 1) else {
            break;
        };
        let record = read_record(reader, location, key).await?;
        if record.time <= at {
            return Ok(Some(record));
        }
        candidates -= 1;
    }
    Ok(None)
}

/// The most records a trend reads back (at one a day, three months).
pub const TREND_RECORDS: usize = 90;

/// Where the chain stood at each of its last [`TREND_RECORDS`] records taken by `at`, oldest
/// first: from each object's metadata (one HEAD request), or from the record itself when the
/// metadata lacks the figures.
pub async fn trend(
    reader: &HistoryReader,
    location: &S3Location,
    keys: &[(KeyParts, String)],
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<(DateTime<Utc>, TrendFigures)>> {
    let taken = keys.get(..taken_by(keys, at)).unwrap_or_default();
    let last = taken
        .get(taken.len().saturating_sub(TREND_RECORDS)..)
        .unwrap_or_default();
    let mut points = Vec::with_capacity(last.len());
    for (parts, key) in last {
        let metadata = reader.metadata(&location.bucket, key).await?;
        let figures = match TrendFigures::of_metadata(&metadata) {
            Some(figures) => Some(figures),
            None => TrendFigures::of_status(&read_record(reader, location, key).await?.status),
        };
        points.extend(figures.map(|figures| (parts.time, figures)));
    }
    Ok(points)
}

/// The record under `key`.
pub async fn read_record(
    reader: &HistoryReader,
    location: &S3Location,
    key: &str,
) -> anyhow::Result<HistoryRecord> {
    let bytes = reader.get(&location.bucket, key).await?;
    decode(&bytes).with_context(|| {
        format!(
            "s3://{}/{key} is not a readable record (kubectl hipaa history verify)",
            location.bucket
        )
    })
}

/// The one cluster under the location, or an error naming them all when there are several.
pub fn single_cluster(chains: &ChainKeys, location: &S3Location) -> anyhow::Result<()> {
    let mut clusters: Vec<&str> = chains.keys().map(|c| c.cluster.as_str()).collect();
    clusters.dedup();
    if clusters.len() > 1 {
        bail!(
            "{location} holds the history of several clusters ({}): pick one with --cluster, or --fleet for all",
            clusters.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn keys_group_by_chain_and_the_time_picks_how_many_count() {
        let keys = vec![
            "h/b/p/0000000001-20261201T010000Z.json.gz".to_string(),
            "h/a/p/0000000000-20261201T000000Z.json.gz".to_string(),
            "h/b/p/0000000000-20261201T000000Z.json.gz".to_string(),
            "h/b/p/notes.txt".to_string(),
        ];
        let chains = group_keys("h", keys);
        assert_eq!(chains.len(), 2);
        let b = chains.values().nth(1).unwrap();
        assert_eq!(b[0].0.sequence, 0);
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        assert_eq!(taken_by(b, at("2026-11-30T00:00:00Z")), 0);
        assert_eq!(taken_by(b, at("2026-12-01T00:30:00Z")), 1);
        assert_eq!(taken_by(b, at("2026-12-01T01:00:00Z")), 2);
        let location = S3Location::parse("s3://bucket/h").unwrap();
        let error = single_cluster(&chains, &location).unwrap_err();
        assert!(error.to_string().contains("(a, b)"), "{error}");
    }
}
