//! HIPAA-K8S-SECRETS-IN-ENV: no literal credential in a container's environment. Messages name
//! the variable, never its value.

use crate::engine::{Check, Verdict};
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

/// Whether an environment variable name marks a credential.
pub fn names_credential(name: &str) -> bool {
    CREDENTIAL_MARKERS
        .iter()
        .any(|m| contains_ignore_case(name, m))
        && !REFERENCE_SUFFIXES
            .iter()
            .any(|s| ends_with_ignore_case(name, s))
}

/// Empty values and booleans (`ENABLE_TOKEN_AUTH=true`) are not credentials.
fn is_possible_credential(value: &str) -> bool {
    let value = value.trim();
    !value.is_empty() && !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false")
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text
            .as_bytes()
            .get(text.len() - suffix.len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix.as_bytes()))
}
