//! The tally in parts: what one group of evaluations (one namespace, the AWS resources) adds to
//! a policy's tally, built once per group and merged. A caller that keeps the parts across
//! audits recomputes only the groups that changed; merging costs the number of parts and
//! controls plus the bounded violation list, not the number of resources.
//!
//! A part holds handles to its evaluations (`&ResourceEvaluation` for a one-off tally,
//! `Arc<ResourceEvaluation>` for parts kept across audits) and positions of findings in them,
//! never copies of findings: only the violations that reach the status are cloned, at the end.
//!
//! Parts must not share resources: distinct resources are counted per part and summed.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::catalog;
use crate::model::{Finding, Outcome, ResourceRef, Severity};
use crate::policy::EffectivePolicy;

use super::{AWS_KINDS, ResourceEvaluation, status};

/// One finding of one evaluation: the evaluation's handle and the finding's position.
#[derive(Clone, Debug)]
pub(super) struct FindingAt<E> {
    evaluation: E,
    index: usize,
}

impl<E: Borrow<ResourceEvaluation>> FindingAt<E> {
    pub(super) fn finding(&self) -> Option<&Finding> {
        self.evaluation.borrow().evaluation.findings.get(self.index)
    }
}

/// One control's counts in one part.
#[derive(Clone, Debug)]
pub(super) struct ControlPart<E> {
    /// Distinct resources the control touched (checked or reported on).
    pub(super) checked: usize,
    pub(super) failed: usize,
    pub(super) excepted: usize,
    pub(super) errors: usize,
    /// The error named in the control's message: the least by resource, then message, so that
    /// the message does not depend on the order evaluations arrive in.
    pub(super) first_error: Option<FindingAt<E>>,
}

impl<E> Default for ControlPart<E> {
    fn default() -> Self {
        ControlPart {
            checked: 0,
            failed: 0,
            excepted: 0,
            errors: 0,
            first_error: None,
        }
    }
}

/// What one group of evaluations adds to a policy's tally (see the module documentation).
#[derive(Clone, Debug)]
pub struct TallyPart<E> {
    /// One entry per catalog control, in catalog order.
    pub(super) controls: Vec<ControlPart<E>>,
    pub(super) resources_evaluated: usize,
    /// Violations by severity: low, medium, high, critical.
    pub(super) by_severity: [usize; 4],
    pub(super) violation_total: usize,
    pub(super) excepted: usize,
    pub(super) errors: usize,
    /// Violations, most severe first, at most the limit the part was built with.
    pub(super) violations: Vec<FindingAt<E>>,
    /// Failures waived, per exception of the policy (in `EffectivePolicy::exceptions` order).
    pub(super) exception_matches: Vec<usize>,
    /// The evaluations of AWS resources (their per-resource results are built at the merge).
    pub(super) aws: Vec<E>,
}

/// Controls touched by one resource, by catalog position (the catalog has fewer than 128).
#[derive(Clone, Copy, Default)]
struct Touched {
    controls: u128,
    evaluated: bool,
}

impl<E: Borrow<ResourceEvaluation> + Clone> TallyPart<E> {
    /// The part of `evaluations` under `policy`, keeping at most `max_violations` violations
    /// (the merge keeps at most as many as its parts kept).
    pub fn new(
        policy: &EffectivePolicy,
        evaluations: impl IntoIterator<Item = E>,
        max_violations: usize,
    ) -> Self {
        let evaluations: Vec<E> = evaluations.into_iter().collect();
        let mut part = TallyPart {
            controls: catalog::catalog()
                .iter()
                .map(|_| ControlPart::default())
                .collect(),
            resources_evaluated: 0,
            by_severity: [0; 4],
            violation_total: 0,
            excepted: 0,
            errors: 0,
            violations: Vec::new(),
            exception_matches: vec![0; policy.exceptions.len()],
            aws: Vec::new(),
        };
        part.count_resources(&evaluations);
        for handle in &evaluations {
            let evaluation = handle.borrow();
            if AWS_KINDS.contains(&evaluation.resource.kind.as_str()) {
                part.aws.push(handle.clone());
            }
            for (index, finding) in evaluation.evaluation.findings.iter().enumerate() {
                let at = FindingAt {
                    evaluation: handle.clone(),
                    index,
                };
                part.count_finding(policy, finding, at, max_violations);
            }
        }
        part.violations
            .sort_by(|a, b| compare_findings(a.finding(), b.finding(), violation_order));
        part.violations.truncate(max_violations);
        part
    }

    /// Distinct resources evaluated, and per control the distinct resources it touched (a
    /// resource evaluated twice counts once, with what either evaluation touched).
    fn count_resources(&mut self, evaluations: &[E]) {
        let mut resources: HashMap<&ResourceRef, Touched> =
            HashMap::with_capacity(evaluations.len());
        for handle in evaluations {
            let evaluation = handle.borrow();
            let touched = resources.entry(&evaluation.resource).or_default();
            let controls = evaluation
                .evaluation
                .checked
                .iter()
                .copied()
                .chain(evaluation.evaluation.findings.iter().map(|f| f.control));
            for control in controls {
                touched.evaluated = true;
                if let Some(position) = catalog::position_of(control).filter(|p| *p < 128) {
                    touched.controls |= 1 << position;
                }
            }
        }
        for touched in resources.values() {
            self.resources_evaluated += usize::from(touched.evaluated);
            let mut bits = touched.controls;
            while bits != 0 {
                let position = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(control) = self.controls.get_mut(position) {
                    control.checked += 1;
                }
            }
        }
    }

    fn count_finding(
        &mut self,
        policy: &EffectivePolicy,
        finding: &Finding,
        at: FindingAt<E>,
        max_violations: usize,
    ) {
        let control = catalog::position_of(finding.control).and_then(|p| self.controls.get_mut(p));
        match finding.outcome {
            Outcome::Fail => {
                self.violation_total += 1;
                if let Some(slot) = self.by_severity.get_mut(severity_slot(finding)) {
                    *slot += 1;
                }
                if let Some(control) = control {
                    control.failed += 1;
                }
                if max_violations > 0 {
                    self.violations.push(at);
                }
            }
            Outcome::Excepted => {
                self.excepted += 1;
                if let Some(control) = control {
                    control.excepted += 1;
                }
                if let Some(exception) = &finding.exception {
                    let waived_by = policy.exceptions.iter().map(|scoped| {
                        scoped.policy == exception.policy && scoped.index == exception.index
                    });
                    for (matches, waived) in self.exception_matches.iter_mut().zip(waived_by) {
                        *matches += usize::from(waived);
                    }
                }
            }
            Outcome::Error => {
                self.errors += 1;
                if let Some(control) = control {
                    control.errors += 1;
                    let earlier = control.first_error.as_ref().is_some_and(|first| {
                        compare_findings(first.finding(), Some(finding), error_order)
                            != Ordering::Greater
                    });
                    if !earlier {
                        control.first_error = Some(at);
                    }
                }
            }
        }
    }
}

fn severity_slot(finding: &Finding) -> usize {
    match finding.control.severity {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

/// Orders two findings that may be missing (a handle that lost its finding sorts last).
pub(super) fn compare_findings(
    a: Option<&Finding>,
    b: Option<&Finding>,
    order: fn(&Finding, &Finding) -> Ordering,
) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => order(a, b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Most severe first, then catalog order, then the resource.
pub(super) fn violation_order(a: &Finding, b: &Finding) -> Ordering {
    b.control
        .severity
        .cmp(&a.control.severity)
        .then_with(|| catalog::position_of(a.control).cmp(&catalog::position_of(b.control)))
        .then_with(|| a.resource.cmp(&b.resource))
        .then_with(|| a.message.cmp(&b.message))
}

/// The error a control's message names first: by resource, then message.
pub(super) fn error_order(a: &Finding, b: &Finding) -> Ordering {
    a.resource
        .cmp(&b.resource)
        .then_with(|| a.message.cmp(&b.message))
}

/// The head of one part's violation list, in a max-heap that pops the most severe first.
struct Head<'p> {
    finding: &'p Finding,
    part: usize,
    position: usize,
}

impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head<'_> {}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap pops its greatest, which must be the first in violation order;
        // ties go to the earlier part, as a stable sort of the concatenation would.
        violation_order(other.finding, self.finding).then_with(|| other.part.cmp(&self.part))
    }
}

/// The first `limit` violations of every part together, in violation order: a k-way merge of
/// the parts' sorted lists, so its cost follows `limit`, not the number of violations.
pub(super) fn merge_violations<E: Borrow<ResourceEvaluation>>(
    parts: &[&TallyPart<E>],
    limit: usize,
) -> Vec<Finding> {
    let head = |part: usize, position: usize| {
        let finding = parts.get(part)?.violations.get(position)?.finding()?;
        Some(Head {
            finding,
            part,
            position,
        })
    };
    let mut heap: BinaryHeap<Head<'_>> = (0..parts.len()).filter_map(|p| head(p, 0)).collect();
    let mut merged = Vec::with_capacity(limit.min(heap.len().saturating_mul(limit)));
    while merged.len() < limit {
        let Some(next) = heap.pop() else { break };
        merged.push(next.finding.clone());
        if let Some(following) = head(next.part, next.position + 1) {
            heap.push(following);
        }
    }
    merged
}

/// The per-resource results of every part's AWS evaluations, failing first.
pub(super) fn merge_aws<E: Borrow<ResourceEvaluation>>(
    parts: &[&TallyPart<E>],
) -> Vec<super::AwsResourceTally> {
    let evaluations: Vec<&ResourceEvaluation> = parts
        .iter()
        .flat_map(|part| part.aws.iter().map(Borrow::borrow))
        .collect();
    status::aws_resource_tallies(&evaluations)
}
