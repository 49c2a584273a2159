//! The log flags both binaries flatten into their command line, and the one setup of the global
//! subscriber: events filtered by `--log-level` (`RUST_LOG`), written as `--log-format` lines
//! to stdout through the batching writer of [`batch`].
//!
//! JSON is the default for both: a pod's stdout goes to a log shipper, which wants one object per
//! line with the event's fields at the top level. `text` is for a person at a terminal.

pub mod batch;

use std::io::{self, IsTerminal};

use clap::{Args, ValueEnum};
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::ParseError;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

pub use batch::{BatchWriter, CAPACITY, LogGuard};

/// The filter when neither `--log-level` nor `RUST_LOG` says otherwise.
pub const DEFAULT_LEVEL: &str = "info";

/// `--log-level` and `--log-format`, flattened into each binary's flags.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct LogArgs {
    /// Which events are logged: a tracing filter in RUST_LOG syntax, e.g. `info`, `warn` or
    /// `info,hipaa_operator=debug`.
    #[arg(
        long,
        env = "RUST_LOG",
        value_name = "FILTER",
        default_value = DEFAULT_LEVEL,
        value_parser = parse_filter
    )]
    pub log_level: String,
    /// `json`: one object per line, fields at the top level, for log pipelines; `text`: for a
    /// person at a terminal (coloured only on one).
    #[arg(long, env = "HIPAA_GUARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

impl Default for LogArgs {
    fn default() -> Self {
        LogArgs {
            log_level: DEFAULT_LEVEL.to_owned(),
            log_format: LogFormat::Json,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("--log-level (RUST_LOG) is not a log filter")]
    Filter(#[source] ParseError),
    #[error("starting the log writer thread")]
    Writer(#[source] io::Error),
    #[error("installing the global log subscriber")]
    Install(#[source] TryInitError),
}

/// Checks a filter when the flags are parsed, so that a typo stops the binary with a message
/// instead of silently logging at another level.
fn parse_filter(text: &str) -> Result<String, ParseError> {
    EnvFilter::try_new(text)?;
    Ok(text.to_owned())
}

/// Installs the global subscriber (and routes the `log` records of dependencies to it). Keep the
/// guard until exit: dropping it writes what is still buffered.
pub fn init(args: &LogArgs) -> Result<LogGuard, LogError> {
    // Parsed before the writer thread starts, so that a bad filter leaves no thread behind.
    let filter = EnvFilter::try_new(&args.log_level).map_err(LogError::Filter)?;
    let (writer, guard) = BatchWriter::spawn(io::stdout(), CAPACITY).map_err(LogError::Writer)?;
    // Colours only for a person at a terminal, never into a pod's log.
    let ansi = io::stdout().is_terminal();
    dispatch(filter, args.log_format, writer, ansi)
        .try_init()
        .map_err(LogError::Install)?;
    Ok(guard)
}

/// The subscriber `init` installs, writing to `writer`. Without the event's target: lines stay
/// short on the webhook's denial path, the message and fields say what happened, and the
/// filter still selects by target.
fn dispatch<W>(filter: EnvFilter, format: LogFormat, writer: W, ansi: bool) -> Dispatch
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    match format {
        LogFormat::Json => Dispatch::new(builder.json().flatten_event(true).finish()),
        LogFormat::Text => Dispatch::new(builder.with_ansi(ansi).finish()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use clap::{CommandFactory, Parser};
    use std::sync::{Arc, Mutex};

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        log: LogArgs,
    }

    /// Lines logged under a subscriber, read back by the test.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn logged(args: &LogArgs, log: impl FnOnce()) -> String {
        let lines = Lines::default();
        let captured = lines.clone();
        let filter = EnvFilter::try_new(&args.log_level).unwrap();
        let dispatch = dispatch(filter, args.log_format, move || captured.clone(), false);
        tracing::dispatcher::with_default(&dispatch, log);
        String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_at_info_is_the_default_whatever_the_environment() {
        let command = Cli::command();
        let default_of = |id: &str| {
            let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_default_values()[0].to_str().unwrap().to_owned()
        };
        assert_eq!(default_of("log_format"), "json");
        assert_eq!(default_of("log_level"), DEFAULT_LEVEL);
        assert_eq!(LogArgs::default().log_format, LogFormat::Json);
    }

    #[test]
    fn flags_choose_the_format_and_a_bad_filter_is_refused() {
        let cli =
            Cli::try_parse_from(["x", "--log-format=text", "--log-level=warn,kube=debug"]).unwrap();
        assert_eq!(cli.log.log_format, LogFormat::Text);
        assert_eq!(cli.log.log_level, "warn,kube=debug");
        assert!(Cli::try_parse_from(["x", "--log-level=info,kube=loud"]).is_err());
        assert!(Cli::try_parse_from(["x", "--log-format=yaml"]).is_err());
    }

    #[test]
    fn json_lines_carry_fields_at_the_top_level_without_the_target() {
        let text = logged(&LogArgs::default(), || {
            tracing::info!(namespace = "billing", allowed = false, "review denied");
            tracing::debug!("filtered out at info");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line = lines[0];
        for part in [
            "\"level\":\"INFO\"",
            "\"message\":\"review denied\"",
            "\"namespace\":\"billing\"",
            "\"allowed\":false",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
        assert!(!line.contains("\"fields\""), "{line}");
        assert!(!line.contains("\"target\""), "{line}");
    }

    #[test]
    fn text_lines_read_as_prose_and_follow_the_filter() {
        let args = LogArgs {
            log_level: "debug".into(),
            log_format: LogFormat::Text,
        };
        let text = logged(&args, || tracing::debug!(policy = "hipaa", "audited"));
        assert!(text.contains("DEBUG"), "{text}");
        assert!(text.contains("audited policy=\"hipaa\""), "{text}");
        assert!(!text.contains('{'), "{text}");
    }
}
