//! Building, encoding and decoding records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::codec::{decode, encode, hash_matches};
use crate::fixtures::{chain_of, key_of, status, violations};

#[test]
fn a_record_keeps_every_violation_and_links_to_the_tip() {
    let chain = chain_of("prod", &[150, 150]);
    let first = &chain[0];
    assert_eq!(first.sequence, 0);
    assert_eq!(first.previous, None);
    assert_eq!(
        first.violation_statuses().len(),
        150,
        "unbounded, unlike the status"
    );
    assert!(first.status.violations.is_empty());
    assert_eq!(first.full_status().violations.len(), 150);
    let second = &chain[1];
    assert_eq!(second.sequence, 1);
    let link = second.previous.as_ref().unwrap();
    assert_eq!(
        (link.key.as_str(), link.sha256.as_str()),
        (key_of(first).as_str(), first.sha256.as_str())
    );
    assert_eq!(
        first.result_sha256, second.result_sha256,
        "same result, same hash"
    );
    assert_ne!(first.sha256, second.sha256);
}

#[test]
fn the_result_hash_ignores_times_and_follows_findings() {
    let a = chain_of("prod", &[2, 3]);
    assert_ne!(a[0].result_sha256, a[1].result_sha256);
    let b = chain_of("other", &[2]);
    assert_eq!(a[0].result_sha256, b[0].result_sha256);
    assert_eq!(a[0].spec_sha256, a[1].spec_sha256);
}

#[test]
fn violations_are_grouped_sorted_and_deduplicated() {
    let mut list = violations(3);
    list.reverse();
    list.push(list[0].clone());
    let groups = group_violations(list);
    assert_eq!(groups.len(), 1);
    let names: Vec<_> = groups[0].resources.iter().map(|v| v.name()).collect();
    assert_eq!(names, ["api-0", "api-1", "api-2"]);
}

#[test]
fn a_record_survives_encoding_and_keeps_its_hash() {
    let record = chain_of("prod", &[5])[0].clone();
    let bytes = encode(&record).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
    let back = decode(&bytes).unwrap();
    assert_eq!(back, record);
    assert!(hash_matches(&back));
    let mut altered = back;
    altered.status = status(0);
    assert!(!hash_matches(&altered));
}

#[test]
fn bytes_that_are_not_a_record_are_refused_with_a_reason() {
    assert!(matches!(
        decode(b"plain text"),
        Err(crate::DecodeError::Gzip(_))
    ));
    let mut record = chain_of("prod", &[1])[0].clone();
    record.format = 99;
    let error = decode(&encode(&record).unwrap()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "record format 99; this version reads format 1"
    );
}
