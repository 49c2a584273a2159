//! JSON values written as YAML for the edits: scalars plain where YAML reads them back as the
//! same string, double-quoted (JSON escapes, valid YAML) otherwise; collections in block style
//! at a given indentation, or in flow style where an edit rewrites a flow collection.

use serde_json::Value;

/// A scalar (or an empty collection) on one line; None for a non-empty collection.
pub fn inline_scalar(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// A string, plain when that reads back as the same string.
pub fn string(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
    }
}

/// Plain only for words of letters, digits and `-._/` that YAML 1.1 and 1.2 read as strings.
fn is_plain_safe(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    first_ok
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/'))
        && !WORDS.contains(&text.to_ascii_lowercase().as_str())
}

/// What follows `key:` for `value` when the key is at column `indent`: ` scalar`, or a block on
/// the next lines indented two more (no final newline).
pub fn after_colon(value: &Value, indent: usize) -> String {
    match inline_scalar(value) {
        Some(scalar) => format!(" {scalar}"),
        None => format!("\n{}", block(value, indent + 2)),
    }
}

/// A non-empty mapping or sequence as block lines at column `indent` (no final newline).
pub fn block(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                lines.push(format!(
                    "{pad}{}:{}",
                    string(key),
                    after_colon(member, indent)
                ));
            }
        }
        Value::Array(items) => {
            for item in items {
                lines.push(format!("{pad}- {}", item_body(item, indent + 2)));
            }
        }
        scalar => lines.push(format!(
            "{pad}{}",
            inline_scalar(scalar).unwrap_or_default()
        )),
    }
    lines.join("\n")
}

/// A sequence item after its `- `, its further lines at column `indent`.
pub fn item_body(item: &Value, indent: usize) -> String {
    match inline_scalar(item) {
        Some(scalar) => scalar,
        None => block(item, indent).trim_start().to_string(),
    }
}

/// A value in flow style (`{a: b, c: [d]}`), for rewriting a flow collection.
pub fn flow(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), flow(v)))
                .collect();
            format!("{{{}}}", members.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        scalar => inline_scalar(scalar).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_that_would_read_back_otherwise_are_quoted() {
        assert_eq!(string("app-tls"), "app-tls");
        assert_eq!(string("true"), "\"true\"");
        assert_eq!(string("443"), "\"443\"");
        assert_eq!(string("a: b"), "\"a: b\"");
        assert_eq!(
            string("topology.kubernetes.io/zone"),
            "topology.kubernetes.io/zone"
        );
        assert_eq!(string(""), "\"\"");
    }

    #[test]
    fn blocks_and_flows_read_back_as_the_value() {
        let value = json!({"a": [{"b": 1, "c": {"d": "e"}}, "x"], "f": {}, "g": true});
        let text = block(&value, 2);
        assert_eq!(
            text,
            "  a:\n    - b: 1\n      c:\n        d: e\n    - x\n  f: {}\n  g: true"
        );
        let back: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(back, value);
        let back: Value = yaml_serde::from_str(&flow(&value)).unwrap();
        assert_eq!(back, value);
    }
}
