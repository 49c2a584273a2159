//! Judges every object with the engine under its effective policy, keeps each finding's file and
//! line, and sums up with the engine's tally (the same counts and score as a HipaaPolicy status).

use chrono::{DateTime, Utc};
use hipaa_controls::tally::{ResourceEvaluation, tally_with_limit};
use hipaa_controls::{ClusterContext, Mode, Outcome, Severity, evaluate};

use super::manifests::Manifests;
use super::model::{
    CheckedObject, ControlSummary, ExceptedSummary, ExceptionInfo, LocatedFinding, ScanReport,
    ScanSummary,
};
use super::policies::PolicyScope;

/// Judges `manifests` (consumed: each object is dropped once judged).
pub fn judge(
    manifests: Manifests,
    ctx: &ClusterContext,
    scope: &mut PolicyScope,
    fail_on: Severity,
    now: DateTime<Utc>,
) -> ScanReport {
    let mut findings = Vec::new();
    let mut objects = Vec::with_capacity(manifests.objects.len());
    let mut evaluations = Vec::with_capacity(manifests.objects.len());
    let mut out_of_scope = 0;
    for judged in manifests.objects {
        let Some(policy) = scope.policy_for(&judged.object, ctx) else {
            out_of_scope += 1;
            continue;
        };
        // Offline scans judge everything the operator's audit would (Mode::Audit), so that a
        // scan and `kubectl hipaa status` agree on the same objects.
        let evaluation = evaluate(&judged.object, ctx, &policy, Mode::Audit, now);
        let object_index = objects.len();
        for finding in &evaluation.findings {
            let exception = finding.exception.as_ref().and_then(|e| {
                scope
                    .exception(&e.policy, e.index)
                    .map(|written| ExceptionInfo {
                        policy: e.policy.clone(),
                        index: e.index,
                        justification: written.justification.clone(),
                        approved_by: written.approved_by.clone(),
                        expires: written.expires.0.to_string(),
                    })
            });
            findings.push(LocatedFinding {
                finding: finding.clone(),
                file: judged.file.clone(),
                line: judged.line,
                object_index,
                exception,
            });
        }
        let resource = judged.object.resource_ref();
        objects.push(CheckedObject {
            resource: resource.clone(),
            file: judged.file,
            line: judged.line,
            controls: evaluation.checked.clone(),
        });
        evaluations.push(ResourceEvaluation::new(resource, evaluation));
    }
    let tally = tally_with_limit(scope.overall(), &evaluations, now, 0);
    drop(evaluations);

    let failed = findings.iter().any(|f| f.fails_at(fail_on));
    let s = &tally.summary;
    let summary = ScanSummary {
        objects_read: manifests.objects_read,
        resources_evaluated: s.resources_evaluated,
        out_of_scope,
        violations: s.violations,
        critical: s.critical,
        high: s.high,
        medium: s.medium,
        low: s.low,
        excepted: s.excepted,
        errors: s.errors,
        score: s.score,
        controls: tally
            .controls
            .iter()
            .map(|c| ControlSummary {
                id: c.control.id.to_string(),
                severity: c.control.severity,
                sections: c.control.sections.iter().map(|s| s.to_string()).collect(),
                result: c.result.as_str().to_string(),
                violations: c.violations,
                message: c.message.clone(),
            })
            .collect(),
        skipped: manifests.skipped,
        exceptions: findings
            .iter()
            .filter(|f| f.finding.outcome == Outcome::Excepted)
            .map(ExceptedSummary::from_finding)
            .collect(),
        fail_on,
        failed,
        policies: scope.policy_names(),
        notes: notes(manifests.policies_among_inputs, scope, &findings),
    };
    ScanReport {
        findings,
        objects,
        summary,
    }
}

/// What the reader should know about how the scan was judged.
fn notes(
    policies_among_inputs: usize,
    scope: &PolicyScope,
    findings: &[LocatedFinding],
) -> Vec<String> {
    let mut notes = Vec::new();
    if !scope.assumed_namespaces.is_empty() {
        let names: Vec<&str> = scope
            .assumed_namespaces
            .iter()
            .map(String::as_str)
            .collect();
        notes.push(format!(
            "namespaces {} are not among the inputs: their objects were judged as if every policy selected them (add their Namespace manifests or use --cluster)",
            names.join(", ")
        ));
    }
    let errors = findings
        .iter()
        .filter(|f| f.finding.outcome == Outcome::Error)
        .count();
    if errors > 0 {
        let checks = if errors == 1 { "check" } else { "checks" };
        notes.push(format!(
            "{errors} {checks} could not be evaluated for lack of context (their messages say what is missing): add the Namespaces, StorageClasses or Velero Schedules they need to the inputs, or use --cluster"
        ));
    }
    if policies_among_inputs > 0 {
        notes.push(format!(
            "{policies_among_inputs} HipaaPolicy object(s) among the inputs were not used as policy: pass policies with --policy"
        ));
    }
    notes
}
