//! Fuzz target: any bytes as the body of `POST /validate` (Content-Type: application/json), through
//! the webhook's own path (checks, envelope decode, object parse, decide, record, answer) against
//! the fixture cluster. Seeds: webhook/tests/fixtures/{reviews,bad}/*.json.
#![no_main]

use std::sync::LazyLock;

use hipaa_guard_fuzz::admission::{Harness, check_answer};

static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    let answer = HARNESS.answer(body);
    check_answer(&answer, None);
});
