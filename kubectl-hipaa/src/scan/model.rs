//! What a scan produced, independent of how it is printed: the engine's findings with the file
//! and line of their object, every object judged (for JUnit's passing test cases), the summary
//! and the notes that explain what was skipped or assumed.

use std::borrow::Cow;
use std::sync::Arc;

use hipaa_controls::model::{Control, Finding, Outcome, ResourceRef, Severity};
use serde::Serialize;

pub use super::assumption::AssumedNamespaces;
pub use super::fix_json::FixJson;
pub use super::skipped::{SkippedDocument, SkippedSummary};

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
    pub fix: Option<FixJson>,
}

impl LocatedFinding {
    /// Whether this finding makes the scan fail at `fail_on`: a failure or a check that could
    /// not be evaluated (never a pass), of a control at least that severe. Excepted findings
    /// never fail the scan.
    pub fn fails_at(&self, fail_on: Severity) -> bool {
        matches!(self.finding.outcome, Outcome::Fail | Outcome::Error)
            && self.finding.control.severity >= fail_on
    }

    /// The finding's message for a reader who already sees its object: see [`problem_text`].
    pub fn problem(&self) -> Cow<'_, str> {
        problem_text(&self.finding.message, &self.finding.resource)
    }
}

/// `message` without the object it names, for output that names the object once above its
/// findings. The engine's messages name their object with the object reference's display
/// (`Deployment billing/api`) in one of three places: first (`Deployment billing/api: runs 1
/// replica(s)`), after "cannot evaluate" (`cannot evaluate Deployment billing/api: ...`), or
/// inside the text (`no NetworkPolicy selects pods of Deployment billing/api`), which becomes
/// "this Deployment". A message that names another object is kept as it is.
pub fn problem_text<'m>(message: &'m str, resource: &ResourceRef) -> Cow<'m, str> {
    let subject = resource.to_string();
    if let Some(rest) = message
        .strip_prefix(subject.as_str())
        .and_then(|rest| rest.strip_prefix(": "))
    {
        return Cow::Borrowed(rest);
    }
    if let Some(rest) = message
        .strip_prefix("cannot evaluate ")
        .and_then(|rest| rest.strip_prefix(subject.as_str()))
        .and_then(|rest| rest.strip_prefix(": "))
    {
        return Cow::Owned(format!("cannot evaluate: {rest}"));
    }
    match replace_reference(message, &subject, &format!("this {}", resource.kind)) {
        Some(replaced) => Cow::Owned(replaced),
        None => Cow::Borrowed(message),
    }
}

/// `message` with every whole occurrence of `subject` replaced by `with` (not the start of a
/// longer name: `Deployment billing/api` inside `Deployment billing/api-v2`); None when there
/// is none.
fn replace_reference(message: &str, subject: &str, with: &str) -> Option<String> {
    let mut out = String::with_capacity(message.len());
    let (mut copied, mut found) = (0, false);
    for (at, _) in message.match_indices(subject) {
        let end = at + subject.len();
        let next = message.get(end..).and_then(|rest| rest.chars().next());
        if next.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
            continue;
        }
        out.push_str(message.get(copied..at)?);
        out.push_str(with);
        (copied, found) = (end, true);
    }
    if !found {
        return None;
    }
    out.push_str(message.get(copied..)?);
    Some(out)
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
    /// What the scan assumed of what the inputs do not hold (the namespaces they lack), as
    /// data; `notes` says the same in a sentence.
    pub assumptions: Vec<AssumedNamespaces>,
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
    fn problems_do_not_repeat_the_object_they_are_shown_under() {
        let api = ResourceRef::new("Deployment", Some("billing"), "api");
        let problem = |message| problem_text(message, &api).into_owned();
        assert_eq!(
            problem("Deployment billing/api: runs 1 replica(s), fewer than 2"),
            "runs 1 replica(s), fewer than 2"
        );
        assert_eq!(
            problem("cannot evaluate Deployment billing/api: its PVCs are not known"),
            "cannot evaluate: its PVCs are not known"
        );
        assert_eq!(
            problem("no NetworkPolicy selects pods of Deployment billing/api"),
            "no NetworkPolicy selects pods of this Deployment"
        );
        // Another object's name is not the object's, even when it starts the same.
        assert_eq!(
            problem("Deployment billing/api-v2: runs 1 replica(s)"),
            "Deployment billing/api-v2: runs 1 replica(s)"
        );
        assert_eq!(
            problem(
                "NetworkPolicy billing/open allows all ingress to pods of Deployment billing/api-v2 and Deployment billing/api"
            ),
            "NetworkPolicy billing/open allows all ingress to pods of Deployment billing/api-v2 and this Deployment"
        );
        let namespace = ResourceRef::new("Namespace", None, "billing");
        assert_eq!(
            problem_text(
                "Namespace billing: no Velero Schedule includes it",
                &namespace
            ),
            "no Velero Schedule includes it"
        );
    }
}
