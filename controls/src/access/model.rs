//! The access model: every binding resolved to its role's effective rules, each rule to the PHI
//! accesses it grants (as probe sets), indexed by the namespace the binding grants in. Built once
//! from the cached RBAC objects; asked per namespace ([`AccessModel::grants_in`]) or per request
//! ([`AccessModel::allows`], what a SubjectAccessReview answers).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};

use super::aggregate::{ClusterRoles, SourcedRule};
use super::grant::{
    BoundRole, Grant, ObjectRef, Problem, ResolvedRole, RoleKey, RuleGrant, RuleRef,
};
use super::probes::{Access, PROBES, Probe};
use super::rules::rule_grants;
use super::subject::Identity;
use super::subject::Subject;
use super::traits::traits_of;

/// The RBAC objects the model is built from (references into the caller's caches).
#[derive(Default)]
pub struct RbacObjects<'a> {
    pub roles: Vec<&'a Role>,
    pub cluster_roles: Vec<&'a ClusterRole>,
    pub role_bindings: Vec<&'a RoleBinding>,
    pub cluster_role_bindings: Vec<&'a ClusterRoleBinding>,
    /// For whether their tokens are mounted (`automountServiceAccountToken`).
    pub service_accounts: Vec<&'a ServiceAccount>,
}

/// A subject bound to a superuser role in a namespace, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superuser {
    pub subject: Subject,
    /// `ClusterRoleBinding admins → ClusterRole cluster-admin` (with the rule when one grants it).
    pub path: String,
}

/// Who can reach which namespace, and through which binding, role and rule.
#[derive(Debug, Default)]
pub struct AccessModel {
    bindings: Vec<BoundRole>,
    /// The bindings that grant in every namespace (ClusterRoleBindings), by index.
    cluster_wide: Vec<usize>,
    /// The bindings that grant in one namespace (RoleBindings), by namespace.
    namespaced: HashMap<String, Vec<usize>>,
    /// `automountServiceAccountToken` of each ServiceAccount, by namespace and name.
    service_accounts: HashMap<(String, String), Option<bool>>,
}

impl AccessModel {
    pub fn build(objects: &RbacObjects<'_>) -> AccessModel {
        let cluster_roles = ClusterRoles::new(&objects.cluster_roles);
        let roles: HashMap<(&str, &str), &Role> = objects
            .roles
            .iter()
            .filter_map(|role| {
                let meta = &role.metadata;
                Some(((meta.namespace.as_deref()?, meta.name.as_deref()?), *role))
            })
            .collect();
        // Each role's grants once, however many bindings name it.
        let mut resolved: HashMap<RoleKey, Option<ResolvedRole>> = HashMap::new();
        let mut resolve = |key: RoleKey| -> Option<ResolvedRole> {
            resolved
                .entry(key.clone())
                .or_insert_with(|| match &key {
                    RoleKey::Role { namespace, name } => roles
                        .get(&(namespace.as_str(), name.as_str()))
                        .map(|role| resolve_rules(None, own_rules(role.rules.as_deref()))),
                    RoleKey::ClusterRole { name } => cluster_roles
                        .get(name)
                        .map(|role| resolve_rules(Some(name), cluster_roles.effective_rules(role))),
                })
                .clone()
        };

        let mut model = AccessModel::default();
        for account in &objects.service_accounts {
            let meta = &account.metadata;
            if let (Some(namespace), Some(name)) = (&meta.namespace, &meta.name) {
                model.service_accounts.insert(
                    (namespace.clone(), name.clone()),
                    account.automount_service_account_token,
                );
            }
        }
        for binding in &objects.role_bindings {
            let meta = &binding.metadata;
            let namespace = meta.namespace.clone().unwrap_or_default();
            let reference = ObjectRef::new("RoleBinding", Some(&namespace), meta.name.as_deref());
            let role_ref = &binding.role_ref;
            let key = match role_ref.kind.as_str() {
                "Role" => Some(RoleKey::Role {
                    namespace: namespace.clone(),
                    name: role_ref.name.clone(),
                }),
                "ClusterRole" => Some(RoleKey::ClusterRole {
                    name: role_ref.name.clone(),
                }),
                _ => None,
            };
            let bound = BoundRole::new(
                reference,
                role_ref,
                key.clone().and_then(&mut resolve),
                key.is_some(),
                binding.subjects.as_deref().unwrap_or_default(),
                Some(&namespace),
            );
            model
                .namespaced
                .entry(namespace)
                .or_default()
                .push(model.bindings.len());
            model.bindings.push(bound);
        }
        for binding in &objects.cluster_role_bindings {
            let reference =
                ObjectRef::new("ClusterRoleBinding", None, binding.metadata.name.as_deref());
            let role_ref = &binding.role_ref;
            // A ClusterRoleBinding can only name a ClusterRole (the API refuses anything else).
            let known = role_ref.kind == "ClusterRole";
            let grants = known
                .then(|| RoleKey::ClusterRole {
                    name: role_ref.name.clone(),
                })
                .and_then(&mut resolve);
            let bound = BoundRole::new(
                reference,
                role_ref,
                grants,
                known,
                binding.subjects.as_deref().unwrap_or_default(),
                None,
            );
            model.cluster_wide.push(model.bindings.len());
            model.bindings.push(bound);
        }
        model
    }

    /// The bindings that grant in `namespace`: its RoleBindings and every ClusterRoleBinding.
    fn bindings_in<'m>(&'m self, namespace: &str) -> impl Iterator<Item = &'m BoundRole> + 'm {
        let local = self
            .namespaced
            .get(namespace)
            .map(Vec::as_slice)
            .unwrap_or_default();
        self.cluster_wide
            .iter()
            .chain(local)
            .filter_map(|index| self.bindings.get(*index))
    }

    /// Every PHI access granted in `namespace`, one per subject, binding and rule, sorted by
    /// subject, access and path.
    pub fn grants_in(&self, namespace: &str) -> Vec<Grant> {
        let mut grants: Vec<Grant> = self
            .bindings_in(namespace)
            .flat_map(BoundRole::grants)
            .collect();
        grants.sort();
        grants
    }

    /// Each subject's accesses in `namespace`, with the least path that grants each (see
    /// [`Self::first_paths`]): what [`Self::grants_in`] says by subject and access, cheap enough to
    /// compare two states of RBAC namespace by namespace (the operator's access Events).
    pub fn accesses_in(&self, namespace: &str) -> BTreeMap<(Subject, Access), String> {
        self.first_paths(namespace, &Access::ALL, |_| true)
    }

    /// For each subject `keep` selects and each of `accesses` it has in `namespace`, the path of
    /// the least grant (by binding, role and rule: the same whatever order the caches list the
    /// objects in). What the access controls report: one line per subject and access, built
    /// without the verbs and resources a full [`Grant`] carries.
    pub fn first_paths(
        &self,
        namespace: &str,
        accesses: &[Access],
        keep: impl Fn(&Subject) -> bool,
    ) -> BTreeMap<(Subject, Access), String> {
        type Candidate<'m> = (&'m ObjectRef, &'m ObjectRef, usize, Option<&'m str>);
        let mut best: BTreeMap<(&Subject, Access), Candidate<'_>> = BTreeMap::new();
        for bound in self.bindings_in(namespace) {
            let mut relevant = bound
                .rule_grants()
                .iter()
                .filter(|grant| accesses.contains(&grant.access))
                .peekable();
            if relevant.peek().is_none() {
                continue;
            }
            let kept: Vec<&Subject> = bound.subjects.iter().filter(|s| keep(s)).collect();
            if kept.is_empty() {
                continue;
            }
            for grant in relevant {
                let candidate = (
                    &bound.binding,
                    &bound.role,
                    grant.rule,
                    grant.aggregated_from.as_deref(),
                );
                for subject in &kept {
                    best.entry((*subject, grant.access))
                        .and_modify(|current| {
                            if candidate < *current {
                                *current = candidate;
                            }
                        })
                        .or_insert(candidate);
                }
            }
        }
        best.into_iter()
            .map(|((subject, access), (binding, role, rule, source))| {
                let rule = RuleRef {
                    rule,
                    aggregated_from: source.map(str::to_owned),
                };
                (
                    (subject.clone(), access),
                    format!("{binding} → {role}, {rule}"),
                )
            })
            .collect()
    }

    /// Whether `identity` may make `probe`'s request in `namespace` on the object `name` ("" for
    /// a request without one, as list or create), as RBAC answers it. Only the requests in
    /// [`PROBES`] are modelled: any other is answered false.
    pub fn allows(&self, identity: &Identity, namespace: &str, probe: &Probe, name: &str) -> bool {
        let Some(bit) = PROBES.iter().position(|p| p == probe) else {
            return false;
        };
        self.bindings_in(namespace).any(|bound| {
            bound.subjects.iter().any(|s| s.applies_to(identity))
                && bound
                    .rule_grants()
                    .iter()
                    .any(|grant| grant.probes & (1u64 << bit) != 0 && grant.names.allow(name))
        })
    }

    /// What keeps the model from being complete in `namespace`: bindings to roles that do not
    /// exist, or subjects it cannot use. A control that needs the model reports Error for them.
    pub fn problems_in(&self, namespace: &str) -> Vec<Problem> {
        self.bindings_in(namespace)
            .flat_map(|bound| bound.problems.iter().cloned())
            .collect()
    }

    /// Every subject bound to a superuser role (see [`super::traits`]) with effect in `namespace`,
    /// sorted by subject and path.
    pub fn superusers_in(&self, namespace: &str) -> Vec<Superuser> {
        let mut found: Vec<Superuser> = self
            .bindings_in(namespace)
            .filter_map(|bound| {
                let rule = bound.traits()?.superuser.as_ref()?;
                let path = match rule {
                    Some(rule) => format!("{} → {}, {rule}", bound.binding, bound.role),
                    None => format!("{} → {}", bound.binding, bound.role),
                };
                Some(bound.subjects.iter().map(move |subject| Superuser {
                    subject: subject.clone(),
                    path: path.clone(),
                }))
            })
            .flatten()
            .collect();
        found.sort_by(|a, b| (&a.subject, &a.path).cmp(&(&b.subject, &b.path)));
        found
    }

    /// The path of a binding that lets `identity` change the cluster (in any namespace), the first
    /// by binding; Ok(None) when none does; Err when a binding that applies to it names a role
    /// that does not exist and none grants writes (the answer is then unknown).
    pub fn write_access(&self, identity: &Identity) -> Result<Option<String>, Problem> {
        let mut unknown = None;
        for bound in &self.bindings {
            if !bound.subjects.iter().any(|s| s.applies_to(identity)) {
                continue;
            }
            match bound.traits() {
                Some(traits) => {
                    if let Some(rule) = &traits.writes {
                        return Ok(Some(format!("{} → {}, {rule}", bound.binding, bound.role)));
                    }
                }
                None => {
                    unknown = unknown.or_else(|| bound.problems.first().cloned());
                }
            }
        }
        unknown.map_or(Ok(None), Err)
    }

    /// `automountServiceAccountToken` of the ServiceAccount `name` in `namespace`: None when the
    /// model holds no such ServiceAccount, Some(None) when it leaves the field unset.
    pub fn service_account_automount(&self, namespace: &str, name: &str) -> Option<Option<bool>> {
        self.service_accounts
            .get(&(namespace.to_owned(), name.to_owned()))
            .copied()
    }

    /// How many bindings the model holds.
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }
}

/// A role's own rules, by position.
pub(super) fn own_rules(rules: Option<&[PolicyRule]>) -> Vec<SourcedRule<'_>> {
    rules
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, rule)| SourcedRule {
            rule,
            index,
            aggregated_from: None,
        })
        .collect()
}

/// A role's grants and traits from its effective rules.
fn resolve_rules(cluster_role: Option<&str>, rules: Vec<SourcedRule<'_>>) -> ResolvedRole {
    ResolvedRole {
        traits: Arc::new(traits_of(cluster_role, &rules)),
        grants: grants_of(rules),
    }
}

/// The PHI accesses each rule grants, grouped by access and the names they are limited to.
fn grants_of(rules: Vec<SourcedRule<'_>>) -> Arc<[RuleGrant]> {
    let mut grants: Vec<RuleGrant> = Vec::new();
    for sourced in rules {
        for (bit, probe) in PROBES.iter().enumerate() {
            let Some(names) = rule_grants(sourced.rule, probe) else {
                continue;
            };
            let same = grants.iter_mut().find(|g| {
                g.access == probe.access
                    && g.rule == sourced.index
                    && g.aggregated_from.as_deref() == sourced.aggregated_from
                    && g.names == names
            });
            match same {
                Some(grant) => grant.probes |= 1u64 << bit,
                None => grants.push(RuleGrant {
                    access: probe.access,
                    probes: 1u64 << bit,
                    names,
                    rule: sourced.index,
                    aggregated_from: sourced.aggregated_from.map(str::to_owned),
                }),
            }
        }
    }
    grants.into()
}
