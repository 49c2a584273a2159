//! `-o json`: `{"findings":[{control, severity, sections, kind, namespace, name, message,
//! remediation, file, line}], "summary":{...}}`. `findings` lists what did not pass (failures
//! and checks that could not be evaluated); excepted findings are in `summary.exceptions`.

use std::io::{self, Write};

use serde::Serialize;

use crate::scan::model::{LocatedFinding, ScanReport, ScanSummary};

#[derive(Serialize)]
struct JsonReport<'a> {
    findings: Vec<JsonFinding<'a>>,
    summary: &'a ScanSummary,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    control: &'a str,
    severity: &'a str,
    sections: &'a [&'a str],
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    message: &'a str,
    remediation: &'a str,
    file: &'a str,
    line: usize,
    /// The automatic fix (`kubectl hipaa fix`): description and RFC 6902 patch; null without one.
    fix: Option<&'a hipaa_controls::fix::Fix>,
}

impl<'a> JsonFinding<'a> {
    fn new(located: &'a LocatedFinding) -> Self {
        let finding = &located.finding;
        JsonFinding {
            control: finding.control.id,
            severity: finding.control.severity.as_str(),
            sections: finding.control.sections,
            kind: &finding.resource.kind,
            namespace: finding.resource.namespace.as_deref(),
            name: &finding.resource.name,
            message: &finding.message,
            remediation: finding.control.remediation,
            file: &located.file,
            line: located.line,
            fix: located.fix.as_ref(),
        }
    }
}

/// Writes the JSON document (pretty-printed, newline-terminated).
pub fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let document = JsonReport {
        findings: report.blocking_or_error().map(JsonFinding::new).collect(),
        summary: &report.summary,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
