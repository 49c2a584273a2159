//! Judges each object with the engine under its effective policy as soon as it is read, keeps
//! only what the outputs need (the engine's evaluation: the findings and the controls checked,
//! with the object's reference, file and line; never the object), and sums up with the engine's
//! tally (the same counts and score as a HipaaPolicy status). A namespace the inputs do not
//! hold is covered by the scan's assumption before the first object in it is judged.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::fix::{FixOptions, propose};
use hipaa_controls::tally::{ResourceEvaluation, tally_with_limit};
use hipaa_controls::{ClusterContext, Mode, Outcome, Severity, evaluate};

use super::assumption::{AssumedNamespaces, NamespaceAssumer};
use super::manifests::{JudgedObject, Manifests};
use super::model::{
    CheckedObject, ControlSummary, ExceptedSummary, ExceptionInfo, FixJson, LocatedFinding,
    ScanReport, ScanSummary,
};
use super::policies::PolicyScope;

/// The judgements so far: one evaluation and location per judged object, in input order.
pub struct Judge<'a> {
    ctx: &'a mut ClusterContext,
    scope: &'a mut PolicyScope,
    assumer: NamespaceAssumer,
    now: DateTime<Utc>,
    evaluations: Vec<ResourceEvaluation>,
    locations: Vec<(Arc<str>, usize)>,
    /// Per judged object, the fix of each of its findings (empty unless `with_fixes`).
    fixes: Vec<Vec<Option<FixJson>>>,
    with_fixes: bool,
    out_of_scope: usize,
}

impl<'a> Judge<'a> {
    pub fn new(
        ctx: &'a mut ClusterContext,
        scope: &'a mut PolicyScope,
        assumer: NamespaceAssumer,
        now: DateTime<Utc>,
    ) -> Self {
        Judge {
            ctx,
            scope,
            assumer,
            now,
            evaluations: Vec::new(),
            locations: Vec::new(),
            fixes: Vec::new(),
            with_fixes: false,
            out_of_scope: 0,
        }
    }

    /// Computes each failure's automatic fix while its object is at hand (the objects are not
    /// kept), for the formats that print fixes.
    pub fn with_fixes(mut self, with_fixes: bool) -> Self {
        self.with_fixes = with_fixes;
        self
    }

    /// Judges one object (consumed: it is dropped here, once judged).
    pub fn judge(&mut self, judged: JudgedObject) {
        let selection = self
            .assumer
            .select(&judged.object, self.scope.has_policies(), self.ctx);
        let Some(policy) = self.scope.policy_for(&judged.object, self.ctx, selection) else {
            self.out_of_scope += 1;
            return;
        };
        // Offline scans judge everything the operator's audit would (Mode::Audit), so that a
        // scan and `kubectl hipaa status` agree on the same objects.
        let mut evaluation = evaluate(&judged.object, self.ctx, &policy, Mode::Audit, self.now);
        // Kept until the end: without the slack of their growth.
        evaluation.findings.shrink_to_fit();
        evaluation.checked.shrink_to_fit();
        let fixes = if self.with_fixes {
            let options = FixOptions::default();
            evaluation
                .findings
                .iter()
                .map(|f| {
                    propose(&judged.object, f, self.ctx, &policy, &options)
                        .and_then(|fix| FixJson::new(&fix))
                })
                .collect()
        } else {
            Vec::new()
        };
        self.fixes.push(fixes);
        let resource = judged.object.resource_ref();
        self.evaluations
            .push(ResourceEvaluation::new(resource, evaluation));
        self.locations.push((judged.file, judged.line));
    }

    /// Tallies the evaluations and turns them into the report (moving, not copying, their
    /// findings and checked controls).
    pub fn finish(self, manifests: Manifests, fail_on: Severity) -> ScanReport {
        let tally = tally_with_limit(self.scope.overall(), &self.evaluations, self.now, 0);
        // Sized up front: growing it would hold two copies of every finding at once.
        let total: usize = self
            .evaluations
            .iter()
            .map(|e| e.evaluation.findings.len())
            .sum();
        let mut findings = Vec::with_capacity(total);
        let mut objects = Vec::with_capacity(self.evaluations.len());
        let scope = &*self.scope;
        for (object_index, ((evaluated, (file, line)), fixes)) in self
            .evaluations
            .into_iter()
            .zip(self.locations)
            .zip(self.fixes)
            .enumerate()
        {
            let mut fixes = fixes.into_iter();
            let ResourceEvaluation {
                resource,
                evaluation,
                ..
            } = evaluated;
            for finding in evaluation.findings {
                let fix = fixes.next().flatten();
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
                    finding,
                    file: file.clone(),
                    line,
                    object_index,
                    exception,
                    fix,
                });
            }
            objects.push(CheckedObject {
                resource,
                file,
                line,
                controls: evaluation.checked,
            });
        }

        let failed = findings.iter().any(|f| f.fails_at(fail_on));
        let assumptions = self.assumer.summary(scope.has_policies());
        let s = &tally.summary;
        let summary = ScanSummary {
            objects_read: manifests.objects_read,
            resources_evaluated: s.resources_evaluated,
            out_of_scope: self.out_of_scope,
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
            notes: notes(
                manifests.policies_among_inputs,
                assumptions.as_ref(),
                &findings,
            ),
            assumptions: assumptions.into_iter().collect(),
        };
        ScanReport {
            findings,
            objects,
            summary,
        }
    }
}

/// What the reader should know about how the scan was judged.
fn notes(
    policies_among_inputs: usize,
    assumed: Option<&AssumedNamespaces>,
    findings: &[LocatedFinding],
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(assumed) = assumed {
        notes.push(assumed.sentence());
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
