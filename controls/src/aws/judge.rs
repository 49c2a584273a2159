//! Turns the verdicts of the AWS checks on one resource into an evaluation: skips controls the
//! policy disables, applies the policy's enforcement and exceptions, and records what was checked.

use chrono::{DateTime, Utc};

use crate::catalog;
use crate::engine::Evaluation;
use crate::model::{ExceptionRef, Finding, Outcome, ResourceRef};
use crate::policy::{EffectivePolicy, Parameters};
use crate::tally::ResourceEvaluation;

use super::LookupError;

/// What one check concluded about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Fails, with a message naming the resource and what is wrong.
    Fail(String),
    /// Cannot be evaluated, with the reason.
    Error(String),
}

/// Collects the findings of one AWS resource.
pub(crate) struct Judge<'a> {
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
    resource: ResourceRef,
    /// Other names exceptions may use for the resource (its ARN, a key's aliases).
    other_names: Vec<String>,
    evaluation: Evaluation,
}

impl<'a> Judge<'a> {
    pub(crate) fn new(
        policy: &'a EffectivePolicy,
        now: DateTime<Utc>,
        resource: ResourceRef,
    ) -> Self {
        Judge {
            policy,
            now,
            resource,
            other_names: Vec::new(),
            evaluation: Evaluation::default(),
        }
    }

    /// Lets exceptions name the resource by these too.
    pub(crate) fn also_named(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.other_names
            .extend(names.into_iter().filter(|name| !name.is_empty()));
        self
    }

    /// Checks control `id` when the policy applies it; `check` gets the control's parameters.
    pub(crate) fn judge(&mut self, id: &str, check: impl FnOnce(&Parameters) -> Verdict) {
        let Some(control) = catalog::control(id) else {
            return;
        };
        let Some(setting) = self.policy.setting(control.id) else {
            return;
        };
        let verdict = check(&setting.parameters);
        let enforcement = setting.enforcement;
        self.evaluation.checked.push(control);
        let (outcome, message, exception) = match verdict {
            Verdict::Pass => return,
            Verdict::Error(message) => (Outcome::Error, message, None),
            Verdict::Fail(message) => match self.waiver(control.id) {
                Some(exception) => (Outcome::Excepted, message, Some(exception)),
                None => (Outcome::Fail, message, None),
            },
        };
        self.evaluation.findings.push(Finding {
            control,
            outcome,
            resource: self.resource.clone(),
            message,
            enforcement,
            exception,
        });
    }

    /// Every control in `ids` that the policy applies reports Error: the resource's lookup failed.
    pub(crate) fn lookup_failed(&mut self, ids: &[&str], what: &str, error: &LookupError) {
        for id in ids {
            self.judge(id, |_| {
                Verdict::Error(format!("cannot evaluate {what}: {error}"))
            });
        }
    }

    /// The active exception of the policy that waives control `id` on this resource, under its
    /// own name or any other name it goes by.
    fn waiver(&self, id: &str) -> Option<ExceptionRef> {
        let kind = self.resource.kind.as_str();
        std::iter::once(&self.resource.name)
            .chain(&self.other_names)
            .find_map(|name| self.policy.exception_for(id, kind, None, name, self.now))
            .map(|scoped| ExceptionRef {
                policy: scoped.policy.clone(),
                index: scoped.index,
            })
    }

    pub(crate) fn into_resource(self, observed_at: Option<DateTime<Utc>>) -> ResourceEvaluation {
        ResourceEvaluation {
            resource: self.resource,
            evaluation: self.evaluation,
            observed_at,
        }
    }
}
