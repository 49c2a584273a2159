//! HIPAA-K8S-SECRETS-IN-ENV: no literal credential in a container's environment, found by the
//! variable's name (`DB_PASSWORD`) or by what its value looks like (`values`). Messages name the
//! container, the variable and the kind of credential, never the value nor any part of it.
//!
//! Only `env[].value` is literal: `valueFrom` and `envFrom` refer to Secrets or ConfigMaps, and
//! a ConfigMap's data is not judged here (ConfigMaps are not in the engine's context, and a
//! credential in one is a finding about the ConfigMap, not about each workload that reads it).

mod jwt;
mod values;

pub use values::{CredentialKind, credential_in_value};

use crate::check::{Check, Verdict};
use crate::k8s::{containers, verdict_from};

/// Name fragments that mark a credential.
const CREDENTIAL_MARKERS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
];

/// Suffixes of names that point at a credential rather than hold it (`DB_PASSWORD_FILE`).
const REFERENCE_SUFFIXES: &[&str] = &["_FILE", "_PATH", "_DIR", "_NAME", "_ARN", "_URL"];

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let Some(spec) = template.spec else {
        return Verdict::Pass;
    };
    let threshold = check.parameters.value_entropy_threshold;
    let mut problems = Vec::new();
    for container in containers(spec) {
        for var in container.env {
            let Some(value) = var.value.as_deref() else {
                continue;
            };
            if let Some(literal) = literal_credential(&var.name, value, threshold) {
                problems.push(literal.problem(container.name, &var.name));
            }
        }
    }
    verdict_from(check.subject, problems)
}

/// Why a literal environment value is taken for a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralCredential {
    /// The variable's name marks a credential (and the value is not blank or a boolean).
    ByName,
    /// The value looks like this kind of credential, whatever the name.
    ByValue(CredentialKind),
}

impl LiteralCredential {
    /// `container api sets DB_PASSWORD to a literal value[ that looks like a JWT]`: the same
    /// shape whichever rule found it, so that one fix (a secretKeyRef) serves both.
    fn problem(self, container: &str, variable: &str) -> String {
        match self {
            LiteralCredential::ByName => {
                format!("container {container} sets {variable} to a literal value")
            }
            LiteralCredential::ByValue(kind) => format!(
                "container {container} sets {variable} to a literal value that looks like {kind}"
            ),
        }
    }
}

/// Whether the literal `value` of the environment variable `name` is a credential, and why. The
/// value's look wins over the name: it says more (`DB_PASSWORD` holding a private key).
pub fn literal_credential(
    name: &str,
    value: &str,
    entropy_threshold: f64,
) -> Option<LiteralCredential> {
    if let Some(kind) = credential_in_value(value, entropy_threshold) {
        return Some(LiteralCredential::ByValue(kind));
    }
    (is_possible_credential(value) && names_credential(name)).then_some(LiteralCredential::ByName)
}

/// The first letters of the markers.
const MARKER_STARTS: &[u8] = b"PSTAC";

/// Whether an environment variable name marks a credential (case-insensitively). Each position
/// is tried only against the markers that start with its letter: comparing whole windows ignoring
/// case at every position was a third of a Deployment's evaluation.
pub fn names_credential(name: &str) -> bool {
    let name = name.as_bytes();
    let marked = name.iter().enumerate().any(|(at, byte)| {
        let first = byte.to_ascii_uppercase();
        MARKER_STARTS.contains(&first)
            && CREDENTIAL_MARKERS.iter().any(|marker| {
                let marker = marker.as_bytes();
                marker.first() == Some(&first)
                    && name
                        .get(at..at + marker.len())
                        .is_some_and(|window| window.eq_ignore_ascii_case(marker))
            })
    });
    let reference = REFERENCE_SUFFIXES.iter().any(|suffix| {
        name.len()
            .checked_sub(suffix.len())
            .and_then(|start| name.get(start..))
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix.as_bytes()))
    });
    marked && !reference
}

/// Empty values and booleans (`ENABLE_TOKEN_AUTH=true`) are not credentials.
fn is_possible_credential(value: &str) -> bool {
    let value = value.trim();
    !value.is_empty() && !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_match_in_any_case_unless_they_name_a_reference() {
        for name in [
            "DB_PASSWORD",
            "db_password",
            "ApiKey",
            "github-token",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(names_credential(name), "{name}");
        }
        for name in [
            "LOG_LEVEL",
            "PASSWORD_FILE",
            "token_path",
            "SECRET_ARN",
            "",
            "Pass_Word",
        ] {
            assert!(!names_credential(name), "{name}");
        }
    }

    #[test]
    fn every_marker_starts_with_a_listed_letter() {
        for marker in CREDENTIAL_MARKERS {
            assert!(
                marker
                    .bytes()
                    .next()
                    .is_some_and(|b| MARKER_STARTS.contains(&b)),
                "{marker}"
            );
            assert_eq!(*marker, marker.to_ascii_uppercase());
        }
    }

    #[test]
    fn a_value_that_looks_like_a_credential_fails_whatever_the_name() {
        let key = "AKIAIOSFODNN7EXAMPLE";
        assert_eq!(
            literal_credential("GREETING", key, 4.5),
            Some(LiteralCredential::ByValue(CredentialKind::AwsAccessKeyId))
        );
        assert_eq!(
            literal_credential("DB_PASSWORD", "hunter2", 4.5),
            Some(LiteralCredential::ByName)
        );
        assert_eq!(literal_credential("LOG_LEVEL", "info", 4.5), None);
        assert_eq!(literal_credential("DB_PASSWORD", "true", 4.5), None);
        let problem = LiteralCredential::ByValue(CredentialKind::Jwt).problem("api", "AUTH");
        assert_eq!(
            problem,
            "container api sets AUTH to a literal value that looks like a JWT"
        );
        assert!(!problem.contains(key));
    }

    #[test]
    fn booleans_and_blanks_are_not_credential_values() {
        assert!(is_possible_credential("hunter2"));
        for value in ["", "  ", "true", "FALSE"] {
            assert!(!is_possible_credential(value), "{value:?}");
        }
    }
}
