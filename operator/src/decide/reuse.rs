//! Reusing evaluations and tallies across the audits of one policy, namespace by namespace.
//! An object keeps its last verdict when its cached version, its namespace's context and the
//! cluster-wide context are all unchanged, under the same policy generation, and no exception of
//! the policy has expired since (the only way time changes a Kubernetes verdict). A namespace
//! whose objects and context are all unchanged also keeps its part of the tally
//! ([`TallyPart`]); a namespace with a change re-evaluates what changed and rebuilds its part
//! only. So a periodic audit, or one after a change in one namespace, costs what changed (plus
//! a walk over the observed objects' addresses), not the whole scope.
//!
//! Invalidation: a new policy uid or generation, a changed cluster-wide context (StorageClasses,
//! backup schedules) or an exception expiring clears everything; a changed namespace context
//! (the Namespace with its labels, its NetworkPolicies, PVCs, HorizontalPodAutoscalers) clears
//! that namespace; a namespace that left the scope is dropped. A change of access (any RBAC
//! object or ServiceAccount, or whether they could be read) re-judges every Namespace object (the
//! access controls judge namespaces) and, when the policy applies HIPAA-K8S-SA-TOKEN, which reads
//! the rights of the pods' ServiceAccounts, clears everything.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::catalog::ids;
use hipaa_controls::context::ClusterContext;
use hipaa_controls::object::ObjectKind;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::{ResourceEvaluation, TallyPart};
use hipaa_crds::MAX_STATUS_VIOLATIONS;

use super::evaluate_shared;
use crate::observe::Cached;
use crate::observe::fingerprint::ContextFingerprints;

/// Which policy spec the evaluations were made under: its uid and generation.
pub type PolicyVersion = (Option<String>, Option<i64>);

/// A tally part kept across audits.
pub type KeptPart = TallyPart<Arc<ResourceEvaluation>>;

/// The evaluations and tally part of one namespace (its Namespace and everything in it).
struct Group {
    /// The namespace's context fingerprint they were made under.
    context: u64,
    /// Each object evaluated, in observation order. Holding the cached version keeps its
    /// address (the identity compared) from being reused by another object.
    members: Vec<(Cached, Arc<ResourceEvaluation>)>,
    part: KeptPart,
}

impl Group {
    /// Whether `objects` are exactly this group's members, in order, under `context`.
    fn is_unchanged(&self, context: u64, objects: &[&Cached]) -> bool {
        self.context == context
            && self.members.len() == objects.len()
            && self
                .members
                .iter()
                .zip(objects)
                .all(|((kept, _), object)| kept.is_same_version(object))
    }
}

/// The evaluations of one policy's last audit, by namespace.
#[derive(Default)]
pub struct EvaluationCache {
    policy: Option<PolicyVersion>,
    global: u64,
    /// The access version the evaluations were made under.
    access: u64,
    /// The first exception expiry after the evaluations were made.
    valid_until: Option<DateTime<Utc>>,
    groups: HashMap<String, Group>,
    /// The namespaces of the last audit, in observation order.
    order: Vec<String>,
}

impl std::fmt::Debug for EvaluationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvaluationCache")
            .field("namespaces", &self.groups.len())
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

/// What [`EvaluationCache::evaluate`] reads.
#[derive(Clone, Copy)]
pub struct ReuseInput<'a> {
    pub objects: &'a [Cached],
    pub context: &'a ClusterContext,
    pub policy: &'a EffectivePolicy,
    pub version: &'a PolicyVersion,
    pub fingerprints: &'a ContextFingerprints,
    pub now: DateTime<Utc>,
}

/// Where an object to evaluate goes: its group's position in the order and its own in the group.
struct Missing {
    group: usize,
    member: usize,
}

impl EvaluationCache {
    /// Evaluations of every object, grouped by namespace in order of first appearance, reusing
    /// what is still valid; also returns how many were reused. The parts of the tally are then
    /// in [`EvaluationCache::parts`].
    pub fn evaluate(&mut self, input: ReuseInput<'_>) -> (Vec<Arc<ResourceEvaluation>>, usize) {
        let expired = self.valid_until.is_some_and(|until| input.now >= until);
        let access_moved = self.access != input.fingerprints.access;
        let workloads_read_access = input.policy.setting(ids::K8S_SA_TOKEN).is_some();
        if expired
            || self.policy.as_ref() != Some(input.version)
            || self.global != input.fingerprints.global
            || (access_moved && workloads_read_access)
        {
            self.groups.clear();
            self.policy = Some(input.version.clone());
            self.global = input.fingerprints.global;
        }
        self.access = input.fingerprints.access;
        // Only the Namespaces read access now: keep everything else.
        let stale_namespaces = access_moved && !self.groups.is_empty();
        let (order, grouped) = group_by_namespace(input.objects);
        let mut previous = std::mem::take(&mut self.groups);
        let mut slots: Vec<Vec<Option<Arc<ResourceEvaluation>>>> = Vec::with_capacity(order.len());
        let mut kept: Vec<Option<Group>> = Vec::with_capacity(order.len());
        let mut missing: Vec<Missing> = Vec::new();
        let mut to_evaluate: Vec<Cached> = Vec::new();
        let mut reused = 0;
        for (position, (namespace, objects)) in order.iter().zip(&grouped).enumerate() {
            let context = input.fingerprints.namespace(namespace);
            let old = previous.remove(*namespace);
            let old = match old {
                Some(group) if !stale_namespaces && group.is_unchanged(context, objects) => {
                    reused += objects.len();
                    slots.push(Vec::new());
                    kept.push(Some(group));
                    continue;
                }
                other => other,
            };
            // Something in the namespace changed: reuse the verdicts of its unchanged objects
            // (when its context is the same), evaluate the rest.
            let mut same: HashMap<usize, Arc<ResourceEvaluation>> = old
                .filter(|g| g.context == context)
                .map(|g| {
                    g.members
                        .into_iter()
                        .filter(|(object, _)| {
                            !(stale_namespaces && object.kind() == ObjectKind::Namespace)
                        })
                        // The kept versions are alive until here, so no object observed now
                        // can have the address of a different version.
                        .map(|(object, evaluation)| (object.address(), evaluation))
                        .collect()
                })
                .unwrap_or_default();
            let mut group_slots = Vec::with_capacity(objects.len());
            for (member, object) in objects.iter().enumerate() {
                match same.remove(&object.address()) {
                    Some(evaluation) => {
                        reused += 1;
                        group_slots.push(Some(evaluation));
                    }
                    None => {
                        group_slots.push(None);
                        missing.push(Missing {
                            group: position,
                            member,
                        });
                        to_evaluate.push((*object).clone());
                    }
                }
            }
            slots.push(group_slots);
            kept.push(None);
        }
        let fresh = evaluate_shared(&to_evaluate, input.context, input.policy, input.now);
        for (at, evaluation) in missing.iter().zip(fresh) {
            if let Some(slot) = slots
                .get_mut(at.group)
                .and_then(|group| group.get_mut(at.member))
            {
                *slot = Some(evaluation);
            }
        }
        let mut evaluations = Vec::with_capacity(input.objects.len());
        for (((namespace, objects), group_slots), kept) in
            order.iter().zip(&grouped).zip(slots).zip(kept)
        {
            let group = kept.unwrap_or_else(|| {
                let members: Vec<(Cached, Arc<ResourceEvaluation>)> = objects
                    .iter()
                    .zip(group_slots)
                    .filter_map(|(object, slot)| Some(((*object).clone(), slot?)))
                    .collect();
                let part = TallyPart::new(
                    input.policy,
                    members.iter().map(|(_, evaluation)| evaluation.clone()),
                    MAX_STATUS_VIOLATIONS,
                );
                Group {
                    context: input.fingerprints.namespace(namespace),
                    members,
                    part,
                }
            });
            evaluations.extend(group.members.iter().map(|(_, e)| e.clone()));
            self.groups.insert((*namespace).to_string(), group);
        }
        self.order = order.iter().map(|n| (*n).to_string()).collect();
        self.valid_until = input
            .policy
            .exceptions
            .iter()
            .filter_map(|exception| exception.expires())
            .filter(|expires| *expires > input.now)
            .min();
        (evaluations, reused)
    }

    /// The tally parts of the last audit, one per namespace, in its order.
    pub fn parts(&self) -> impl Iterator<Item = &KeptPart> {
        self.order
            .iter()
            .filter_map(|namespace| self.groups.get(namespace))
            .map(|group| &group.part)
    }

    /// How many evaluations are kept.
    pub fn len(&self) -> usize {
        self.groups.values().map(|g| g.members.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// The objects by the namespace whose context they read, namespaces in order of first
/// appearance, objects in observation order. The observation lists each namespace in one run,
/// so a name is looked up only where a run starts.
fn group_by_namespace(objects: &[Cached]) -> (Vec<&str>, Vec<Vec<&Cached>>) {
    let mut order: Vec<&str> = Vec::new();
    let mut grouped: Vec<Vec<&Cached>> = Vec::new();
    let mut index: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut run: Option<(&str, usize)> = None;
    for object in objects {
        let namespace = object.context_namespace();
        let position = match run {
            Some((name, position)) if name == namespace => position,
            _ => {
                let position = *index.entry(namespace).or_insert_with(|| {
                    order.push(namespace);
                    grouped.push(Vec::new());
                    grouped.len() - 1
                });
                run = Some((namespace, position));
                position
            }
        };
        if let Some(group) = grouped.get_mut(position) {
            group.push(object);
        }
    }
    (order, grouped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::api::core::v1::Service;

    fn service(namespace: &str, name: &str) -> Cached {
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": namespace}
        }))
        .unwrap();
        Cached::compact(&service).unwrap()
    }

    /// The observation lists each namespace in one run, but a list that returns to a namespace
    /// after another still groups it whole.
    #[test]
    fn a_namespace_met_again_after_another_joins_its_first_group() {
        let objects = [
            service("a", "1"),
            service("a", "2"),
            service("b", "1"),
            service("a", "3"),
        ];
        let (order, grouped) = group_by_namespace(&objects);
        assert_eq!(order, ["a", "b"]);
        let names: Vec<Vec<String>> = grouped
            .iter()
            .map(|group| group.iter().map(|o| o.resource_ref().name).collect())
            .collect();
        assert_eq!(names, [vec!["1", "2", "3"], vec!["1"]]);
    }
}
