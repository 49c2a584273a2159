//! kubectl hipaa: offline scans, live status and evidence reports, around the hipaa-controls
//! engine (which gives every verdict).
//!
//! Exit status: 0 success (for `scan`: nothing at or above `--fail-on` fails; for `fix`: every
//! finding fixed or shown fixed), 1 `scan` found something at or above `--fail-on` (`fix`:
//! findings remain without an automatic fix), 2 bad usage, unreadable, invalid, empty or over-limit input,
//! or a cluster that cannot be read (nothing is written on standard output then).

pub mod access;
pub mod cli;
pub mod cluster;
pub mod controls_cmd;
pub mod fix;
#[cfg(feature = "history")]
pub mod history;
pub mod input;
pub mod labels;
pub mod output;
pub mod report;
pub mod scan;
pub mod status;

use std::io::{Read, Write};

use chrono::Utc;

use cli::{Cli, Command};
use output::Style;

/// What the process exits with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failed = 1,
    Error = 2,
}

/// What `report --history` and `history` say in a build without the `history` feature (the fuzz
/// build; every release has it).
#[cfg(not(feature = "history"))]
pub const NO_HISTORY: &str =
    "this build of kubectl-hipaa has no evidence history support (cargo feature `history`)";

/// Runs one command; errors are the caller's to print (they exit 2).
pub fn run(cli: &Cli, stdin: &mut dyn Read, out: &mut dyn Write) -> anyhow::Result<Exit> {
    match &cli.command {
        Command::Scan(args) => {
            let report = scan::run(args, &cli.global, stdin, Utc::now())?;
            let width = output::width::for_stdout(args.width);
            let style = Style::for_stdout(args.color);
            output::write_scan(&report, args.output, style, width, out)?;
            out.flush()?;
            Ok(if report.failed() {
                Exit::Failed
            } else {
                Exit::Ok
            })
        }
        Command::Fix(args) => {
            let mut notes = std::io::stderr();
            fix::run(args, &cli.global, stdin, out, &mut notes, Utc::now())
        }
        Command::Status(args) => {
            status::run(args, &cli.global, out)?;
            Ok(Exit::Ok)
        }
        Command::Report(args) => {
            report::run(args, &cli.global, out)?;
            Ok(Exit::Ok)
        }
        #[cfg(feature = "history")]
        Command::History(args) => history::run(args, out),
        #[cfg(not(feature = "history"))]
        Command::History(_) => anyhow::bail!(NO_HISTORY),
        Command::Access(args) => {
            access::run(args, &cli.global, out)?;
            Ok(Exit::Ok)
        }
        Command::Controls(args) => {
            controls_cmd::run(args, out)?;
            Ok(Exit::Ok)
        }
        Command::Completion(args) => {
            cli::write_completion(args.shell, out);
            Ok(Exit::Ok)
        }
    }
}
