//! `-o sarif`: SARIF 2.1.0 for code-scanning UIs. Rules are the catalog's controls (with their
//! remediation as help and `security-severity` for ranking); results point at the file and line
//! of each object; excepted findings carry an accepted suppression with the justification.
//!
//! Each result states its outcome: a failure is `kind: "fail"` at the level of its severity
//! (also an excepted one, which SARIF marks with the suppression); a check that could not be
//! evaluated is `kind: "open"` (the tool could not tell pass from fail), which SARIF 2.1.0
//! (3.27.10) requires to have `level: "none"`. `properties.result` says `Fail`, `Error` or
//! `Excepted` in every case. The scan's notes (what it assumed or skipped) are the run's
//! `toolExecutionNotifications`.

use std::io::{self, Write};

use hipaa_controls::catalog;
use hipaa_controls::model::{Control, Outcome, Severity};
use serde_json::{Value, json};

use crate::scan::model::{LocatedFinding, ScanReport};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/hipaa-guard/hipaa-guard";
const HELP_URI: &str = "https://github.com/hipaa-guard/hipaa-guard/blob/main/docs/controls.md";
/// The base that relative file paths resolve against (the repository root, in CI).
const SRCROOT: &str = "%SRCROOT%";

/// Writes the SARIF log (pretty-printed, newline-terminated).
pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<Value> = catalog::catalog().iter().map(rule).collect();
    let results: Vec<Value> = report.findings.iter().map(result).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "kubectl-hipaa",
                    "fullName": "HIPAA Guard kubectl plugin",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications(report),
            }],
            "results": results,
            "properties": { "summary": report.summary },
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// SARIF level by severity: critical and high are errors, medium warnings, low notes.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// The 0-10 score code-scanning UIs rank by (9+ critical, 7+ high, 4+ medium, else low).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn rule(control: &'static Control) -> Value {
    let sections = control.sections.join(", ");
    let help_text = format!(
        "{remediation}. 45 CFR {sections}. Details: kubectl hipaa controls {id}",
        remediation = control.remediation,
        id = control.id,
    );
    let help_markdown = format!(
        "**Fix:** {remediation}.\n\n**Passes when:** {description}\n\n**45 CFR:** {sections}\n\nRun `kubectl hipaa controls {id}` for parameters.",
        remediation = control.remediation,
        description = control.description,
        id = control.id,
    );
    let mut tags = vec!["security".to_string(), "hipaa".to_string()];
    tags.extend(control.sections.iter().map(|s| format!("45-CFR-{s}")));
    json!({
        "id": control.id,
        "name": rule_name(control.id),
        "shortDescription": { "text": control.title },
        "fullDescription": { "text": control.description },
        "help": { "text": help_text, "markdown": help_markdown },
        "helpUri": HELP_URI,
        "defaultConfiguration": { "level": level(control.severity) },
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": security_severity(control.severity),
            "severity": control.severity.as_str(),
            "sections": control.sections,
        },
    })
}

/// `HIPAA-K8S-NETPOL` -> `HipaaK8sNetpol` (SARIF rule names are identifier-like).
fn rule_name(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The scan's notes (skipped kinds, assumptions, what could not be known), each once.
fn notifications(report: &ScanReport) -> Vec<Value> {
    let summary = &report.summary;
    let skipped = summary.skipped.sentence();
    skipped
        .iter()
        .chain(&summary.notes)
        .map(|note| json!({ "level": "note", "message": { "text": note } }))
        .collect()
}

/// SARIF `kind` and `level` of a finding: see the module documentation.
fn kind_and_level(outcome: Outcome, severity: Severity) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Fail | Outcome::Excepted => ("fail", level(severity)),
        Outcome::Error => ("open", "none"),
    }
}

fn result(located: &LocatedFinding) -> Value {
    let finding = &located.finding;
    let control = finding.control;
    let resource = &finding.resource;
    let rule_index = catalog::index_of(control.id).unwrap_or(0);
    let (kind, level) = kind_and_level(finding.outcome, control.severity);
    let mut result = json!({
        "ruleId": control.id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": { "text": finding.denial_line() },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact_location(&located.file),
                "region": { "startLine": located.line.max(1) },
            },
            "logicalLocations": [{
                "name": resource.name,
                "fullyQualifiedName": resource.to_string(),
                "kind": "object",
            }],
        }],
        "partialFingerprints": {
            "hipaaGuardResource/v1": fingerprint(&[control.id, &resource.kind, resource.namespace.as_deref().unwrap_or(""), &resource.name]),
        },
        "properties": {
            "result": finding.outcome.as_str(),
            "outcome": finding.outcome.as_str(),
            "severity": control.severity.as_str(),
            "sections": control.sections,
            "enforcement": finding.enforcement.as_str(),
        },
    });
    // SARIF's `fixes` need text regions (artifactChanges), which a scan does not keep: the fix
    // goes in the property bag, as `kubectl hipaa fix -o patch` prints it.
    if let (Some(fix), Some(properties)) = (
        &located.fix,
        result.get_mut("properties").and_then(Value::as_object_mut),
    ) {
        properties.insert("fix".into(), json!(fix));
    }
    if finding.outcome == Outcome::Excepted {
        let justification = located.exception.as_ref().map_or_else(
            || "waived by an active HipaaPolicy exception".to_string(),
            |e| {
                format!(
                    "{} (approved by {}, expires {}; HipaaPolicy {} exception {})",
                    e.justification, e.approved_by, e.expires, e.policy, e.index
                )
            },
        );
        if let Some(map) = result.as_object_mut() {
            map.insert(
                "suppressions".into(),
                json!([{ "kind": "external", "status": "accepted", "justification": justification }]),
            );
        }
    }
    result
}

/// A relative path resolves against `%SRCROOT%`; an absolute one becomes a `file://` URI.
fn artifact_location(file: &str) -> Value {
    if file.starts_with('/') {
        json!({ "uri": format!("file://{}", encode_uri_path(file)) })
    } else {
        json!({ "uri": encode_uri_path(file), "uriBaseId": SRCROOT })
    }
}

/// Percent-encodes what may not appear in a URI path (RFC 3986 `pchar` plus `/`).
fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// FNV-1a 64 over the parts, separated by a byte that cannot occur in them: a stable identity
/// of "this control on this object" across runs, whatever line the object moves to.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hash ^= 0x1f;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for byte in part.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn uris_are_encoded_and_absolute_paths_are_file_uris() {
        assert_eq!(encode_uri_path("k8s/my app.yaml"), "k8s/my%20app.yaml");
        assert_eq!(encode_uri_path("<stdin>"), "%3Cstdin%3E");
        assert_eq!(
            artifact_location("/tmp/a b.yaml")["uri"],
            "file:///tmp/a%20b.yaml"
        );
        assert_eq!(artifact_location("a.yaml")["uriBaseId"], SRCROOT);
    }

    #[test]
    fn rule_names_and_levels() {
        assert_eq!(rule_name("HIPAA-K8S-NETPOL"), "HipaaK8sNetpol");
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
    }

    #[test]
    fn failures_are_fail_at_their_severity_and_errors_are_open_without_a_level() {
        assert_eq!(
            kind_and_level(Outcome::Fail, Severity::High),
            ("fail", "error")
        );
        assert_eq!(
            kind_and_level(Outcome::Excepted, Severity::Medium),
            ("fail", "warning")
        );
        assert_eq!(
            kind_and_level(Outcome::Error, Severity::Critical),
            ("open", "none")
        );
    }

    #[test]
    fn fingerprints_separate_parts() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&["a"]), fingerprint(&["a"]));
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
    }
}
