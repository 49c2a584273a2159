//! The evidence history's writer (opt-in: `--history-s3-uri`): after an audit's status is
//! written, the audit becomes a record of the policy's chain in S3 when its result changed or a
//! day passed (`hipaa_history` decides, builds and hashes), with the bucket's Object Lock
//! retention; the policy's `EvidenceHistory` condition says whether records are written and
//! kept. A failed write is logged, counted and retried at the next audit; it never fails the
//! reconcile.

pub mod args;
pub mod condition;
pub mod s3;
pub mod writer;

pub use args::HistoryArgs;
pub use writer::HistoryWriter;
