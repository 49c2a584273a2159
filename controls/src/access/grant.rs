//! What the model stores per binding ([`BoundRole`]: its subjects and its role's [`RuleGrant`]s)
//! and what it answers with ([`Grant`]: one subject's access through one binding → role → rule,
//! the path an access review shows).

use std::sync::Arc;

use k8s_openapi::api::rbac::v1 as rbac;
use serde::Serialize;

use super::probes::{Access, PROBES};
use super::rules::Names;
use super::subject::Subject;

/// A Role or ClusterRole a binding names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RoleKey {
    Role { namespace: String, name: String },
    ClusterRole { name: String },
}

/// An RBAC object, by kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: Option<&str>) -> ObjectRef {
        ObjectRef {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.unwrap_or_default().to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {}/{}", self.kind, namespace, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// The PHI access one rule of a role grants: which probes (bits of [`PROBES`]), on which names.
#[derive(Clone, Debug)]
pub struct RuleGrant {
    pub access: Access,
    pub probes: u64,
    pub names: Names,
    /// The rule's position in its role (in the aggregated-from ClusterRole's, when aggregated).
    pub rule: usize,
    pub aggregated_from: Option<String>,
}

/// One rule of a role: its position, and the ClusterRole it comes from when aggregated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    pub rule: usize,
    pub aggregated_from: Option<String>,
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.aggregated_from {
            Some(source) => write!(f, "rule {} of ClusterRole {source} (aggregated)", self.rule),
            None => write!(f, "rule {}", self.rule),
        }
    }
}

/// What a role grants beyond the PHI accesses: administration of everything, and writes.
#[derive(Clone, Debug, Default)]
pub struct RoleTraits {
    /// Set when the role is a superuser role: `cluster-admin`, or a rule with `*` verbs on `*`
    /// resources of `*` API groups (the rule; None for cluster-admin by name).
    pub superuser: Option<Option<RuleRef>>,
    /// A rule that lets it change the cluster (a write verb on any resource), if any.
    pub writes: Option<RuleRef>,
}

/// A role's resolved grants and traits, shared by every binding that names it.
#[derive(Clone, Debug)]
pub struct ResolvedRole {
    pub grants: Arc<[RuleGrant]>,
    pub traits: Arc<RoleTraits>,
}

/// Why part of the model is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub binding: ObjectRef,
    pub message: String,
}

/// A binding with its subjects and the grants of the role it names.
#[derive(Debug)]
pub struct BoundRole {
    pub binding: ObjectRef,
    pub role: ObjectRef,
    pub subjects: Vec<Subject>,
    resolved: Option<ResolvedRole>,
    pub problems: Vec<Problem>,
}

impl BoundRole {
    /// `resolved` is None when the role does not exist (or `known_kind` is false: a roleRef kind
    /// that is neither Role nor ClusterRole): the binding grants nothing today, but would as soon
    /// as the role appears, so it is a problem, not an absence of access.
    pub fn new(
        binding: ObjectRef,
        role_ref: &rbac::RoleRef,
        resolved: Option<ResolvedRole>,
        known_kind: bool,
        subjects: &[rbac::Subject],
        binding_namespace: Option<&str>,
    ) -> BoundRole {
        let role_namespace = (role_ref.kind == "Role")
            .then_some(binding_namespace)
            .flatten();
        let role = ObjectRef::new(&role_ref.kind, role_namespace, Some(&role_ref.name));
        let mut problems = Vec::new();
        if !known_kind {
            problems.push(Problem {
                binding: binding.clone(),
                message: format!(
                    "its roleRef kind {:?} is neither Role nor ClusterRole",
                    role_ref.kind
                ),
            });
        } else if resolved.is_none() {
            problems.push(Problem {
                binding: binding.clone(),
                message: format!("it names {role}, which does not exist"),
            });
        }
        let mut usable = Vec::with_capacity(subjects.len());
        for subject in subjects {
            match Subject::from_binding(subject, binding_namespace) {
                Ok(subject) => usable.push(subject),
                Err(unusable) => problems.push(Problem {
                    binding: binding.clone(),
                    message: unusable.0,
                }),
            }
        }
        BoundRole {
            binding,
            role,
            subjects: usable,
            resolved,
            problems,
        }
    }

    pub fn rule_grants(&self) -> &[RuleGrant] {
        self.resolved
            .as_ref()
            .map(|resolved| &*resolved.grants)
            .unwrap_or_default()
    }

    /// The role's traits; None when the role does not exist.
    pub fn traits(&self) -> Option<&RoleTraits> {
        self.resolved.as_ref().map(|resolved| &*resolved.traits)
    }

    /// One [`Grant`] per subject and rule grant.
    pub fn grants(&self) -> impl Iterator<Item = Grant> + '_ {
        self.grants_where(|_| true)
    }

    /// One [`Grant`] per rule grant and subject that `keep` selects.
    pub fn grants_where<'s>(
        &'s self,
        keep: impl Fn(&Subject) -> bool + 's,
    ) -> impl Iterator<Item = Grant> + 's {
        self.subjects
            .iter()
            .filter(move |s| keep(s))
            .flat_map(move |subject| {
                self.rule_grants().iter().map(move |grant| Grant {
                    subject: subject.clone(),
                    access: grant.access,
                    verbs: probe_verbs(grant.probes),
                    resources: probe_resources(grant.probes),
                    names: match &grant.names {
                        Names::All => None,
                        Names::Only(names) => Some(names.clone()),
                    },
                    binding: self.binding.clone(),
                    role: self.role.clone(),
                    aggregated_from: grant.aggregated_from.clone(),
                    rule: grant.rule,
                })
            })
    }
}

/// One subject's access in a namespace through one binding, role and rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub subject: Subject,
    pub access: Access,
    /// The verbs of the access the rule grants (`get`, `list`; `create`).
    pub verbs: Vec<&'static str>,
    /// The resources it grants them on, as kubectl names them.
    pub resources: Vec<String>,
    /// Only these objects (the rule's resourceNames); None: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    pub binding: ObjectRef,
    pub role: ObjectRef,
    /// The ClusterRole the rule comes from, when the role is aggregated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregated_from: Option<String>,
    /// The rule's position in that role's rules.
    pub rule: usize,
}

impl Grant {
    /// The path an access review shows: `RoleBinding billing/readers → Role billing/reader, rule 0`.
    pub fn path(&self) -> String {
        let rule = RuleRef {
            rule: self.rule,
            aggregated_from: self.aggregated_from.clone(),
        };
        format!("{} → {}, {rule}", self.binding, self.role)
    }
}

fn probe_verbs(bits: u64) -> Vec<&'static str> {
    let mut verbs: Vec<&'static str> = set_probes(bits).map(|probe| probe.verb).collect();
    verbs.sort_unstable();
    verbs.dedup();
    verbs
}

fn probe_resources(bits: u64) -> Vec<String> {
    let mut resources: Vec<String> = set_probes(bits).map(|p| p.display_resource()).collect();
    resources.sort_unstable();
    resources.dedup();
    resources
}

fn set_probes(bits: u64) -> impl Iterator<Item = &'static super::probes::Probe> {
    PROBES
        .iter()
        .enumerate()
        .filter(move |(bit, _)| bits & (1u64 << bit) != 0)
        .map(|(_, probe)| probe)
}
