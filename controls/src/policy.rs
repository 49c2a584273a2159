//! The effective policy for a namespace: which controls apply, with which enforcement and
//! parameters, and which exceptions are in force, merged from every HipaaPolicy that selects it.
//!
//! Merging several policies (sorted by name, so the result does not depend on list order):
//! - a control applies if any policy applies it (does not disable it);
//! - its enforcement is the strictest among the policies that apply it (Enforce > Warn > Audit);
//! - parameters take the strictest value: `requireEgress` if any requires it, the largest
//!   `minReplicas` and `minVersion`, the smallest `maxAgeDays`, the lowest `failOn`; for
//!   `allowedRegistries` and `allowedPrincipals`, whose intersection is not computable for
//!   globs, the first policy by name that sets the parameter wins; for `allowedSubjects`, a
//!   subject is allowed only when every policy that sets the parameter allows it (the default
//!   list applies when none does); `allowConfigMap` and `allowSseS3` only when every policy
//!   allows it (an unset value is the default false); the lowest `valueEntropyThreshold`; the
//!   largest `minRetentionDays`; `requireForAll` if any requires it;
//! - the exceptions of every selecting policy apply (each names its policy and index).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use hipaa_crds::{Enforcement, HipaaPolicy, PolicyException};
use k8s_openapi::api::core::v1::Namespace;

use crate::catalog;
pub use crate::validate::{PolicyError, parse_minor_version};
use crate::validate::{expiry_of, validate_policy};

pub use crate::selector::selector_matches;

mod parameters;

pub use parameters::Parameters;
use parameters::{ListsSet, lists_set_by};

/// How one control applies.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlSetting {
    pub enforcement: Enforcement,
    pub parameters: Parameters,
}

/// An exception with the policy it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopedException {
    pub policy: String,
    pub index: usize,
    pub exception: PolicyException,
}

impl ScopedException {
    /// When the exception stops applying.
    pub fn expires(&self) -> Option<DateTime<Utc>> {
        expiry_of(&self.exception)
    }

    /// In force at `now` (an expiry that cannot be represented counts as expired).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires().is_some_and(|expires| now < expires)
    }

    /// Whether this exception, at `now`, waives `control_id` for the object `kind namespace/name`.
    /// Each non-empty match list must match; namespaces and names accept `*` globs. For a
    /// Namespace object, its own name is its namespace.
    pub fn waives(
        &self,
        control_id: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        now: DateTime<Utc>,
    ) -> bool {
        let m = &self.exception.match_;
        let namespace = namespace.or((kind == "Namespace").then_some(name));
        self.exception.controls.iter().any(|c| c == control_id)
            && self.is_active(now)
            && (m.kinds.is_empty() || m.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)))
            && (m.namespaces.is_empty()
                || namespace.is_some_and(|ns| m.namespaces.iter().any(|p| glob_matches(p, ns))))
            && (m.names.is_empty() || m.names.iter().any(|p| glob_matches(p, name)))
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What applies in one namespace (or for one policy).
#[derive(Clone, Debug, PartialEq)]
pub struct EffectivePolicy {
    /// The names of the policies merged into this one.
    pub policies: Vec<String>,
    /// Controls that apply, by ID; a control absent here is disabled.
    pub controls: HashMap<&'static str, ControlSetting>,
    pub exceptions: Vec<ScopedException>,
}

impl EffectivePolicy {
    /// Every catalog control that is not opt-in, enforced, with default parameters, and no
    /// exceptions.
    pub fn defaults() -> Self {
        EffectivePolicy {
            policies: Vec::new(),
            controls: catalog::catalog()
                .iter()
                .filter(|c| !c.opt_in)
                .map(|c| {
                    (
                        c.id,
                        ControlSetting {
                            enforcement: Enforcement::Enforce,
                            parameters: Parameters::for_control(c.id),
                        },
                    )
                })
                .collect(),
            exceptions: Vec::new(),
        }
    }

    /// One policy on its own; invalid policies are refused with every reason.
    pub fn from_policy(policy: &HipaaPolicy) -> Result<Self, Vec<PolicyError>> {
        validate_policy(&policy.spec)?;
        Ok(Self::lenient(policy))
    }

    /// One policy on its own, applied as leniently as when merging (see [`Self::lenient`]): what a
    /// policy that stops selecting a namespace would have applied there.
    pub fn of_policy(policy: &HipaaPolicy) -> Self {
        Self::lenient(policy)
    }

    /// One policy, applying what can be applied: unknown control IDs are ignored and parameter
    /// values that do not parse keep their defaults. Used when merging, so that a policy with one
    /// bad override still protects its namespaces with everything else.
    fn lenient(policy: &HipaaPolicy) -> Self {
        let spec = &policy.spec;
        let name = policy.metadata.name.clone().unwrap_or_default();
        let overrides: HashMap<&str, _> =
            spec.controls.iter().map(|o| (o.id.as_str(), o)).collect();
        let controls = catalog::catalog()
            .iter()
            .filter_map(|control| {
                let o = overrides.get(control.id);
                // An opt-in control applies only where the policy lists it.
                if o.is_none_or(|o| o.disabled) && (o.is_some() || control.opt_in) {
                    return None;
                }
                let setting = ControlSetting {
                    enforcement: o.and_then(|o| o.enforcement).unwrap_or(spec.enforcement),
                    parameters: Parameters::with_overrides(
                        control.id,
                        o.and_then(|o| o.parameters.as_ref()),
                    ),
                };
                Some((control.id, setting))
            })
            .collect();
        let exceptions = spec
            .exceptions
            .iter()
            .enumerate()
            .map(|(index, exception)| ScopedException {
                policy: name.clone(),
                index,
                exception: exception.clone(),
            })
            .collect();
        EffectivePolicy {
            policies: vec![name],
            controls,
            exceptions,
        }
    }

    /// Every policy selecting `namespace`, merged (see the module documentation); None when no
    /// policy selects it, i.e. the namespace is out of HIPAA scope.
    pub fn for_namespace<'a>(
        policies: impl IntoIterator<Item = &'a HipaaPolicy>,
        namespace: &Namespace,
    ) -> Option<Self> {
        let mut selecting: Vec<&HipaaPolicy> = policies
            .into_iter()
            .filter(|p| Self::selects(p, namespace))
            .collect();
        selecting.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut merged: Option<EffectivePolicy> = None;
        for policy in selecting {
            let one = Self::lenient(policy);
            let sets_lists = lists_set_by(policy);
            merged = Some(match merged {
                None => one,
                Some(acc) => acc.merge(one, &sets_lists),
            });
        }
        merged
    }

    fn merge(
        mut self,
        other: EffectivePolicy,
        other_sets_lists: &BTreeMap<&str, ListsSet>,
    ) -> Self {
        for (id, theirs) in other.controls {
            match self.controls.get_mut(id) {
                Some(ours) => {
                    ours.enforcement = ours.enforcement.strictest(theirs.enforcement);
                    let sets = other_sets_lists.get(id).copied().unwrap_or_default();
                    ours.parameters.merge_strictest(&theirs.parameters, sets);
                }
                None => {
                    self.controls.insert(id, theirs);
                }
            }
        }
        self.policies.extend(other.policies);
        self.exceptions.extend(other.exceptions);
        self
    }

    /// Whether `policy`'s namespaceSelector selects `namespace`. An empty selector selects
    /// nothing (the CRD refuses it; an empty selector would otherwise govern every namespace).
    pub fn selects(policy: &HipaaPolicy, namespace: &Namespace) -> bool {
        let selector = &policy.spec.namespace_selector;
        let empty = selector
            .match_labels
            .as_ref()
            .is_none_or(BTreeMap::is_empty)
            && selector
                .match_expressions
                .as_ref()
                .is_none_or(Vec::is_empty);
        !empty && selector_matches(selector, namespace.metadata.labels.as_ref())
    }

    /// How a control applies, or None when it does not.
    pub fn setting(&self, id: &str) -> Option<&ControlSetting> {
        self.controls.get(id)
    }

    /// The first exception that waives `control_id` for the object at `now`.
    pub fn exception_for(
        &self,
        control_id: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        now: DateTime<Utc>,
    ) -> Option<&ScopedException> {
        self.exceptions
            .iter()
            .find(|e| e.waives(control_id, kind, namespace, name, now))
    }
}
