//! Which policies a change concerns: a change in a namespace re-queues the policies whose scope
//! includes it now or included it at their last audit (so that a namespace leaving a scope is
//! noticed too); a change to a cluster-wide object (a StorageClass, a backup schedule) re-queues
//! every policy.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::{CONDITION_READY, HipaaPolicy, REASON_INVALID_SPEC, reason_of};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

/// What changed in the cluster, as far as scoping is concerned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// An object in this namespace, or the namespace itself.
    Namespace(String),
    /// An object that any policy's audit may read.
    ClusterWide,
}

impl Change {
    /// The change an object of a namespaced kind makes.
    pub fn of_namespaced<K: Resource>(object: &K) -> Change {
        match object.meta().namespace.as_deref() {
            Some(namespace) => Change::Namespace(namespace.to_string()),
            None => Change::ClusterWide,
        }
    }

    /// The change a Namespace makes (to its own scope).
    pub fn of_namespace(namespace: &Namespace) -> Change {
        Change::Namespace(namespace.name_any())
    }

    /// The change a cluster-scoped object read by every audit makes.
    pub fn cluster_wide<K>(_: &K) -> Change {
        Change::ClusterWide
    }
}

/// The namespaces each policy governed at its last audit.
#[derive(Debug, Default)]
pub struct ScopeMemory {
    scopes: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl ScopeMemory {
    pub fn remember(&self, policy: &str, namespaces: BTreeSet<String>) {
        self.lock().insert(policy.to_string(), namespaces);
    }

    pub fn contains(&self, policy: &str, namespace: &str) -> bool {
        self.lock()
            .get(policy)
            .is_some_and(|scope| scope.contains(namespace))
    }

    /// Forgets policies that no longer exist.
    pub fn retain(&self, existing: &std::collections::HashSet<String>) {
        self.lock().retain(|policy, _| existing.contains(policy));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        self.scopes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// True for a policy whose status reports its current spec invalid: it waits for the spec to
/// change, whatever happens in the cluster.
pub fn waits_for_spec_change(policy: &HipaaPolicy) -> bool {
    policy.status.as_ref().is_some_and(|status| {
        status.observed_generation == policy.metadata.generation
            && reason_of(&status.conditions, CONDITION_READY) == Some(REASON_INVALID_SPEC)
    })
}

/// The policies to re-queue for `change`. `namespace` is the changed namespace as now cached
/// (absent once deleted).
pub fn affected_policies(
    change: &Change,
    policies: &[Arc<HipaaPolicy>],
    namespace: Option<&Namespace>,
    memory: &ScopeMemory,
) -> Vec<ObjectRef<HipaaPolicy>> {
    policies
        .iter()
        .filter(|policy| !waits_for_spec_change(policy))
        .filter(|policy| match change {
            Change::ClusterWide => true,
            Change::Namespace(name) => {
                namespace.is_some_and(|ns| EffectivePolicy::selects(policy, ns))
                    || memory.contains(&policy.name_any(), name)
            }
        })
        .map(|policy| ObjectRef::from_obj(policy.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn policy(yaml: &str) -> Arc<HipaaPolicy> {
        Arc::new(yaml_serde::from_str(yaml).unwrap())
    }

    fn namespace(yaml: &str) -> Namespace {
        yaml_serde::from_str(yaml).unwrap()
    }

    fn names(refs: Vec<ObjectRef<HipaaPolicy>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    const PHI: &str = "
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: phi}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: \"true\"}}
";
    const PROD: &str = "
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: prod}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/environment: production}}
";

    #[test]
    fn a_namespaced_change_requeues_only_the_policies_selecting_its_namespace() {
        let policies = [policy(PHI), policy(PROD)];
        let billing = namespace("metadata: {name: billing, labels: {hipaaguard.io/phi: \"true\"}}");
        let memory = ScopeMemory::default();
        let change = Change::Namespace("billing".into());
        assert_eq!(
            names(affected_policies(
                &change,
                &policies,
                Some(&billing),
                &memory
            )),
            ["phi"]
        );
        let scratch = namespace("metadata: {name: scratch}");
        let change = Change::Namespace("scratch".into());
        assert!(affected_policies(&change, &policies, Some(&scratch), &memory).is_empty());
    }

    #[test]
    fn a_namespace_leaving_a_scope_requeues_the_policy_that_governed_it() {
        let policies = [policy(PHI), policy(PROD)];
        let memory = ScopeMemory::default();
        memory.remember("prod", BTreeSet::from(["billing".to_string()]));
        let relabelled =
            namespace("metadata: {name: billing, labels: {hipaaguard.io/phi: \"true\"}}");
        let change = Change::Namespace("billing".into());
        assert_eq!(
            names(affected_policies(
                &change,
                &policies,
                Some(&relabelled),
                &memory
            )),
            ["phi", "prod"]
        );
        assert_eq!(
            names(affected_policies(&change, &policies, None, &memory)),
            ["prod"]
        );
    }

    #[test]
    fn an_invalid_policy_is_not_requeued_until_its_spec_changes() {
        let mut invalid = yaml_serde::from_str::<HipaaPolicy>(PHI).unwrap();
        invalid.metadata.generation = Some(2);
        invalid.status = Some(yaml_serde::from_str(
            "observedGeneration: 2\nconditions:\n- {type: Ready, status: \"False\", reason: InvalidSpec, message: x, lastTransitionTime: \"2026-01-01T00:00:00Z\"}\n",
        ).unwrap());
        assert!(waits_for_spec_change(&invalid));
        let memory = ScopeMemory::default();
        let billing = namespace("metadata: {name: billing, labels: {hipaaguard.io/phi: \"true\"}}");
        let change = Change::Namespace("billing".into());
        assert!(
            affected_policies(
                &change,
                &[Arc::new(invalid.clone())],
                Some(&billing),
                &memory
            )
            .is_empty()
        );
        invalid.metadata.generation = Some(3);
        assert!(
            !waits_for_spec_change(&invalid),
            "a new generation is evaluated again"
        );
    }

    #[test]
    fn a_cluster_wide_change_requeues_every_policy() {
        let policies = [policy(PHI), policy(PROD)];
        let memory = ScopeMemory::default();
        assert_eq!(
            names(affected_policies(
                &Change::ClusterWide,
                &policies,
                None,
                &memory
            )),
            ["phi", "prod"]
        );
    }
}
