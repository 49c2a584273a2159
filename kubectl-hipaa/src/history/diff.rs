//! `kubectl hipaa history diff --from T1 --to T2`: for each chain, the record in force at each
//! time, and what changed between them (hipaa_history::diff_records), as text or JSON.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use hipaa_history::{RecordDiff, S3Location, diff_records};

use super::read::{chain_keys, record_at};
use super::s3::HistoryReader;

/// The diff of every chain under `location` (one cluster's with `cluster`) from `from` to `to`.
pub async fn diff(
    reader: &HistoryReader,
    location: &S3Location,
    cluster: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Vec<RecordDiff>> {
    let chains = chain_keys(reader, location, cluster).await?;
    let mut diffs = Vec::new();
    for keys in chains.values() {
        let before = record_at(reader, location, keys, from).await?;
        let after = record_at(reader, location, keys, to).await?;
        if before.is_some() || after.is_some() {
            diffs.push(diff_records(before.as_ref(), after.as_ref()));
        }
    }
    Ok(diffs)
}

/// A section per chain: the records compared, then each change on a line.
pub fn render_text(diffs: &[RecordDiff]) -> String {
    let mut text = String::new();
    if diffs.is_empty() {
        text.push_str("no history records at either time\n");
    }
    for diff in diffs {
        let side = |r: &Option<hipaa_history::diff::RecordRef>| match r {
            Some(r) => format!("record {} ({})", r.sequence, r.time),
            None => "no record".to_string(),
        };
        let _ = writeln!(
            text,
            "{}/{}: {} -> {}",
            diff.cluster,
            diff.policy,
            side(&diff.from),
            side(&diff.to)
        );
        if diff.is_empty() {
            text.push_str("  no change\n");
        }
        if diff.spec_changed {
            text.push_str("  spec changed\n");
        }
        let result = |r: Option<hipaa_crds::ControlResult>| r.map_or("absent", |r| r.as_str());
        for change in &diff.controls {
            let _ = writeln!(
                text,
                "  {}: {} -> {}",
                change.id,
                result(change.from),
                result(change.to)
            );
        }
        for (sign, list) in [
            ("+", &diff.violations_added),
            ("-", &diff.violations_removed),
        ] {
            for v in list {
                let object = match &v.namespace {
                    Some(ns) => format!("{} {ns}/{}", v.kind, v.name),
                    None => format!("{} {}", v.kind, v.name),
                };
                let _ = writeln!(text, "  {sign} {} {object}: {}", v.control, v.message);
            }
        }
    }
    text
}
