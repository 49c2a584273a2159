//! `kubectl hipaa history verify`: every record under the location read back and every chain
//! checked (hipaa_history::verify_chains); the first broken or missing record of each chain is
//! named, and the command fails when there is one.

use std::fmt::Write as _;

use hipaa_history::{ChainVerdict, S3Location, Stored, decode, verify_chains};

use super::read::chain_keys;
use super::s3::HistoryReader;

/// Every chain under `location` (one cluster's with `cluster`), verified.
pub async fn verify(
    reader: &HistoryReader,
    location: &S3Location,
    cluster: Option<&str>,
) -> anyhow::Result<Vec<ChainVerdict>> {
    let chains = chain_keys(reader, location, cluster).await?;
    let mut stored = Vec::new();
    for (_, key) in chains.into_values().flatten() {
        let record = match reader.get(&location.bucket, &key).await {
            Ok(bytes) => decode(&bytes).map_err(|e| e.to_string()),
            Err(error) => Err(format!("{error:#}")),
        };
        stored.push(Stored { key, record });
    }
    Ok(verify_chains(&location.prefix, stored))
}

/// One line per chain: intact with its record count and last record, or its first problem.
pub fn render_text(location: &S3Location, verdicts: &[ChainVerdict]) -> String {
    let mut text = String::new();
    if verdicts.is_empty() {
        let _ = writeln!(text, "no history records under {location}");
    }
    for verdict in verdicts {
        let chain = format!("{}/{}", verdict.cluster, verdict.policy);
        let _ = match &verdict.problem {
            None => writeln!(
                text,
                "OK      {chain}: {} records, last {}",
                verdict.records,
                verdict.last.as_deref().unwrap_or("-")
            ),
            Some(problem) => writeln!(text, "BROKEN  {chain}: {problem}"),
        };
    }
    text
}
