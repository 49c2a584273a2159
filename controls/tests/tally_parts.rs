//! The tally in parts equals the tally of everything at once: random evaluations (fixed seeds)
//! split into random groups, merged, compared with the whole and with a plain recount.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
mod tally_support;

use std::collections::BTreeSet;

use common::aws::now;
use hipaa_controls::catalog::{catalog, ids};
use hipaa_controls::engine::Evaluation;
use hipaa_controls::model::{ExceptionRef, Finding, Outcome, ResourceRef};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::{ResourceEvaluation, TallyPart, tally_parts, tally_with_limit};
use hipaa_crds::{ControlResult, Enforcement};
use tally_support::exception;

/// xorshift64*: a fixed sequence per seed, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn policy(random: &mut Random) -> EffectivePolicy {
    let mut policy = EffectivePolicy::defaults();
    for control in catalog() {
        if random.below(6) == 0 {
            policy.controls.remove(control.id);
        }
    }
    policy
        .exceptions
        .push(exception(0, chrono::Duration::days(30)));
    policy
        .exceptions
        .push(exception(1, chrono::Duration::days(3)));
    policy
}

fn resource(random: &mut Random, i: usize) -> ResourceRef {
    match random.below(5) {
        0 => ResourceRef::new("EKSCluster", None, format!("cluster-{i}")),
        1 => ResourceRef::new("Namespace", None, format!("ns-{}", random.below(4))),
        kind => ResourceRef::new(
            ["Deployment", "Service", "StatefulSet"][kind - 2],
            Some(format!("ns-{}", random.below(4)).as_str()),
            format!("app-{}", random.below(12)),
        ),
    }
}

fn evaluation(random: &mut Random, i: usize) -> ResourceEvaluation {
    let resource = resource(random, i);
    let mut checked = Vec::new();
    let mut findings = Vec::new();
    for control in catalog() {
        match random.below(8) {
            0 | 1 => checked.push(control),
            2 => {
                let outcome = [Outcome::Fail, Outcome::Excepted, Outcome::Error][random.below(3)];
                let exception = (outcome == Outcome::Excepted).then(|| ExceptionRef {
                    policy: "production-phi".into(),
                    index: random.below(3),
                });
                findings.push(Finding {
                    control,
                    outcome,
                    resource: resource.clone(),
                    message: format!("{} #{}", control.id, random.below(3)),
                    enforcement: Enforcement::Enforce,
                    exception,
                });
            }
            _ => {}
        }
    }
    ResourceEvaluation::new(resource, Evaluation { findings, checked })
}

/// The group an evaluation belongs to: its namespace, or its own name for cluster-scoped ones
/// (parts must not share resources).
fn group_of(evaluation: &ResourceEvaluation) -> String {
    let resource = &evaluation.resource;
    match (&resource.namespace, resource.kind.as_str()) {
        (Some(namespace), _) => namespace.clone(),
        (None, "Namespace") => resource.name.clone(),
        (None, _) => format!("cluster/{}", resource.name),
    }
}

#[test]
fn parts_merged_equal_the_whole_for_random_scopes() {
    for seed in 1..=200_u64 {
        let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let policy = policy(&mut random);
        let evaluations: Vec<ResourceEvaluation> = (0..random.below(60))
            .map(|i| evaluation(&mut random, i))
            .collect();
        let limit = [0, 1, 5, 100][random.below(4)];
        let whole = tally_with_limit(&policy, &evaluations, now(), limit);

        let groups: BTreeSet<String> = evaluations.iter().map(group_of).collect();
        let parts: Vec<TallyPart<&ResourceEvaluation>> = groups
            .iter()
            .map(|group| {
                let members = evaluations.iter().filter(|e| &group_of(e) == group);
                TallyPart::new(&policy, members, limit)
            })
            .collect();
        let merged = tally_parts(&policy, &parts, now(), limit);
        assert_eq!(merged, whole, "seed {seed}");
        assert_recounted(&policy, &evaluations, &whole, seed);
    }
}

/// The counts against a plain recount over the findings (resources counted once each).
fn assert_recounted(
    policy: &EffectivePolicy,
    evaluations: &[ResourceEvaluation],
    tally: &hipaa_controls::tally::Tally,
    seed: u64,
) {
    let findings: Vec<&Finding> = evaluations
        .iter()
        .flat_map(|e| &e.evaluation.findings)
        .collect();
    let fails = findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail)
        .count();
    assert_eq!(tally.summary.violations as usize, fails, "seed {seed}");
    assert_eq!(
        tally.truncated,
        fails > tally.violations.len(),
        "seed {seed}"
    );
    let evaluated: BTreeSet<&ResourceRef> = evaluations
        .iter()
        .filter(|e| !e.evaluation.checked.is_empty() || !e.evaluation.findings.is_empty())
        .map(|e| &e.resource)
        .collect();
    assert_eq!(tally.summary.resources_evaluated as usize, evaluated.len());
    for control in &tally.controls {
        if policy.setting(control.control.id).is_none() {
            assert_eq!(control.result, ControlResult::Disabled);
            continue;
        }
        let touched: BTreeSet<&ResourceRef> = evaluations
            .iter()
            .filter(|e| {
                e.evaluation
                    .checked
                    .iter()
                    .any(|c| c.id == control.control.id)
                    || e.evaluation
                        .findings
                        .iter()
                        .any(|f| f.control.id == control.control.id)
            })
            .map(|e| &e.resource)
            .collect();
        assert_eq!(
            control.resources_checked as usize,
            touched.len(),
            "seed {seed}"
        );
        let of = |outcome| {
            findings
                .iter()
                .filter(|f| f.control.id == control.control.id && f.outcome == outcome)
                .count()
        };
        assert_eq!(
            control.violations as usize,
            of(Outcome::Fail),
            "seed {seed}"
        );
        assert_eq!(control.errors as usize, of(Outcome::Error), "seed {seed}");
    }
    let mut sorted = tally.violations.clone();
    sorted.sort_by(|a, b| {
        b.control
            .severity
            .cmp(&a.control.severity)
            .then_with(|| {
                hipaa_controls::catalog::index_of(a.control.id)
                    .cmp(&hipaa_controls::catalog::index_of(b.control.id))
            })
            .then_with(|| a.resource.cmp(&b.resource))
            .then_with(|| a.message.cmp(&b.message))
    });
    assert_eq!(sorted, tally.violations, "most severe first, seed {seed}");
}

#[test]
fn an_empty_part_changes_nothing() {
    let policy = EffectivePolicy::defaults();
    let (a, b) = (
        tally_support::deployment("a"),
        tally_support::deployment("b"),
    );
    let evaluations = [
        tally_support::evaluated(&a, &[ids::K8S_NETPOL], vec![]),
        tally_support::evaluated(
            &b,
            &[ids::K8S_NETPOL],
            vec![tally_support::finding(ids::K8S_NETPOL, Outcome::Fail, &b)],
        ),
    ];
    let whole = TallyPart::new(&policy, &evaluations, 100);
    let empty = TallyPart::new(&policy, Vec::<&ResourceEvaluation>::new(), 100);
    assert_eq!(
        tally_parts(&policy, [&empty, &whole, &empty], now(), 100),
        tally_with_limit(&policy, &evaluations, now(), 100)
    );
}
