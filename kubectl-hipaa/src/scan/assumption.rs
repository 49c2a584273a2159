//! What a scan takes a namespace to be when neither its inputs nor the cluster hold it, the
//! assumption it judges the namespace's objects under (their controls read the assumed labels,
//! the policies select it as the assumption says), and the sentence that states it once.
//! See docs/scan.md for the rules and their reasons.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hipaa_controls::{ClusterContext, ENVIRONMENT_LABEL, Object, PHI_LABEL};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::policies::{NamespaceSelection, PolicyScope};
use crate::labels::NamespaceLabels;

/// The labels of the default assumption: the namespace where the most controls apply (HA and
/// TLS-WORKLOAD at the workload, PHI scope), with no mesh injection label to pass TLS-WORKLOAD.
pub const STRICTEST_LABELS: [(&str, &str); 2] =
    [(ENVIRONMENT_LABEL, "production"), (PHI_LABEL, "true")];

/// What a scan takes a namespace to be when neither the inputs nor the cluster hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceAssumption {
    /// Nothing (`--no-assume-namespace`): the checks that need its labels report Error; every
    /// policy selects it.
    Nothing,
    /// `--cluster`: a namespace neither the inputs nor the cluster hold does not exist yet; the
    /// context is complete, so it has no labels, and every policy selects it.
    AbsentFromCluster,
    /// The default: [`STRICTEST_LABELS`], and every policy selects it.
    Strictest,
    /// `--assume-namespace-labels`: exactly these labels (they replace the default, so that a
    /// namespace can be said not to be production), matched by the policies' selectors too.
    Labels(BTreeMap<String, String>),
}

impl NamespaceAssumption {
    /// The assumption the flags ask for; `--cluster` knows every namespace that exists.
    pub fn from_flags(given: Option<&NamespaceLabels>, no_assume: bool, cluster: bool) -> Self {
        match (given, no_assume, cluster) {
            (_, _, true) => NamespaceAssumption::AbsentFromCluster,
            (_, true, false) => NamespaceAssumption::Nothing,
            (Some(labels), false, false) => NamespaceAssumption::Labels(labels.0.clone()),
            (None, false, false) => NamespaceAssumption::Strictest,
        }
    }

    /// The labels an assumed namespace carries; None when nothing is assumed.
    pub fn labels(&self) -> Option<BTreeMap<String, String>> {
        match self {
            NamespaceAssumption::Nothing | NamespaceAssumption::AbsentFromCluster => None,
            NamespaceAssumption::Strictest => Some(
                STRICTEST_LABELS
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            NamespaceAssumption::Labels(labels) => Some(labels.clone()),
        }
    }

    /// How the policies select an assumed namespace.
    pub fn selection(&self) -> NamespaceSelection {
        match self {
            NamespaceAssumption::Labels(_) => NamespaceSelection::ByLabels,
            _ => NamespaceSelection::ByEveryPolicy,
        }
    }
}

/// The namespaces a scan judged under its [`NamespaceAssumption`], as the summary states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumedNamespaces {
    /// `namespaceLabels`: what was assumed (one kind of assumption today).
    pub about: &'static str,
    /// The namespaces not among the inputs whose objects were judged under the assumption.
    pub namespaces: BTreeSet<String>,
    /// The labels they were taken to carry; None when nothing was assumed of them.
    pub labels: Option<BTreeMap<String, String>>,
    /// Whether every policy was taken to select them (else their selectors matched `labels`).
    pub selected_by_every_policy: bool,
    /// Where the assumption comes from.
    pub source: AssumptionSource,
}

/// Where an assumption comes from (in JSON: `default`, `--assume-namespace-labels`,
/// `--no-assume-namespace`, `--cluster`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AssumptionSource {
    #[serde(rename = "default")]
    Default,
    #[serde(rename = "--assume-namespace-labels")]
    Given,
    #[serde(rename = "--no-assume-namespace")]
    Nothing,
    #[serde(rename = "--cluster")]
    Cluster,
}

/// Makes the namespaces that the inputs do not hold known to the context under the assumption,
/// as the objects in them are judged, and remembers them for the summary.
#[derive(Debug)]
pub struct NamespaceAssumer {
    assumption: NamespaceAssumption,
    labels: Option<BTreeMap<String, String>>,
    assumed: BTreeSet<String>,
}

impl NamespaceAssumer {
    pub fn new(assumption: NamespaceAssumption) -> Self {
        let labels = assumption.labels();
        NamespaceAssumer {
            assumption,
            labels,
            assumed: BTreeSet::new(),
        }
    }

    /// How the policies select namespace `name`: by its labels when the context holds it (the
    /// inputs', the cluster's, or one assumed here), else as the assumption says. A namespace
    /// the context lacks is added with the assumed labels, once.
    pub fn cover(&mut self, name: &str, ctx: &mut ClusterContext) -> NamespaceSelection {
        if self.assumed.contains(name) {
            return self.assumption.selection();
        }
        if ctx.namespace(name).is_some() {
            return NamespaceSelection::ByLabels;
        }
        self.assumed.insert(name.to_string());
        if let Some(labels) = &self.labels {
            ctx.insert_namespace(Arc::new(assumed_namespace(name, labels)));
        }
        self.assumption.selection()
    }

    /// How the policies select the namespace whose policy judges `object`, covering it first.
    /// A cluster-scoped object's policy is its "default" namespace's, so that namespace is
    /// covered only when policies are given (`has_policies`); its controls read no namespace
    /// labels.
    pub fn select(
        &mut self,
        object: &Object,
        has_policies: bool,
        ctx: &mut ClusterContext,
    ) -> NamespaceSelection {
        let namespaced = object.namespace().is_some() || has_policies;
        match PolicyScope::scope_namespace(object) {
            Some(namespace) if namespaced => self.cover(namespace, ctx),
            _ => NamespaceSelection::ByLabels,
        }
    }

    /// What was assumed, for the summary; None when every namespace was known, or when nothing
    /// was assumed and no policy selection depended on it (`policies_given` false).
    pub fn summary(&self, policies_given: bool) -> Option<AssumedNamespaces> {
        if self.assumed.is_empty() {
            return None;
        }
        let source = match self.assumption {
            NamespaceAssumption::Nothing | NamespaceAssumption::AbsentFromCluster
                if !policies_given =>
            {
                return None;
            }
            NamespaceAssumption::Nothing => AssumptionSource::Nothing,
            NamespaceAssumption::AbsentFromCluster => AssumptionSource::Cluster,
            NamespaceAssumption::Strictest => AssumptionSource::Default,
            NamespaceAssumption::Labels(_) => AssumptionSource::Given,
        };
        Some(AssumedNamespaces {
            about: "namespaceLabels",
            namespaces: self.assumed.clone(),
            labels: self.labels.clone(),
            selected_by_every_policy: self.assumption.selection()
                == NamespaceSelection::ByEveryPolicy,
            source,
        })
    }
}

impl AssumedNamespaces {
    /// The note that states the assumption once.
    pub fn sentence(&self) -> String {
        let names: Vec<&str> = self.namespaces.iter().map(String::as_str).collect();
        let one = names.len() == 1;
        let (noun, verb, its, manifests) = if one {
            ("namespace", "is", "its", "manifest")
        } else {
            ("namespaces", "are", "their", "manifests")
        };
        let (them, they) = if one { ("it", "it") } else { ("them", "they") };
        let how = match (&self.labels, self.source) {
            (Some(labels), AssumptionSource::Default) => format!(
                "judged as {}PHI production {noun} without mesh injection ({}) that every policy selects, the strictest case",
                if one { "a " } else { "" },
                label_list(labels)
            ),
            (Some(labels), _) => format!(
                "judged as carrying {} (--assume-namespace-labels), which the policies' namespaceSelectors were matched against",
                if labels.is_empty() {
                    "no labels".to_string()
                } else {
                    format!("the labels {}", label_list(labels))
                }
            ),
            (None, AssumptionSource::Cluster) => {
                format!("judged as if every policy selected {them}, with no labels")
            }
            (None, _) => format!(
                "judged as if every policy selected {them}, and the checks that need {its} labels could not be evaluated (--no-assume-namespace)"
            ),
        };
        let advice = match self.source {
            AssumptionSource::Default => format!(
                "Add {its} Namespace {manifests} or use --cluster to judge {them} as {they} {verb}, or state {its} labels with --assume-namespace-labels"
            ),
            AssumptionSource::Cluster => {
                format!("Add {its} Namespace {manifests} to judge {them} as {they} will be")
            }
            _ => format!(
                "Add {its} Namespace {manifests} or use --cluster to judge {them} as {they} {verb}"
            ),
        };
        let place = if self.source == AssumptionSource::Cluster {
            "neither among the inputs nor in the cluster"
        } else {
            "not among the inputs"
        };
        format!(
            "{noun} {} {verb} {place}: {how}. {advice}.",
            names.join(", ")
        )
    }
}

/// `k=v, k=v`.
fn label_list(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(", ")
}

/// A Namespace named `name` with `labels`, standing for one the inputs do not hold.
fn assumed_namespace(name: &str, labels: &BTreeMap<String, String>) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::scan::context::build_context;
    use crate::scan::manifests::Manifests;

    fn namespace(name: &str, env: &str) -> Arc<Namespace> {
        let labels = BTreeMap::from([(ENVIRONMENT_LABEL.to_string(), env.to_string())]);
        Arc::new(assumed_namespace(name, &labels))
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_flags_choose_the_assumption_and_the_cluster_assumes_nothing() {
        let given = NamespaceLabels(labels(&[("team", "billing")]));
        let from = NamespaceAssumption::from_flags;
        assert_eq!(from(None, false, false), NamespaceAssumption::Strictest);
        assert_eq!(
            from(Some(&given), false, false),
            NamespaceAssumption::Labels(given.0.clone())
        );
        assert_eq!(
            from(Some(&NamespaceLabels::default()), false, false),
            NamespaceAssumption::Labels(BTreeMap::new())
        );
        assert_eq!(from(None, true, false), NamespaceAssumption::Nothing);
        assert_eq!(
            from(Some(&given), false, true),
            NamespaceAssumption::AbsentFromCluster
        );
        assert_eq!(
            NamespaceAssumption::Strictest.labels(),
            Some(labels(&[
                ("hipaaguard.io/environment", "production"),
                ("hipaaguard.io/phi", "true")
            ]))
        );
    }

    #[test]
    fn by_default_an_unknown_namespace_is_a_phi_production_one_every_policy_selects() {
        let mut manifests = Manifests::default();
        manifests
            .context
            .namespaces
            .push(namespace("dev", "development"));
        let mut ctx = build_context(&manifests, None);
        let mut assumer = NamespaceAssumer::new(NamespaceAssumption::Strictest);
        // A namespace among the inputs is judged on its own labels and not assumed.
        assert_eq!(assumer.cover("dev", &mut ctx), NamespaceSelection::ByLabels);
        assert_eq!(assumer.summary(true), None);
        for _ in 0..3 {
            assert_eq!(
                assumer.cover("shop", &mut ctx),
                NamespaceSelection::ByEveryPolicy
            );
        }
        let shop = ctx.namespace("shop").unwrap();
        assert_eq!(
            shop.metadata.labels.as_ref(),
            NamespaceAssumption::Strictest.labels().as_ref()
        );
        assert!(ctx.namespace("dev").is_some());
        let summary = assumer.summary(false).unwrap();
        assert_eq!(summary.namespaces, BTreeSet::from(["shop".to_string()]));
        assert!(summary.selected_by_every_policy);
        assert_eq!(summary.source, AssumptionSource::Default);
        let sentence = summary.sentence();
        assert!(
            sentence.starts_with("namespace shop is not among the inputs: judged as a PHI production namespace without mesh injection (hipaaguard.io/environment=production, hipaaguard.io/phi=true) that every policy selects"),
            "{sentence}"
        );
        assert!(sentence.contains("--assume-namespace-labels"), "{sentence}");
    }

    #[test]
    fn given_labels_replace_the_default_and_select_policies_by_labels() {
        let mut ctx = build_context(&Manifests::default(), None);
        let mut assumer = NamespaceAssumer::new(NamespaceAssumption::Labels(BTreeMap::new()));
        assert_eq!(assumer.cover("a", &mut ctx), NamespaceSelection::ByLabels);
        assert_eq!(assumer.cover("b", &mut ctx), NamespaceSelection::ByLabels);
        assert_eq!(
            ctx.namespace("a").unwrap().metadata.labels,
            Some(BTreeMap::new())
        );
        let summary = assumer.summary(false).unwrap();
        assert!(!summary.selected_by_every_policy);
        assert_eq!(summary.source, AssumptionSource::Given);
        assert!(
            summary.sentence().starts_with(
                "namespaces a, b are not among the inputs: judged as carrying no labels"
            ),
            "{}",
            summary.sentence()
        );
    }

    #[test]
    fn assuming_nothing_leaves_the_namespace_unknown_and_is_said_only_with_policies() {
        let mut ctx = build_context(&Manifests::default(), None);
        let mut assumer = NamespaceAssumer::new(NamespaceAssumption::Nothing);
        assert_eq!(
            assumer.cover("shop", &mut ctx),
            NamespaceSelection::ByEveryPolicy
        );
        assert!(ctx.namespace("shop").is_none());
        assert_eq!(assumer.summary(false), None);
        let summary = assumer.summary(true).unwrap();
        assert_eq!(summary.labels, None);
        assert!(
            summary
                .sentence()
                .contains("as if every policy selected it")
        );
    }
}
