//! `-o junit`: JUnit XML for CI test reports. One testsuite per control (catalog order), one
//! testcase per object the control checked: a `<failure>` when it fails, an `<error>` when it
//! could not be evaluated, `<skipped>` when an exception waives it, nothing when it passes.
//! The scan's notes (what it assumed or skipped) are the properties of a first testsuite named
//! `kubectl hipaa scan`, which holds no testcase.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use hipaa_controls::catalog;
use hipaa_controls::model::Outcome;

use crate::scan::model::{FixJson, LocatedFinding, ScanReport};

/// One testcase: an object a control checked, and the finding if it did not pass.
struct Case<'a> {
    name: String,
    file: &'a str,
    line: usize,
    finding: Option<&'a LocatedFinding>,
}

/// Writes the XML document.
pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    // An object has at most one finding per control.
    let findings: HashMap<(&str, usize), &LocatedFinding> = report
        .findings
        .iter()
        .map(|f| ((f.finding.control.id, f.object_index), f))
        .collect();
    let mut suites = String::new();
    write_notes(&mut suites, report);
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for control in catalog::catalog() {
        let cases: Vec<Case<'_>> = report
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.controls.iter().any(|c| c.id == control.id))
            .map(|(index, o)| Case {
                name: o.resource.to_string(),
                file: &o.file,
                line: o.line,
                finding: findings.get(&(control.id, index)).copied(),
            })
            .collect();
        if cases.is_empty() {
            continue;
        }
        let count = |outcome: Outcome| {
            cases
                .iter()
                .filter(|c| c.finding.is_some_and(|f| f.finding.outcome == outcome))
                .count()
        };
        let (suite_failures, suite_errors, suite_skipped) = (
            count(Outcome::Fail),
            count(Outcome::Error),
            count(Outcome::Excepted),
        );
        tests += cases.len();
        failures += suite_failures;
        errors += suite_errors;
        skipped += suite_skipped;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{suite_failures}\" errors=\"{suite_errors}\" skipped=\"{suite_skipped}\">",
            escape(control.id),
            cases.len()
        );
        let _ = writeln!(suites, "    <properties>");
        let _ = writeln!(
            suites,
            "      <property name=\"title\" value=\"{}\"/>",
            escape(control.title)
        );
        let _ = writeln!(
            suites,
            "      <property name=\"severity\" value=\"{}\"/>",
            control.severity
        );
        let _ = writeln!(
            suites,
            "      <property name=\"sections\" value=\"{}\"/>",
            escape(&control.sections.join(", "))
        );
        let _ = writeln!(suites, "    </properties>");
        for case in &cases {
            write_case(&mut suites, control.id, case);
        }
        let _ = writeln!(suites, "  </testsuite>");
    }
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"kubectl hipaa scan\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">"
    )?;
    out.write_all(suites.as_bytes())?;
    writeln!(out, "</testsuites>")
}

/// The notes suite; nothing when the scan has no note.
fn write_notes(out: &mut String, report: &ScanReport) {
    let summary = &report.summary;
    let skipped = summary.skipped.sentence();
    let notes: Vec<&String> = skipped.iter().chain(&summary.notes).collect();
    if notes.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  <testsuite name=\"kubectl hipaa scan\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\">"
    );
    let _ = writeln!(out, "    <properties>");
    for note in notes {
        let _ = writeln!(
            out,
            "      <property name=\"note\" value=\"{}\"/>",
            escape(note)
        );
    }
    let _ = writeln!(out, "    </properties>");
    let _ = writeln!(out, "  </testsuite>");
}

fn write_case(out: &mut String, control_id: &str, case: &Case<'_>) {
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
        escape(&case.name),
        escape(control_id),
        escape(case.file),
        case.line
    );
    let Some(located) = case.finding else {
        let _ = writeln!(out, "{open}/>");
        return;
    };
    let finding = &located.finding;
    let location = format!("{}:{}", case.file, case.line);
    let _ = writeln!(out, "{open}>");
    match finding.outcome {
        Outcome::Fail | Outcome::Error => {
            let element = if finding.outcome == Outcome::Fail {
                "failure"
            } else {
                "error"
            };
            let mut body = format!(
                "{}\n{location}\nFix: {}",
                finding.denial_line(),
                finding.control.remediation
            );
            if let Some((description, patch)) = located
                .fix
                .as_ref()
                .and_then(FixJson::description_and_patch)
            {
                body.push_str(&format!(
                    "\nAutomatic fix (kubectl hipaa fix -f {}): {description}; JSON patch: {patch}",
                    case.file,
                ));
            }
            let _ = writeln!(
                out,
                "      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
                escape(&finding.message),
                finding.control.severity,
                escape_text(&body)
            );
        }
        Outcome::Excepted => {
            let reason = located.exception.as_ref().map_or_else(
                || format!("excepted: {}", finding.message),
                |e| {
                    format!(
                        "excepted by HipaaPolicy {} exception {}: {}",
                        e.policy, e.index, e.justification
                    )
                },
            );
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(&reason));
        }
    }
    let _ = writeln!(out, "    </testcase>");
}

/// Escapes text for an XML attribute; drops characters XML 1.0 cannot carry.
pub fn escape(text: &str) -> String {
    escape_with(text, true)
}

/// Escapes element content, keeping line breaks.
fn escape_text(text: &str) -> String {
    escape_with(text, false)
}

fn escape_with(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\n' if !attribute => out.push('\n'),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push_str(&format!("&#{};", u32::from(ch))),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_invalid_characters() {
        assert_eq!(
            escape("a<b>&\"c'\n\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;"
        );
        assert_eq!(escape_text("a\nb<"), "a\nb&lt;");
    }
}
