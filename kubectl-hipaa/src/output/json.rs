//! `-o json`: `{"findings":[{control, result, severity, sections, kind, namespace, name,
//! message, remediation, file, line}], "summary":{...}}`. `findings` lists what did not pass:
//! failures (`result: "Fail"`) and checks that could not be evaluated (`result: "Error"`);
//! excepted findings are in `summary.exceptions`. One [`JsonFinding`] per finding, so that a
//! field is added in one place; they are written as they are made, never all held at once (a
//! scan of 100,000 objects has hundreds of thousands).

use std::io::{self, Write};

use serde::{Serialize, Serializer};

use crate::scan::model::{FixJson, LocatedFinding, ScanReport, ScanSummary};

#[derive(Serialize)]
struct JsonReport<'a> {
    findings: Findings<'a>,
    summary: &'a ScanSummary,
}

/// The report's failures and errors, serialized one [`JsonFinding`] at a time.
struct Findings<'a>(&'a ScanReport);

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.blocking_or_error().map(JsonFinding::new))
    }
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    control: &'a str,
    /// `Fail` (a violation) or `Error` (the check could not be evaluated).
    result: &'a str,
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
    fix: Option<&'a FixJson>,
}

impl<'a> JsonFinding<'a> {
    fn new(located: &'a LocatedFinding) -> Self {
        let finding = &located.finding;
        JsonFinding {
            control: finding.control.id,
            result: finding.outcome.as_str(),
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
        findings: Findings(report),
        summary: &report.summary,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
