//! Kubernetes label syntax for command-line flags: `KEY=VALUE,...` lists, checked as the API
//! server checks label keys and values, so that an assumed label could be a real one.

use std::collections::BTreeMap;

/// The labels `--assume-namespace-labels` gives (possibly none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceLabels(pub BTreeMap<String, String>);

/// `KEY=VALUE,KEY=VALUE`; an empty (or blank) text is no labels. Keys and values follow the
/// Kubernetes label syntax, as an assumed namespace must be one that could exist.
pub fn parse_namespace_labels(text: &str) -> Result<NamespaceLabels, String> {
    let mut labels = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("{pair:?} is not KEY=VALUE"));
        };
        let (key, value) = (key.trim(), value.trim());
        if !is_label_key(key) {
            return Err(format!(
                "{key:?} is not a label key (an optional DNS prefix and /, then up to 63 letters, digits, '-', '_' or '.')"
            ));
        }
        if !(value.is_empty() || is_label_name(value)) {
            return Err(format!(
                "the value of {key} is not a label value (up to 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit)"
            ));
        }
        if labels.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("label {key} is given twice"));
        }
    }
    Ok(NamespaceLabels(labels))
}

fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            })
    });
    prefix_ok && is_label_name(name)
}

fn is_label_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && edge(name.chars().next())
        && edge(name.chars().last())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn lists_of_labels_parse_and_bad_ones_are_refused() {
        let parsed =
            parse_namespace_labels(" app.kubernetes.io/part-of=shop , tier=,x=Y_1.z").unwrap();
        assert_eq!(parsed.0["app.kubernetes.io/part-of"], "shop");
        assert_eq!(parsed.0["tier"], "");
        assert_eq!(parsed.0["x"], "Y_1.z");
        assert_eq!(
            parse_namespace_labels("").unwrap(),
            NamespaceLabels::default()
        );
        assert_eq!(
            parse_namespace_labels(" , ").unwrap(),
            NamespaceLabels::default()
        );
        let too_long = format!("k={}", "v".repeat(64));
        let upper_prefix = "Example.com/k=v";
        for bad in [
            "k",
            "=v",
            "k=v,k=w",
            "a b=c",
            "k=a b",
            "k=-v",
            "k=v-",
            "/k=v",
            "p//k=v",
            &too_long,
            upper_prefix,
        ] {
            assert!(parse_namespace_labels(bad).is_err(), "{bad}");
        }
    }
}
