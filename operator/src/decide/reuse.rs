//! Reusing evaluations across the audits of one policy. An object keeps its last verdict when
//! its cached version, its namespace's context and the cluster-wide context are all unchanged,
//! under the same policy generation, and no exception of the policy has expired since (the only
//! way time changes a Kubernetes verdict). Everything else is evaluated again, so a periodic
//! audit or a change in one namespace costs what changed, not the whole scope.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::context::ClusterContext;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::ResourceEvaluation;

use super::evaluate_list;
use crate::observe::Cached;
use crate::observe::fingerprint::ContextFingerprints;

/// Which policy spec the evaluations were made under: its uid and generation.
pub type PolicyVersion = (Option<String>, Option<i64>);

struct Entry {
    /// Kept so that the cached version (and its address, the key) stays alive.
    object: Cached,
    namespace: u64,
    evaluation: Arc<ResourceEvaluation>,
}

/// The evaluations of one policy's last audit.
#[derive(Default)]
pub struct EvaluationCache {
    policy: Option<PolicyVersion>,
    global: u64,
    /// The first exception expiry after the evaluations were made.
    valid_until: Option<DateTime<Utc>>,
    entries: HashMap<usize, Entry>,
}

impl std::fmt::Debug for EvaluationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvaluationCache")
            .field("entries", &self.entries.len())
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

impl EvaluationCache {
    /// Evaluations of every object, in order, reusing what is still valid; also returns how many
    /// were reused.
    pub fn evaluate(&mut self, input: ReuseInput<'_>) -> (Vec<Arc<ResourceEvaluation>>, usize) {
        let expired = self.valid_until.is_some_and(|until| input.now >= until);
        if expired
            || self.policy.as_ref() != Some(input.version)
            || self.global != input.fingerprints.global
        {
            self.entries.clear();
            self.policy = Some(input.version.clone());
            self.global = input.fingerprints.global;
        }
        let mut previous = std::mem::take(&mut self.entries);
        let mut results: Vec<Option<Arc<ResourceEvaluation>>> =
            Vec::with_capacity(input.objects.len());
        let mut missing: Vec<(usize, Cached)> = Vec::new();
        for (index, object) in input.objects.iter().enumerate() {
            let namespace = input.fingerprints.namespace(object.context_namespace());
            match previous.remove(&object.address()) {
                Some(entry)
                    if entry.object.is_same_version(object) && entry.namespace == namespace =>
                {
                    results.push(Some(entry.evaluation.clone()));
                    self.entries.insert(object.address(), entry);
                }
                _ => {
                    results.push(None);
                    missing.push((index, object.clone()));
                }
            }
        }
        let reused = input.objects.len() - missing.len();
        let to_evaluate: Vec<Cached> = missing.iter().map(|(_, object)| object.clone()).collect();
        let fresh = evaluate_list(&to_evaluate, input.context, input.policy, input.now);
        for ((index, object), evaluation) in missing.into_iter().zip(fresh) {
            let evaluation = Arc::new(evaluation);
            let namespace = input.fingerprints.namespace(object.context_namespace());
            if let Some(slot) = results.get_mut(index) {
                *slot = Some(evaluation.clone());
            }
            self.entries.insert(
                object.address(),
                Entry {
                    object,
                    namespace,
                    evaluation,
                },
            );
        }
        self.valid_until = input
            .policy
            .exceptions
            .iter()
            .filter_map(|exception| exception.expires())
            .filter(|expires| *expires > input.now)
            .min();
        (results.into_iter().flatten().collect(), reused)
    }

    /// How many evaluations are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
