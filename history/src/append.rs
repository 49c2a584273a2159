//! When an audit becomes a record: the chain's first, a result that differs from the last
//! record's, or a day since the last record (so that the history shows the cluster was watched
//! even when nothing changed).

use chrono::{DateTime, TimeDelta, Utc};

use crate::record::HistoryRecord;

/// The longest a chain goes without a record while audits run.
pub const MAX_RECORD_GAP: TimeDelta = TimeDelta::hours(24);

/// What the writer remembers of a chain's last record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tip {
    pub key: String,
    pub sequence: u64,
    pub sha256: String,
    pub result_sha256: String,
    pub time: DateTime<Utc>,
}

impl Tip {
    /// The tip that `record`, stored under `key`, makes.
    pub fn of(record: &HistoryRecord, key: &str) -> Tip {
        Tip {
            key: key.to_string(),
            sequence: record.sequence,
            sha256: record.sha256.clone(),
            result_sha256: record.result_sha256.clone(),
            time: record.time,
        }
    }
}

/// Why an audit is appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendReason {
    /// The chain has no record yet.
    First,
    /// The result differs from the last record's.
    Changed,
    /// [`MAX_RECORD_GAP`] or more since the last record.
    Daily,
}

impl AppendReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AppendReason::First => "first",
            AppendReason::Changed => "changed",
            AppendReason::Daily => "daily",
        }
    }
}

/// Whether an audit at `now` with result hash `result_sha256` is appended after `tip`.
pub fn should_append(
    tip: Option<&Tip>,
    result_sha256: &str,
    now: DateTime<Utc>,
) -> Option<AppendReason> {
    let Some(tip) = tip else {
        return Some(AppendReason::First);
    };
    if tip.result_sha256 != result_sha256 {
        Some(AppendReason::Changed)
    } else if now - tip.time >= MAX_RECORD_GAP {
        Some(AppendReason::Daily)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::fixtures::{at, tip};

    #[test]
    fn the_first_a_changed_result_and_a_day_append_nothing_else_does() {
        let last = tip(3, "r1", at("2026-12-01T00:00:00Z"));
        assert_eq!(
            should_append(None, "r1", at("2026-12-01T00:00:00Z")),
            Some(AppendReason::First)
        );
        assert_eq!(
            should_append(Some(&last), "r2", at("2026-12-01T00:10:00Z")),
            Some(AppendReason::Changed)
        );
        assert_eq!(
            should_append(Some(&last), "r1", at("2026-12-01T23:59:59Z")),
            None
        );
        assert_eq!(
            should_append(Some(&last), "r1", at("2026-12-02T00:00:00Z")),
            Some(AppendReason::Daily)
        );
    }
}
