//! The human table of a scan: one row per finding (result, severity, control, object,
//! file:line, message), then the summary and the notes. Colour only when asked (a terminal).

use std::io::{self, Write};

use hipaa_controls::model::{Outcome, Severity};

use super::style::Style;
use crate::scan::model::ScanReport;

/// Writes the table.
pub fn write(report: &ScanReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<[String; 6]> = report
        .findings
        .iter()
        .map(|f| {
            [
                f.finding.outcome.as_str().to_uppercase(),
                f.finding.control.severity.as_str().to_string(),
                f.finding.control.id.to_string(),
                f.finding.resource.to_string(),
                format!("{}:{}", f.file, f.line),
                f.finding.message.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "{}", style.pass("No findings."))?;
    } else {
        let headers = [
            "RESULT", "SEVERITY", "CONTROL", "OBJECT", "LOCATION", "MESSAGE",
        ];
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row.iter()) {
                *width = (*width).max(cell.chars().count());
            }
        }
        write_row(out, &headers.map(str::to_string), &widths, |_, text| {
            style.bold(text)
        })?;
        for (row, finding) in rows.iter().zip(&report.findings) {
            let outcome = finding.finding.outcome;
            let severity = finding.finding.control.severity;
            write_row(out, row, &widths, |column, text| match (column, outcome) {
                (0, Outcome::Excepted) | (1, Outcome::Excepted) => style.dim(text),
                (0, Outcome::Error) => style.error(text),
                (0, Outcome::Fail) => style.severity(severity, text),
                (1, _) => style.severity(severity, text),
                _ => text.to_string(),
            })?;
        }
    }
    writeln!(out)?;
    write_summary(report, style, out)
}

fn write_row(
    out: &mut dyn Write,
    cells: &[String; 6],
    widths: &[usize; 6],
    paint: impl Fn(usize, &str) -> String,
) -> io::Result<()> {
    let mut line = String::new();
    for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let last = column + 1 == cells.len();
        line.push_str(&paint(column, cell));
        if !last {
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

fn write_summary(report: &ScanReport, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let policy = if s.policies.is_empty() {
        "the catalog defaults".to_string()
    } else {
        format!("policy {}", s.policies.join(", "))
    };
    writeln!(
        out,
        "{} objects read, {} judged against {policy}; {} out of scope.",
        s.objects_read, s.resources_evaluated, s.out_of_scope
    )?;
    writeln!(
        out,
        "{} violations ({} critical, {} high, {} medium, {} low), {} excepted, {} could not be evaluated; score {}/100.",
        s.violations, s.critical, s.high, s.medium, s.low, s.excepted, s.errors, s.score
    )?;
    if let Some(sentence) = s.skipped.sentence() {
        writeln!(out, "Note: {sentence}.")?;
    }
    for note in &s.notes {
        writeln!(out, "Note: {note}")?;
    }
    let failing = report
        .findings
        .iter()
        .filter(|f| f.fails_at(s.fail_on))
        .count();
    let verdict = if s.failed {
        style.severity(
            Severity::Critical,
            &format!(
                "FAILED: {failing} {} at or above {} {} (--fail-on {}).",
                if failing == 1 { "check" } else { "checks" },
                s.fail_on,
                if failing == 1 { "fails" } else { "fail" },
                s.fail_on
            ),
        )
    } else {
        style.pass(&format!(
            "PASSED: nothing at or above {} fails (--fail-on {}).",
            s.fail_on, s.fail_on
        ))
    };
    writeln!(out, "{verdict}")?;
    if !report.findings.is_empty() {
        writeln!(
            out,
            "How to fix a control: kubectl hipaa controls <CONTROL>"
        )?;
    }
    Ok(())
}
