//! The metric names a PromQL expression reads, and the names a Prometheus text exposition offers,
//! so that a renamed metric fails the test that compares them.

use std::collections::BTreeSet;

/// Words of PromQL that are not metric names where an identifier could be one.
const KEYWORDS: [&str; 26] = [
    // Aggregations, which may be followed by `by (...)` before their `(`.
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
];

/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names `expr` selects: identifiers outside label matchers, ranges, strings and
/// label lists that are neither functions (followed by `(`), keywords, numbers nor durations.
/// Grafana's variables (`$policy`, `$__rate_interval`) are skipped.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '"' | '\'' | '`' => i = skip_past(&chars, i + 1, c),
            '{' => i = skip_past(&chars, i + 1, '}'),
            '[' => i = skip_past(&chars, i + 1, ']'),
            '$' => {
                i += 1;
                while chars.get(i).is_some_and(|c| is_word(*c)) {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                while chars.get(i).is_some_and(|c| is_word(*c) || *c == '.') {
                    i += 1;
                }
            }
            c if is_word(c) => {
                let start = i;
                while chars.get(i).is_some_and(|c| is_word(*c)) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while chars.get(next).is_some_and(|c| c.is_whitespace()) {
                    next += 1;
                }
                let called = chars.get(next) == Some(&'(');
                if called && LABEL_LISTS.contains(&word.as_str()) {
                    i = skip_past(&chars, next + 1, ')');
                } else if !called && !KEYWORDS.contains(&word.as_str()) {
                    names.insert(word.clone());
                }
            }
            _ => i += 1,
        }
    }
    names
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The index after the first `end` at or after `from` (the end of the text if there is none).
fn skip_past(chars: &[char], from: usize, end: char) -> usize {
    chars
        .iter()
        .skip(from)
        .position(|c| *c == end)
        .map_or(chars.len(), |at| from + at + 1)
}

/// Every series name a text exposition can hold: each `# TYPE` family with the suffixes its type
/// gives its samples (`_total` for counters, `_bucket`/`_sum`/`_count` for histograms, `_info`),
/// and every sample's name.
pub fn exposed_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                "summary" => &["", "_sum", "_count"],
                "info" => &["_info"],
                _ => &[""],
            };
            for suffix in suffixes {
                names.insert(format!("{name}{suffix}"));
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

#[test]
fn names_are_found_outside_matchers_functions_and_label_lists() {
    let expr = r#"sum by (service, operation) ((x_total{job="a",outcome="b"} unless x_total offset 15m) or increase(y_total{a="{"}[15m])) > 0 and on (le) histogram_quantile(0.99, rate(z_bucket[$__rate_interval])) - time() < 1e3 * $days"#;
    let names: Vec<String> = metric_names(expr).into_iter().collect();
    assert_eq!(names, ["x_total", "y_total", "z_bucket"]);
    assert_eq!(
        metric_names("absent(up{job=\"w\"} == 1) or max(ready) < 1")
            .into_iter()
            .collect::<Vec<_>>(),
        ["ready", "up"]
    );
}

#[test]
fn exposed_names_expand_families_by_type() {
    let text =
        "# TYPE a counter\n# TYPE b histogram\n# TYPE c gauge\nc 1\nd{x=\"1\"} 2\n# TYPE e info\n";
    let names = exposed_names(text);
    for name in [
        "a_total", "b_bucket", "b_sum", "b_count", "c", "d", "e_info",
    ] {
        assert!(names.contains(name), "{name}: {names:?}");
    }
    assert!(!names.contains("a") && !names.contains("b"), "{names:?}");
}
