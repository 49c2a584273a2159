//! The default human output of a scan (`-o text`): a one-line verdict with the counts first,
//! then one block per object with findings (its file:line and reference once), each failing or
//! unevaluable control with its severity, 45 CFR sections, the problem (the message without the
//! object's name) and the fix, excepted findings dimmed on one line; then what was read and the
//! notes. Wrapped to `width`; coloured by severity when `style` says so.
//!
//! The findings are already in object order (then catalog order), so an object's block is a
//! run of consecutive findings: grouping keeps nothing beyond the report.

use std::io::{self, Write};

use hipaa_controls::fix::FIXABLE_CONTROLS;
use hipaa_controls::model::{Outcome, Severity};

use super::style::Style;
use super::wrap::wrap;
use crate::scan::model::{LocatedFinding, ScanReport, ScanSummary};

/// Where a finding's problem and fix start: after the badge column (`CRITICAL` and two blanks).
const TEXT_INDENT: &str = "            ";
/// Where the badge starts.
const BADGE_INDENT: &str = "  ";
/// The widest badge, `CRITICAL` (`EXCEPTED`, `ERROR` and the severities fit).
const BADGE_WIDTH: usize = 8;

/// Writes the grouped text.
pub fn write(
    report: &ScanReport,
    style: Style,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    for line in wrap(&verdict(report), "", "  ", width) {
        let painted = if report.summary.failed {
            style.severity(Severity::Critical, &line)
        } else {
            style.pass(&line)
        };
        writeln!(out, "{painted}")?;
    }
    writeln!(out)?;
    if report.findings.is_empty() {
        writeln!(out, "{}", style.pass("No findings."))?;
        writeln!(out)?;
    }
    for findings in report
        .findings
        .chunk_by(|a, b| a.object_index == b.object_index)
    {
        write_object(findings, style, width, out)?;
        writeln!(out)?;
    }
    write_context(report, width, out)
}

/// The first line: the verdict, what fails and the counts.
fn verdict(report: &ScanReport) -> String {
    let s = &report.summary;
    let (failing, objects) = failing_checks_and_objects(report);
    let counts = counts(s);
    if s.failed {
        let (checks, fail) = if failing == 1 {
            ("check", "fails")
        } else {
            ("checks", "fail")
        };
        let of = if objects == 1 { "object" } else { "objects" };
        format!(
            "FAILED: {failing} {checks} at or above {} {fail} in {objects} {of} of {} judged: {counts}; score {}/100.",
            s.fail_on, s.resources_evaluated, s.score
        )
    } else {
        format!(
            "PASSED: nothing at or above {} fails in {} objects judged: {counts}; score {}/100.",
            s.fail_on, s.resources_evaluated, s.score
        )
    }
}

/// How many findings fail the scan, and in how many objects (the findings are in object
/// order): counted, not collected, as the report may hold hundreds of thousands.
fn failing_checks_and_objects(report: &ScanReport) -> (usize, usize) {
    let fail_on = report.summary.fail_on;
    let mut last_object = None;
    let (mut checks, mut objects) = (0, 0);
    for finding in report.findings.iter().filter(|f| f.fails_at(fail_on)) {
        checks += 1;
        if last_object != Some(finding.object_index) {
            objects += 1;
            last_object = Some(finding.object_index);
        }
    }
    (checks, objects)
}

/// `6 violations (1 critical, 3 high, 2 medium), 2 could not be evaluated, 1 excepted`: what
/// is not zero, but for the violations.
fn counts(s: &ScanSummary) -> String {
    let severities: Vec<String> = [
        (s.critical, "critical"),
        (s.high, "high"),
        (s.medium, "medium"),
        (s.low, "low"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, name)| format!("{n} {name}"))
    .collect();
    let mut text = match s.violations {
        1 => "1 violation".to_string(),
        n => format!("{n} violations"),
    };
    if !severities.is_empty() {
        text.push_str(&format!(" ({})", severities.join(", ")));
    }
    if s.errors > 0 {
        text.push_str(&format!(", {} could not be evaluated", s.errors));
    }
    if s.excepted > 0 {
        text.push_str(&format!(", {} excepted", s.excepted));
    }
    text
}

/// One object's block: its location and reference, its failures and errors by severity (the
/// worst first, catalog order within), then its excepted findings.
fn write_object(
    findings: &[LocatedFinding],
    style: Style,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(first) = findings.first() else {
        return Ok(());
    };
    let location = format!("{}:{}", first.file, first.line);
    let reference = first.finding.resource.to_string();
    if location.chars().count() + 2 + reference.chars().count() <= width {
        writeln!(out, "{}", style.bold(&format!("{location}  {reference}")))?;
    } else {
        writeln!(out, "{}", style.bold(&location))?;
        writeln!(out, "{}", style.bold(&format!("{BADGE_INDENT}{reference}")))?;
    }
    let mut open: Vec<&LocatedFinding> = findings
        .iter()
        .filter(|f| f.finding.outcome != Outcome::Excepted)
        .collect();
    open.sort_by_key(|f| std::cmp::Reverse(f.finding.control.severity));
    for finding in open {
        write_open(finding, style, width, out)?;
    }
    for finding in findings
        .iter()
        .filter(|f| f.finding.outcome == Outcome::Excepted)
    {
        write_excepted(finding, style, width, out)?;
    }
    Ok(())
}

/// A failure (badge: its severity) or a check that could not be evaluated (badge: ERROR, the
/// severity beside the control): the control and sections, the problem, the fix.
fn write_open(
    located: &LocatedFinding,
    style: Style,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let finding = &located.finding;
    let control = finding.control;
    let (badge, painted_badge, severity) = match finding.outcome {
        Outcome::Error => (
            "ERROR",
            style.error("ERROR"),
            format!("({})", control.severity),
        ),
        _ => (
            control.severity.as_str(),
            style.severity(control.severity, control.severity.as_str()),
            String::new(),
        ),
    };
    let pad = " ".repeat(BADGE_WIDTH.saturating_sub(badge.len()) + 2);
    let mut head = format!(
        "{BADGE_INDENT}{painted_badge}{pad}{}",
        style.bold(control.id)
    );
    let mut head_width = BADGE_INDENT.len() + BADGE_WIDTH + 2 + control.id.chars().count();
    let mut tail = format!("45 CFR {}", control.sections.join(", "));
    // An error's severity follows the control on its line when it fits, else starts the next.
    if !severity.is_empty() {
        if head_width + 1 + severity.len() <= width {
            head.push(' ');
            head.push_str(&severity);
            head_width += 1 + severity.len();
        } else {
            tail = format!("{severity} {tail}");
        }
    }
    if head_width + 2 + tail.chars().count() <= width {
        writeln!(out, "{head}  {}", style.dim(&tail))?;
    } else {
        writeln!(out, "{head}")?;
        for line in wrap(&tail, TEXT_INDENT, TEXT_INDENT, width) {
            writeln!(out, "{}", style.dim(&line))?;
        }
    }
    for line in wrap(&located.problem(), TEXT_INDENT, TEXT_INDENT, width) {
        writeln!(out, "{line}")?;
    }
    let fix = format!("Fix: {}.", control.remediation.trim_end_matches('.'));
    for line in wrap(&fix, TEXT_INDENT, TEXT_INDENT, width) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// An excepted finding, dimmed and brief: the control and the exception that waives it.
fn write_excepted(
    located: &LocatedFinding,
    style: Style,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let control = located.finding.control;
    let why = match &located.exception {
        Some(e) => format!(
            "waived by HipaaPolicy {} exception {} until {}: {}",
            e.policy, e.index, e.expires, e.justification
        ),
        None => "waived by an active exception".to_string(),
    };
    let text = format!("{} ({}) {why}", control.id, control.severity);
    let first = format!("{BADGE_INDENT}{:<BADGE_WIDTH$}  ", "excepted");
    for line in wrap(&text, &first, TEXT_INDENT, width) {
        writeln!(out, "{}", style.dim(&line))?;
    }
    Ok(())
}

/// What was read and judged against what, the notes, and where to read more.
fn write_context(report: &ScanReport, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let policy = if s.policies.is_empty() {
        "the catalog defaults".to_string()
    } else {
        format!("policy {}", s.policies.join(", "))
    };
    let read = format!(
        "{} objects read, {} judged against {policy}; {} out of scope.",
        s.objects_read, s.resources_evaluated, s.out_of_scope
    );
    for line in wrap(&read, "", "", width) {
        writeln!(out, "{line}")?;
    }
    let skipped = s.skipped.sentence().map(|sentence| format!("{sentence}."));
    for note in skipped.iter().chain(&s.notes) {
        for line in wrap(note, "Note: ", "      ", width) {
            writeln!(out, "{line}")?;
        }
    }
    if !report.findings.is_empty() {
        for line in wrap(
            "Details of a control: kubectl hipaa controls <CONTROL>",
            "",
            "  ",
            width,
        ) {
            writeln!(out, "{line}")?;
        }
    }
    // The text output computes no fix (docs/fix.md); when a failed control is one that has
    // automatic fixes, it points at the command that computes them.
    let fixable = report.findings.iter().any(|f| {
        f.finding.outcome == Outcome::Fail && FIXABLE_CONTROLS.contains(&f.finding.control.id)
    });
    if fixable {
        for line in wrap(
            "Automatic fixes: kubectl hipaa fix -f <FILES> shows them as a diff, --write applies them",
            "",
            "  ",
            width,
        ) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
