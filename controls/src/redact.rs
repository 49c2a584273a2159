//! Parse errors without the values they quote. serde's messages name the offending value
//! (`invalid type: string "DB_PASSWORD=hunter2", expected a sequence`); an object that does not
//! parse may be a Secret's data, an env value or a PHI-looking label, and the message goes to
//! logs, admission answers, a HipaaPolicy's status and scan reports. [`Redacted`] keeps what
//! helps to fix the object (the type found, the type expected, field names, line and column)
//! and drops the value.

use std::fmt;

/// Displays an error without the values serde quotes in it: a serde error, or an error that
/// carries one (a kube watch error that failed to decode an object, a YAML error).
#[derive(Clone, Copy, Debug)]
pub struct Redacted<'e, E: ?Sized>(pub &'e E);

impl<E: fmt::Display + ?Sized> fmt::Display for Redacted<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_serde_message(&self.0.to_string()))
    }
}

/// Prefixes after which serde puts a value in backticks (`integer `7``), the backtick included.
/// Field names, which serde also puts in backticks (`unknown field `foo``), are keys and stay.
const BACKTICKED_VALUES: &[&str] = &[
    "integer `",
    "floating point `",
    "boolean `",
    "character `",
    "unknown variant `",
];

/// The prefix of a quoted string value, its opening quote included.
const STRING_VALUE: &str = "string \"";

/// `message` with every value serde quotes taken out: `string "…"` becomes `string`,
/// `integer `…`` becomes `integer`, `unknown variant `…`` becomes `unknown variant`.
pub fn redact_serde_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some((at, prefix)) = next_value(rest) {
        let (before, from_prefix) = rest.split_at(at);
        out.push_str(before);
        out.push_str(prefix.trim_end_matches([' ', '"', '`']));
        let value = from_prefix.get(prefix.len()..).unwrap_or_default();
        rest = if prefix == STRING_VALUE {
            after_debug_string(value)
        } else {
            after_backticked(value)
        };
    }
    out.push_str(rest);
    out
}

/// The first value-quoting prefix in `text`: its byte offset, and which prefix.
fn next_value(text: &str) -> Option<(usize, &'static str)> {
    BACKTICKED_VALUES
        .iter()
        .chain([&STRING_VALUE])
        .filter_map(|prefix| text.find(prefix).map(|at| (at, *prefix)))
        .min_by_key(|(at, _)| *at)
}

/// What follows a backticked value (the opening backtick already taken). serde writes
/// `{value}`, expected …` and the value may hold a backtick itself, so the closing one is the
/// one before ", expected" when there is one.
fn after_backticked(text: &str) -> &str {
    const CLOSE_BEFORE_EXPECTED: &str = "`, expected";
    match text.find(CLOSE_BEFORE_EXPECTED) {
        Some(at) => text.get(at + 1..).unwrap_or_default(),
        None => text.split_once('`').map_or("", |(_, after)| after),
    }
}

/// What follows a Rust-escaped string body (`abc\"def"`, the opening quote already taken):
/// the text after its closing quote, or nothing when it does not close.
fn after_debug_string(text: &str) -> &str {
    let mut escaped = false;
    for (at, ch) in text.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return text.get(at + 1..).unwrap_or_default(),
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod_error(json: serde_json::Value) -> String {
        let error = serde_json::from_value::<Pod>(json).unwrap_err();
        Redacted(&error).to_string()
    }

    #[test]
    fn a_string_where_a_list_belongs_is_named_by_type_only() {
        let message = pod_error(serde_json::json!({
            "spec": {"containers": [{"name": "a", "env": "DB_PASSWORD=canary-7f3a"}]}
        }));
        assert_eq!(message, "invalid type: string, expected a sequence");
    }

    #[test]
    fn escaped_quotes_inside_the_value_do_not_end_it_early() {
        let message = pod_error(serde_json::json!({
            "metadata": {"labels": "patient=\"canary\", ssn=\\\"123\""}
        }));
        assert!(!message.contains("canary"), "{message}");
        assert!(!message.contains("123"), "{message}");
        assert_eq!(message, "invalid type: string, expected a map");
    }

    #[test]
    fn numbers_booleans_and_variants_lose_their_value_but_fields_keep_their_name() {
        for (raw, wanted) in [
            (
                "invalid type: integer `123456789`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid type: floating point `1.5`, expected a string at line 3 column 9",
                "invalid type: floating point, expected a string at line 3 column 9",
            ),
            (
                "invalid type: boolean `true`, expected a map",
                "invalid type: boolean, expected a map",
            ),
            (
                "unknown variant `canary`, expected one of `Enforce`, `Warn`",
                "unknown variant, expected one of `Enforce`, `Warn`",
            ),
            (
                "unknown field `patientName`, expected `name`",
                "unknown field `patientName`, expected `name`",
            ),
            ("missing field `containers`", "missing field `containers`"),
        ] {
            assert_eq!(redact_serde_message(raw), wanted, "{raw}");
        }
    }

    #[test]
    fn several_values_and_an_unterminated_one_are_all_dropped() {
        assert_eq!(
            redact_serde_message("string \"a\" then integer `2` then string \"unterminated"),
            "string then integer then string"
        );
        assert_eq!(
            redact_serde_message("unknown variant `a`b`, expected `A`"),
            "unknown variant, expected `A`"
        );
        assert_eq!(redact_serde_message(""), "");
        assert_eq!(redact_serde_message("integer `"), "integer");
    }

    #[test]
    fn an_object_that_does_not_parse_says_so_without_the_value() {
        let value = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "labels": "patient-name=canary-9d2e"},
        });
        let message = crate::Object::from_value(value, None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "Pod does not parse: invalid type: string, expected a map"
        );
    }

    #[test]
    fn a_positioned_parse_error_keeps_its_line_and_column() {
        let error =
            serde_json::from_str::<Pod>("{\"spec\": {\"containers\": \"canary\"}}").unwrap_err();
        let message = Redacted(&error).to_string();
        assert!(!message.contains("canary"), "{message}");
        assert!(message.contains("line 1 column"), "{message}");
    }
}
