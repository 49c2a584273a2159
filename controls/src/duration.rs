//! The one duration grammar of HIPAA Guard: Go's `time.ParseDuration` (what Kubernetes and
//! kubectl accept, e.g. `10m`, `1h30m`, `1.5s`, `500ms`), without a sign. A HipaaPolicy's
//! `auditInterval` and every duration flag of the two binaries are read with it.
//!
//! Not `kube::core::Duration`: it accepts a sign and an empty string (as zero), and its
//! floating-point arithmetic panics on values past `std::time::Duration`'s range, which a policy
//! written by a user must never reach. Here the arithmetic is exact, in whole nanoseconds, and
//! bounded like Go's (about 292 years).

use std::time::Duration;

/// The longest duration Go (and so Kubernetes) can hold: `i64::MAX` nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;
/// Fractional digits past the nanosecond of the largest unit (an hour has 3.6e12 ns) change
/// nothing; stop reading them before the numerator can overflow.
const MAX_FRACTION_DIGITS: u32 = 18;

/// Why a text is not a duration. The message quotes the text and says what would be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{text:?} is not a duration such as 10m, 1h30m or 1.5s (units ns, us, ms, s, m, h)")]
    Malformed { text: String },
    #[error("{text:?} is longer than the longest duration (about 292 years)")]
    TooLong { text: String },
    #[error("{text:?} must be longer than zero")]
    Zero { text: String },
}

/// Parses a duration such as `10m`, `1h30m`, `1.5h`, `.5s` or `500ms`; a bare `0` is zero. Units
/// are `ns`, `us` (or `µs`), `ms`, `s`, `m` and `h`; every number needs one; there is no sign
/// and no space inside. Leading and trailing whitespace is ignored.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let malformed = || DurationError::Malformed {
        text: trimmed.to_owned(),
    };
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    if trimmed.is_empty() {
        return Err(malformed());
    }
    let mut nanos: u128 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let (part, after) = parse_part(rest).ok_or_else(malformed)?;
        nanos = nanos.saturating_add(part);
        if nanos > MAX_NANOS {
            return Err(DurationError::TooLong {
                text: trimmed.to_owned(),
            });
        }
        rest = after;
    }
    let seconds = u64::try_from(nanos / 1_000_000_000).map_err(|_| malformed())?;
    let subsec = u32::try_from(nanos % 1_000_000_000).map_err(|_| malformed())?;
    Ok(Duration::new(seconds, subsec))
}

/// [`parse_duration`] for what must take some time (an interval, a timeout): zero is refused.
pub fn parse_positive_duration(text: &str) -> Result<Duration, DurationError> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(DurationError::Zero {
            text: text.trim().to_owned(),
        });
    }
    Ok(duration)
}

/// One `<number><unit>` at the start of `text`, in nanoseconds (saturated), and what follows it.
fn parse_part(text: &str) -> Option<(u128, &str)> {
    let (whole, rest) = split_digits(text);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => split_digits(after_dot),
        None => ("", rest),
    };
    // "." alone, or a unit with no number before it.
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let unit_len = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at_checked(unit_len)?;
    let unit_nanos: u128 = match unit {
        "ns" => 1,
        // U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU, as Go accepts both.
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    let whole_nanos = digits_value(whole).saturating_mul(unit_nanos);
    let kept = fraction
        .get(..fraction.len().min(MAX_FRACTION_DIGITS as usize))
        .unwrap_or(fraction);
    let scale = 10u128.pow(u32::try_from(kept.len()).ok()?);
    // Truncated below the nanosecond, as Go does.
    let fraction_nanos = digits_value(kept).saturating_mul(unit_nanos) / scale;
    Some((whole_nanos.saturating_add(fraction_nanos), rest))
}

/// The leading ASCII digits of `text` and the rest.
fn split_digits(text: &str) -> (&str, &str) {
    let len = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(len)
}

/// The value of a run of ASCII digits, saturated (an overlong number is then too long).
fn digits_value(digits: &str) -> u128 {
    digits.bytes().fold(0u128, |value, digit| {
        value
            .saturating_mul(10)
            .saturating_add(u128::from(digit - b'0'))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// Nanoseconds per unit: each row of the table reads `text, count, unit`.
    const NS: u64 = 1;
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;

    #[test]
    fn accepts_go_durations() {
        let accepted = [
            ("0", 0, S),
            ("0s", 0, S),
            ("0h0m", 0, S),
            ("5s", 5, S),
            (" 5s\n", 5, S),
            ("300ms", 300, MS),
            ("1500ms", 1500, MS),
            ("1.5s", 1500, MS),
            (".5s", 500, MS),
            ("5.s", 5, S),
            ("1m30s", 90, S),
            ("10m", 600, S),
            ("1h30m", 5400, S),
            ("1.5h", 5400, S),
            ("2h0m10s", 7210, S),
            ("1h1h", 7200, S),
            ("8760h", 31_536_000, S),
            ("100ns", 100, NS),
            ("7us", 7, US),
            ("7\u{b5}s", 7, US),
            ("7\u{3bc}s", 7, US),
            ("1.000000001s", 1_000_000_001, NS),
            // Below the nanosecond is cut off, as in Go.
            ("1.0000000019s", 1_000_000_001, NS),
            ("0.333333333333333333333333s", 333_333_333, NS),
            ("2562047h", 9_223_369_200, S),
        ];
        for (text, count, unit) in accepted {
            let nanos = count * unit;
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_nanos(nanos)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rejects_what_go_rejects_and_signs() {
        let rejected = [
            ("", "empty"),
            (" ", "blank"),
            ("5", "no unit (only a bare 0 needs none)"),
            ("1.5", "no unit"),
            ("1h30", "the last number has no unit"),
            ("s", "no number"),
            (".", "a dot is no number"),
            (".s", "a dot is no number"),
            ("5d", "no day unit"),
            ("5S", "units are lower case"),
            ("10x", "unknown unit"),
            ("1h 30m", "a space inside"),
            ("5 s", "a space inside"),
            ("-5m", "no sign"),
            ("+5m", "no sign"),
            ("1..5s", "two dots"),
            ("1.5.s", "two dots"),
            ("1e3s", "no exponent"),
            ("0x10s", "no hexadecimal"),
            ("ten minutes", "words"),
        ];
        for (text, why) in rejected {
            assert!(
                matches!(parse_duration(text), Err(DurationError::Malformed { .. })),
                "{text:?} ({why}) parsed as {:?}",
                parse_duration(text)
            );
        }
    }

    #[test]
    fn refuses_what_go_cannot_hold() {
        for text in ["2562048h", "99999999999999999999999999999999999999999h"] {
            assert!(
                matches!(parse_duration(text), Err(DurationError::TooLong { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn positive_durations_refuse_zero_and_say_so() {
        assert_eq!(
            parse_positive_duration("250ms"),
            Ok(Duration::from_millis(250))
        );
        for zero in ["0", "0s", "0.0h"] {
            let error = parse_positive_duration(zero).unwrap_err();
            assert!(matches!(error, DurationError::Zero { .. }), "{zero:?}");
            assert_eq!(
                error.to_string(),
                format!("{zero:?} must be longer than zero")
            );
        }
        let error = parse_positive_duration("5").unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"5\" is not a duration such as 10m, 1h30m or 1.5s (units ns, us, ms, s, m, h)"
        );
    }
}
