//! `kubectl hipaa history verify|diff`, and the reading of the evidence history that
//! `kubectl hipaa report --history` shares: the records the operator keeps in S3
//! (docs/history.md), read on the standard AWS configuration chain.

pub mod diff;
pub mod read;
pub mod s3;
pub mod verify;

use std::io::Write;

use anyhow::Context as _;
use hipaa_history::S3Location;

use crate::Exit;
use crate::cli::{HistoryArgs, HistoryCommand, HistoryFormat};
use crate::cluster;

/// The location in `uri`, for the CLI's errors.
pub fn location(uri: &str) -> anyhow::Result<S3Location> {
    S3Location::parse(uri).context("the history location")
}

/// Runs `history verify` or `history diff`; verify fails (exit 1) when a chain is broken.
pub fn run(args: &HistoryArgs, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let runtime = cluster::runtime()?;
    match &args.command {
        HistoryCommand::Verify(verify_args) => {
            let location = location(&verify_args.location)?;
            let verdicts = runtime.block_on(async {
                let reader = s3::HistoryReader::from_environment().await;
                verify::verify(&reader, &location, verify_args.cluster.as_deref()).await
            })?;
            match verify_args.output {
                HistoryFormat::Text => {
                    out.write_all(verify::render_text(&location, &verdicts).as_bytes())?
                }
                HistoryFormat::Json => {
                    out.write_all((serde_json::to_string_pretty(&verdicts)? + "\n").as_bytes())?
                }
            }
            let broken = verdicts.is_empty() || verdicts.iter().any(|v| v.problem.is_some());
            Ok(if broken { Exit::Failed } else { Exit::Ok })
        }
        HistoryCommand::Diff(diff_args) => {
            let location = location(&diff_args.location)?;
            let diffs = runtime.block_on(async {
                let reader = s3::HistoryReader::from_environment().await;
                diff::diff(
                    &reader,
                    &location,
                    diff_args.cluster.as_deref(),
                    diff_args.from,
                    diff_args.to,
                )
                .await
            })?;
            match diff_args.output {
                HistoryFormat::Text => out.write_all(diff::render_text(&diffs).as_bytes())?,
                HistoryFormat::Json => {
                    out.write_all((serde_json::to_string_pretty(&diffs)? + "\n").as_bytes())?
                }
            }
            Ok(Exit::Ok)
        }
    }
}
