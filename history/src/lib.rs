//! The evidence history: one compressed record per audit worth keeping, chained by SHA-256 to the
//! one before. This crate owns the record format, its canonical hashes, the object keys, the
//! decision to append, and what the readers do with a chain (verify it, pick the record in force
//! at a time, diff two records). Pure functions only: the operator writes records to S3 and
//! `kubectl hipaa` reads them back; neither the format nor the checks depend on either.

pub mod append;
pub mod build;
pub mod canonical;
pub mod codec;
pub mod diff;
pub mod figures;
pub mod key;
pub mod location;
pub mod query;
pub mod record;
pub mod verify;

pub use append::{AppendReason, Tip, should_append};
pub use build::{RecordInput, build_record};
pub use codec::{DecodeError, decode, encode};
pub use diff::{RecordDiff, diff_records};
pub use figures::TrendFigures;
pub use key::{ChainId, KeyParts, chain_prefix, is_valid_cluster_name, parse_key, record_key};
pub use location::{NotS3Location, S3Location};
pub use query::{chains, in_force_at};
pub use record::{
    ChainLink, ClusterIdentity, FORMAT_VERSION, HistoryRecord, Violation, ViolationGroup,
};
pub use verify::{ChainProblem, ChainVerdict, Stored, verify_chains};

#[cfg(test)]
mod fixtures;
