//! Conversions between the engine's clock (chrono) and the Kubernetes API's (jiff), and the short
//! human form of durations used in status (`123d`, `5h`, `12m`).

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;

/// A Kubernetes `Time`, truncated to whole seconds as the API server stores it, so that a status
/// computed now compares equal to the same status read back.
pub fn to_k8s_time(at: DateTime<Utc>) -> Time {
    Time(to_timestamp_seconds(at))
}

/// A Kubernetes `MicroTime` (Leases and Events keep sub-second precision).
pub fn to_micro_time(at: DateTime<Utc>) -> MicroTime {
    let nanos =
        i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos());
    MicroTime(Timestamp::from_nanosecond(nanos).unwrap_or_else(|_| to_timestamp_seconds(at)))
}

/// The engine's form of a Kubernetes timestamp.
pub fn from_timestamp(at: Timestamp) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(at.as_second(), at.subsec_nanosecond().unsigned_abs())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn to_timestamp_seconds(at: DateTime<Utc>) -> Timestamp {
    Timestamp::from_second(at.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `123d`, `5h`, `12m` or `30s`: the largest whole unit left, as `expiresIn` shows it.
pub fn short_duration(duration: chrono::TimeDelta) -> String {
    let seconds = duration.num_seconds().max(0);
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    if seconds >= DAY {
        format!("{}d", seconds / DAY)
    } else if seconds >= HOUR {
        format!("{}h", seconds / HOUR)
    } else if seconds >= MINUTE {
        format!("{}m", seconds / MINUTE)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn k8s_time_drops_sub_seconds_and_round_trips() {
        let at = DateTime::parse_from_rfc3339("2026-11-28T12:00:00.750Z")
            .unwrap()
            .to_utc();
        let time = to_k8s_time(at);
        assert_eq!(serde_json::to_value(&time).unwrap(), "2026-11-28T12:00:00Z");
        assert_eq!(
            from_timestamp(time.0).to_rfc3339(),
            "2026-11-28T12:00:00+00:00"
        );
    }

    #[test]
    fn micro_time_keeps_sub_seconds() {
        let at = DateTime::parse_from_rfc3339("2026-11-28T12:00:00.750Z")
            .unwrap()
            .to_utc();
        assert_eq!(from_timestamp(to_micro_time(at).0), at);
    }

    #[test]
    fn short_duration_uses_the_largest_whole_unit() {
        assert_eq!(
            short_duration(TimeDelta::days(123) + TimeDelta::hours(23)),
            "123d"
        );
        assert_eq!(
            short_duration(TimeDelta::hours(5) + TimeDelta::minutes(59)),
            "5h"
        );
        assert_eq!(short_duration(TimeDelta::minutes(12)), "12m");
        assert_eq!(short_duration(TimeDelta::seconds(30)), "30s");
        assert_eq!(short_duration(TimeDelta::seconds(-5)), "0s");
    }
}
