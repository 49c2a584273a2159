//! HIPAA-K8S-SECRETS-IN-ENV: no literal credential in a container's environment. Messages name
//! the variable, never its value.

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
    let mut problems = Vec::new();
    for container in containers(spec) {
        for var in container.env {
            let literal = var.value.as_deref().is_some_and(is_possible_credential);
            if literal && names_credential(&var.name) {
                problems.push(format!(
                    "container {} sets {} to a literal value",
                    container.name, var.name
                ));
            }
        }
    }
    verdict_from(check.subject, problems)
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
    fn booleans_and_blanks_are_not_credential_values() {
        assert!(is_possible_credential("hunter2"));
        for value in ["", "  ", "true", "FALSE"] {
            assert!(!is_possible_credential(value), "{value:?}");
        }
    }
}
