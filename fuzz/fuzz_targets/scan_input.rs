//! Fuzz target: any bytes as `kubectl hipaa scan -f - -o json`'s standard input (the scan's reader
//! in kubectl-hipaa/src/input: multi-document YAML, JSON, Lists, anchors and aliases, then the
//! judgement and the report), and through the generic reader `input::read_objects` (what
//! `--policy` files go through). The two may disagree: the scan reads the kinds it judges with a
//! typed fast path that skips fields it does not read, so a document the generic reader refuses
//! for such a field (a YAML tag JSON cannot hold, say) is still scanned
//! (fuzz/regressions/scan_input/typed-path-skips-a-tagged-unknown-field.yaml).
// Seeds: every YAML and JSON fixture of the repository, and fuzz/seeds/scan_input.
#![no_main]

use std::sync::LazyLock;

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::input::{InputError, InputPath, read_objects};

static SCAN: LazyLock<Cli> = LazyLock::new(|| {
    Cli::try_parse_from(["kubectl-hipaa", "scan", "-f", "-", "-o", "json"])
        .unwrap_or_else(|err| panic!("the scan's arguments: {err}"))
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut stdin = data;
    let scanned = kubectl_hipaa::run(&SCAN, &mut stdin, &mut std::io::sink());
    let mut stdin = data;
    let read = read_objects::<InputError>(&[InputPath::Stdin], &mut stdin, |_| Ok(()));
    // Both answer, with a message when they refuse; neither panics, hangs or runs out of memory.
    let messages = [
        read.err().map(|err| err.to_string()),
        scanned.err().map(|err| format!("{err:#}")),
    ];
    for message in messages.into_iter().flatten() {
        assert!(!message.is_empty(), "an error without a message");
    }
});
