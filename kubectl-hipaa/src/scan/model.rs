//! What a scan produced, independent of how it is printed: the engine's findings with the file
//! and line of their object, every object judged (for JUnit's passing test cases), the summary
//! and the notes that explain what was skipped or assumed.

use std::collections::BTreeMap;
use std::sync::Arc;

use hipaa_controls::fix::Fix;
use hipaa_controls::model::{Control, Finding, Outcome, ResourceRef, Severity};
use serde::Serialize;

/// A finding and where its object is written.
#[derive(Clone, Debug)]
pub struct LocatedFinding {
    pub finding: Finding,
    pub file: Arc<str>,
    pub line: usize,
    /// The index of its object in [`ScanReport::objects`].
    pub object_index: usize,
    /// For an excepted finding: the exception that waived it.
    pub exception: Option<ExceptionInfo>,
    /// The automatic fix of a failure (computed while the object is at hand, for the formats
    /// that print it: JSON, SARIF, JUnit); None without one.
    pub fix: Option<Fix>,
}

impl LocatedFinding {
    /// Whether this finding makes the scan fail at `fail_on`: a failure or a check that could
    /// not be evaluated (never a pass), of a control at least that severe. Excepted findings
    /// never fail the scan.
    pub fn fails_at(&self, fail_on: Severity) -> bool {
        matches!(self.finding.outcome, Outcome::Fail | Outcome::Error)
            && self.finding.control.severity >= fail_on
    }
}

/// The exception that waived a finding, as written in its HipaaPolicy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionInfo {
    pub policy: String,
    pub index: usize,
    pub justification: String,
    pub approved_by: String,
    /// RFC 3339.
    pub expires: String,
}

/// One object the engine judged and the controls it checked on it (passing or not).
#[derive(Clone, Debug)]
pub struct CheckedObject {
    pub resource: ResourceRef,
    pub file: Arc<str>,
    pub line: usize,
    pub controls: Vec<&'static Control>,
}

/// The result of one scan.
#[derive(Clone, Debug)]
pub struct ScanReport {
    /// Every non-passing finding (Fail, Error, Excepted), in input order, then catalog order.
    pub findings: Vec<LocatedFinding>,
    /// Every object judged, in input order.
    pub objects: Vec<CheckedObject>,
    pub summary: ScanSummary,
}

impl ScanReport {
    /// Whether the scan exits 1.
    pub fn failed(&self) -> bool {
        self.summary.failed
    }

    /// The findings that fail the scan or count as errors: what `findings` lists in JSON.
    pub fn blocking_or_error(&self) -> impl Iterator<Item = &LocatedFinding> {
        self.findings
            .iter()
            .filter(|f| f.finding.outcome != Outcome::Excepted)
    }

    /// The excepted findings.
    pub fn excepted(&self) -> impl Iterator<Item = &LocatedFinding> {
        self.findings
            .iter()
            .filter(|f| f.finding.outcome == Outcome::Excepted)
    }
}

/// Counts, the score and what was not judged, as `summary` in JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanSummary {
    /// Objects read from the inputs (List items count one each).
    pub objects_read: usize,
    /// Objects the engine judged.
    pub resources_evaluated: u32,
    /// Objects in namespaces that no given policy selects.
    pub out_of_scope: usize,
    pub violations: u32,
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub excepted: u32,
    /// Checks that could not be evaluated.
    pub errors: u32,
    /// 0 to 100, as in the HipaaPolicy status.
    pub score: u8,
    /// The per-control results.
    pub controls: Vec<ControlSummary>,
    /// Objects of kinds HIPAA Guard does not judge.
    pub skipped: SkippedSummary,
    /// The excepted findings, with the exception that waived each.
    pub exceptions: Vec<ExceptedSummary>,
    /// `--fail-on`.
    pub fail_on: Severity,
    /// Whether a failure or error at or above `failOn` makes the scan exit 1.
    pub failed: bool,
    /// The policies judged against (empty: the catalog defaults).
    pub policies: Vec<String>,
    /// What was assumed, skipped or could not be known.
    pub notes: Vec<String>,
}

/// One control's result over the scan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlSummary {
    pub id: String,
    pub severity: Severity,
    pub sections: Vec<String>,
    /// Pass, Fail, Excepted, Error, NotEvaluated or Disabled.
    pub result: String,
    pub violations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Objects not judged, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SkippedSummary {
    pub objects: usize,
    /// `apiVersion/kind` (or `kind` for the core group) to count.
    pub kinds: BTreeMap<String, usize>,
}

impl SkippedSummary {
    pub fn add(&mut self, kind: String) {
        self.objects += 1;
        *self.kinds.entry(kind).or_default() += 1;
    }

    /// `skipped 3 objects of kinds ConfigMap (2), ServiceAccount`; None when nothing was skipped.
    pub fn sentence(&self) -> Option<String> {
        if self.objects == 0 {
            return None;
        }
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, n)| {
                if *n == 1 {
                    kind.clone()
                } else {
                    format!("{kind} ({n})")
                }
            })
            .collect();
        let noun = if self.objects == 1 {
            "object"
        } else {
            "objects"
        };
        let label = if self.kinds.len() == 1 {
            "kind"
        } else {
            "kinds"
        };
        Some(format!(
            "skipped {} {noun} of {label} HIPAA Guard does not judge: {}",
            self.objects,
            kinds.join(", ")
        ))
    }
}

/// An excepted finding in the JSON summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptedSummary {
    pub control: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub exception: Option<ExceptionInfo>,
}

impl ExceptedSummary {
    pub fn from_finding(located: &LocatedFinding) -> Self {
        let resource = &located.finding.resource;
        ExceptedSummary {
            control: located.finding.control.id.to_string(),
            kind: resource.kind.clone(),
            namespace: resource.namespace.clone(),
            name: resource.name.clone(),
            message: located.finding.message.clone(),
            file: located.file.to_string(),
            line: located.line,
            exception: located.exception.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn skipped_sentence_counts_kinds() {
        let mut skipped = SkippedSummary::default();
        assert_eq!(skipped.sentence(), None);
        skipped.add("ConfigMap".into());
        assert_eq!(
            skipped.sentence().unwrap(),
            "skipped 1 object of kind HIPAA Guard does not judge: ConfigMap"
        );
        skipped.add("ConfigMap".into());
        skipped.add("example.com/v1 Widget".into());
        assert_eq!(
            skipped.sentence().unwrap(),
            "skipped 3 objects of kinds HIPAA Guard does not judge: ConfigMap (2), example.com/v1 Widget"
        );
    }
}
