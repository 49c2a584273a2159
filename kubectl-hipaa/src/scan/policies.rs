//! Which policy judges each object: HipaaPolicies from `--policy` files (validated like the
//! operator does) or from the cluster, merged per namespace by the engine; the catalog defaults
//! when there is none.
//!
//! An object whose Namespace is neither among the inputs nor in the cluster is judged under the
//! scan's namespace assumption (`super::assumption::NamespaceAssumption`), which also says how the
//! policies select it: by default as if every policy selected its namespace (a scan must not
//! pass an object only because its Namespace manifest lives elsewhere), with
//! `--assume-namespace-labels` by the policies' selectors matched against the assumed labels,
//! the same labels its controls see. The scan says which, once, in a note.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use hipaa_controls::{ClusterContext, EffectivePolicy, HipaaPolicy, Object, validate_policy};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::input::{InputError, InputPath, ReadLimits, read_objects_with};

/// A label no real namespace carries, used to select a synthetic namespace with every policy.
const ASSUMED_IN_SCOPE_LABEL: &str = "kubectl-hipaa.hipaaguard.io/assumed-in-scope";

/// Reads the HipaaPolicies of `files` (multi-document YAML and Lists allowed) and validates each.
pub fn load_policy_files(
    files: &[PathBuf],
    limits: &ReadLimits,
) -> Result<Vec<HipaaPolicy>, InputError> {
    let inputs: Vec<InputPath> = files.iter().cloned().map(InputPath::File).collect();
    let mut policies = Vec::new();
    let mut no_stdin: &[u8] = &[];
    read_objects_with::<InputError>(&inputs, &mut no_stdin, limits, |manifest| {
        let kind = manifest
            .value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default();
        let api_version = manifest
            .value
            .get("apiVersion")
            .and_then(|k| k.as_str())
            .unwrap_or_default();
        if (api_version, kind) != ("hipaaguard.io/v1alpha1", "HipaaPolicy") {
            return Err(InputError::invalid(
                &manifest.file,
                manifest.line,
                format!(
                    "--policy expects hipaaguard.io/v1alpha1 HipaaPolicy objects, found {api_version} {kind}"
                ),
            ));
        }
        let policy: HipaaPolicy = serde_json::from_value(manifest.value).map_err(|err| {
            InputError::invalid(
                &manifest.file,
                manifest.line,
                format!("HipaaPolicy does not parse: {err}"),
            )
        })?;
        let name = policy.metadata.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(InputError::invalid(
                &manifest.file,
                manifest.line,
                "HipaaPolicy has no metadata.name",
            ));
        }
        if let Err(problems) = validate_policy(&policy.spec) {
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(InputError::invalid(
                &manifest.file,
                manifest.line,
                format!("HipaaPolicy {name} is invalid: {}", listed.join("; ")),
            ));
        }
        policies.push(policy);
        Ok(())
    })?;
    Ok(policies)
}

/// How the policies select the namespace of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceSelection {
    /// By the labels of the namespace the context holds (the inputs', the cluster's, an assumed
    /// one's).
    ByLabels,
    /// Every policy selects it (a namespace known only by the default assumption, or by none).
    ByEveryPolicy,
}

/// Resolves the effective policy of each object, caching per namespace.
pub struct PolicyScope {
    policies: Vec<HipaaPolicy>,
    /// The policies with a selector that selects the synthetic namespace, for unknown namespaces.
    assumed: Vec<HipaaPolicy>,
    /// Every policy merged (or the defaults): what a control's Disabled state is judged by.
    overall: Arc<EffectivePolicy>,
    cache: HashMap<String, Option<Arc<EffectivePolicy>>>,
}

impl PolicyScope {
    /// `policies` empty: the catalog defaults judge every object.
    pub fn new(policies: Vec<HipaaPolicy>) -> Self {
        let assumed: Vec<HipaaPolicy> = policies
            .iter()
            .cloned()
            .map(|mut policy| {
                policy.spec.namespace_selector = LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        ASSUMED_IN_SCOPE_LABEL.to_string(),
                        "true".to_string(),
                    )])),
                    match_expressions: None,
                };
                policy
            })
            .collect();
        let overall = if policies.is_empty() {
            EffectivePolicy::defaults()
        } else {
            EffectivePolicy::for_namespace(&assumed, &assumed_namespace())
                .unwrap_or_else(EffectivePolicy::defaults)
        };
        PolicyScope {
            policies,
            assumed,
            overall: Arc::new(overall),
            cache: HashMap::new(),
        }
    }

    /// Whether policies were given (else the catalog defaults judge every object).
    pub fn has_policies(&self) -> bool {
        !self.policies.is_empty()
    }

    /// The names of the policies (empty: the catalog defaults).
    pub fn policy_names(&self) -> Vec<String> {
        self.policies
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect()
    }

    /// Every policy merged: a control is Disabled only when every policy disables it.
    pub fn overall(&self) -> &EffectivePolicy {
        &self.overall
    }

    /// The namespace whose policies judge `object`: its own (`default` for cluster-scoped
    /// kinds); None for a Namespace, judged by its own labels.
    pub fn scope_namespace(object: &Object) -> Option<&str> {
        object.effective_namespace()
    }

    /// The policy that judges `object`, or None when no policy selects its namespace;
    /// `selection` says how its namespace ([`Self::scope_namespace`]) is selected. A namespace
    /// the context does not hold is selected by every policy.
    pub fn policy_for(
        &mut self,
        object: &Object,
        ctx: &ClusterContext,
        selection: NamespaceSelection,
    ) -> Option<Arc<EffectivePolicy>> {
        if self.policies.is_empty() {
            return Some(self.overall.clone());
        }
        if let Object::Namespace(ns) = object {
            return EffectivePolicy::for_namespace(&self.policies, ns).map(Arc::new);
        }
        let namespace = Self::scope_namespace(object).unwrap_or("default");
        if let Some(cached) = self.cache.get(namespace) {
            return cached.clone();
        }
        let resolved = match (ctx.namespace(namespace), selection) {
            (Some(ns), NamespaceSelection::ByLabels) => {
                EffectivePolicy::for_namespace(&self.policies, ns).map(Arc::new)
            }
            _ => EffectivePolicy::for_namespace(&self.assumed, &assumed_namespace()).map(Arc::new),
        };
        self.cache.insert(namespace.to_string(), resolved.clone());
        resolved
    }

    /// The exception `index` of policy `name`, as written.
    pub fn exception(&self, name: &str, index: usize) -> Option<&hipaa_crds::PolicyException> {
        self.policies
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .and_then(|p| p.spec.exceptions.get(index))
    }
}

fn assumed_namespace() -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some("assumed-in-scope".to_string()),
            labels: Some(BTreeMap::from([(
                ASSUMED_IN_SCOPE_LABEL.to_string(),
                "true".to_string(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn policy(yaml: &str) -> HipaaPolicy {
        yaml_serde::from_str(yaml).unwrap()
    }

    fn object(yaml: &str) -> Object {
        Object::from_value(yaml_serde::from_str(yaml).unwrap(), Some("default")).unwrap()
    }

    const PHI_POLICY: &str = "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: phi}\nspec:\n  namespaceSelector: {matchLabels: {hipaaguard.io/phi: \"true\"}}\n  controls:\n  - {id: HIPAA-K8S-HA, disabled: true}\n";

    #[test]
    fn without_policies_the_defaults_judge_everything_but_the_opt_in_controls() {
        let mut scope = PolicyScope::new(Vec::new());
        let deployment =
            object("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: x}\n");
        let policy = scope
            .policy_for(
                &deployment,
                &ClusterContext::new(),
                NamespaceSelection::ByLabels,
            )
            .unwrap();
        let applied = hipaa_controls::catalog().iter().filter(|c| !c.opt_in);
        assert_eq!(policy.controls.len(), applied.count());
        assert!(!scope.has_policies());
    }

    #[test]
    fn known_namespaces_use_their_labels_and_unknown_ones_are_assumed_in_scope() {
        let mut scope = PolicyScope::new(vec![policy(PHI_POLICY)]);
        let mut ctx = ClusterContext::new();
        let phi = object(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing, labels: {hipaaguard.io/phi: \"true\"}}\n",
        );
        let plain = object("apiVersion: v1\nkind: Namespace\nmetadata: {name: tools}\n");
        for ns in [&phi, &plain] {
            if let Object::Namespace(ns) = ns {
                ctx.insert_namespace(Arc::new(ns.as_ref().clone()));
            }
        }
        let in_billing = object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: billing}\n",
        );
        let in_tools = object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: tools}\n",
        );
        let elsewhere = object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: payments}\n",
        );
        let by_labels = NamespaceSelection::ByLabels;
        let judged = scope.policy_for(&in_billing, &ctx, by_labels).unwrap();
        assert_eq!(judged.policies, ["phi"]);
        assert!(judged.setting("HIPAA-K8S-HA").is_none());
        assert!(scope.policy_for(&in_tools, &ctx, by_labels).is_none());
        assert!(scope.policy_for(&plain, &ctx, by_labels).is_none());
        assert!(scope.policy_for(&phi, &ctx, by_labels).is_some());
        // A namespace the context does not hold is selected by every policy, whatever asked.
        let assumed = scope.policy_for(&elsewhere, &ctx, by_labels).unwrap();
        assert_eq!(assumed.policies, ["phi"]);
        assert!(assumed.setting("HIPAA-K8S-HA").is_none());
        // A namespace the context holds but that is selected by every policy (assumed by
        // default): the policies judge it even though its labels match none of them.
        let in_tools_assumed = object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: tools2}\n",
        );
        ctx.insert_namespace(Arc::new(Namespace {
            metadata: ObjectMeta {
                name: Some("tools2".into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        }));
        let every = NamespaceSelection::ByEveryPolicy;
        assert!(scope.policy_for(&in_tools_assumed, &ctx, every).is_some());
        assert!(scope.overall().setting("HIPAA-K8S-HA").is_none());
        assert_eq!(scope.policy_names(), ["phi"]);
    }

    #[test]
    fn policy_files_are_validated_and_must_hold_policies() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yaml");
        std::fs::write(&good, PHI_POLICY).unwrap();
        assert_eq!(
            load_policy_files(std::slice::from_ref(&good), &ReadLimits::default())
                .unwrap()
                .len(),
            1
        );

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, PHI_POLICY.replace("HIPAA-K8S-HA", "HIPAA-K8S-NOPE")).unwrap();
        let err = load_policy_files(&[bad], &ReadLimits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.yaml:1: HipaaPolicy phi is invalid: spec.controls[0]: unknown control HIPAA-K8S-NOPE"), "{err}");

        let other = dir.path().join("other.yaml");
        std::fs::write(
            &other,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .unwrap();
        let err = load_policy_files(&[other], &ReadLimits::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "--policy expects hipaaguard.io/v1alpha1 HipaaPolicy objects, found v1 ConfigMap"
            ),
            "{err}"
        );
    }
}
