//! The ValidatingWebhookConfiguration the operator registers, as a plain function of the kind
//! table's admission rows, the HipaaPolicies' namespace selectors and the registration settings.
//!
//! Why one webhook entry per policy: the API server then sends a request only when it concerns a
//! namespace some policy governs, so a webhook outage can block nothing else (kube-system, the
//! release namespace and every ungoverned namespace keep working), and a namespace that enters a
//! policy's scope is judged at once, with no label for anyone to maintain. Namespaces themselves
//! are matched with an `objectSelector`, which the API server evaluates against the old and the
//! new object: a label change that takes a namespace out of scope still reaches the webhook (a
//! `namespaceSelector` on a Namespace only sees its new labels).

use std::collections::BTreeMap;

use hipaa_controls::object::{KINDS, KindInfo};
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, RuleWithOperations, ServiceReference, ValidatingWebhook,
    ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
};

/// The label with which a cluster administrator takes one namespace out of admission (the
/// emergency exit for a namespace). The chart's ValidatingAdmissionPolicy lets only subjects
/// allowed to `create` `admissionexemptions.hipaaguard.io` set or remove it.
pub const EXEMPT_LABEL: &str = "hipaaguard.io/admission-exempt";
/// The label the API server puts on every namespace: its name.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// Suffix of every webhook entry's name (entry names must be fully qualified).
pub const ENTRY_DOMAIN: &str = "validate.hipaaguard.io";
/// The identities kube-controller-manager's ClusterRole aggregation controller writes as (its own
/// ServiceAccount with `--use-service-account-credentials`, as on EKS; the manager's identity
/// otherwise). Their ClusterRole writes are not sent: the access model aggregates labelled
/// ClusterRoles itself, so what such a write stores was judged when the labelled ClusterRole
/// changed, and a webhook outage must not stall aggregation.
pub const AGGREGATION_WRITERS: [&str; 2] = [
    "system:serviceaccount:kube-system:clusterrole-aggregation-controller",
    "system:kube-controller-manager",
];
/// The longest name the API server accepts for a webhook entry.
const MAX_ENTRY_NAME: usize = 253;

/// Where the API server calls the webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientTarget {
    /// An in-cluster Service (the chart's webhook Service).
    Service {
        namespace: String,
        name: String,
        port: i32,
        path: String,
    },
    /// An https URL, for a webhook served outside the cluster (the local demo).
    Url(String),
}

/// What the API server does when the webhook cannot answer a request of a governed namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

impl FailurePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Fail => "Fail",
            FailurePolicy::Ignore => "Ignore",
        }
    }
}

/// The settings of the registered configuration (from the operator's flags).
#[derive(Clone, Debug)]
pub struct Registration {
    /// The ValidatingWebhookConfiguration's name.
    pub name: String,
    pub client: ClientTarget,
    /// For the entries of policies that enforce something; the others always Ignore.
    pub failure_policy: FailurePolicy,
    pub timeout_seconds: i32,
    /// Never judged: kube-system, the release namespace and any configured ones.
    pub excluded_namespaces: Vec<String>,
    /// Labels of the configuration (e.g. the chart's release labels).
    pub labels: BTreeMap<String, String>,
}

/// One HipaaPolicy as registration needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Governing {
    pub name: String,
    pub selector: LabelSelector,
    /// Whether any of its controls is in Enforce: only then may an outage refuse requests
    /// (`failurePolicy` of the settings); a Warn or Audit policy never blocks anything.
    pub enforces: bool,
}

/// The configuration for `policies`, trusting `ca_bundle` (PEM), owned by `owner` (the chart's
/// ClusterRole, so that `helm uninstall` takes the configuration with it).
pub fn webhook_configuration(
    registration: &Registration,
    policies: &[Governing],
    ca_bundle: &str,
    owner: Option<OwnerReference>,
) -> ValidatingWebhookConfiguration {
    let client = client_config(&registration.client, ca_bundle);
    let mut webhooks = Vec::with_capacity(policies.len() * 2 + 1);
    let mut sorted: Vec<&Governing> = policies.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let exclusions = exclusions(&registration.excluded_namespaces);
    let namespaced = rules(|info| info.namespaced);
    let namespaces = rules(|info| info.kind == "Namespace");
    for policy in sorted {
        let failure_policy = if policy.enforces {
            registration.failure_policy
        } else {
            FailurePolicy::Ignore
        };
        let entry = |kind: &str, rules: &[RuleWithOperations]| ValidatingWebhook {
            name: entry_name(&policy.name, kind),
            admission_review_versions: vec!["v1".to_owned()],
            side_effects: "None".to_owned(),
            failure_policy: Some(failure_policy.as_str().to_owned()),
            match_policy: Some("Equivalent".to_owned()),
            timeout_seconds: Some(registration.timeout_seconds),
            client_config: client.clone(),
            rules: Some(rules.to_vec()),
            ..ValidatingWebhook::default()
        };
        if !namespaced.is_empty() {
            webhooks.push(ValidatingWebhook {
                namespace_selector: Some(and(&policy.selector, &exclusions)),
                ..entry("objects", &namespaced)
            });
        }
        if !namespaces.is_empty() {
            webhooks.push(ValidatingWebhook {
                object_selector: Some(policy.selector.clone()),
                namespace_selector: Some(and(&LabelSelector::default(), &exclusions)),
                ..entry("namespaces", &namespaces)
            });
        }
    }
    // ClusterRoles and ClusterRoleBindings can grant in every governed namespace: sent whenever a
    // policy governs some namespace, and fail-open, since an entry without a namespace to scope it
    // would otherwise let an outage block every cluster-wide RBAC write (other charts' installs,
    // this chart's own upgrade, kube-system's controllers); what gets in meanwhile is reported by
    // the operator's audit of each governed namespace (docs/access.md, "At admission").
    let cluster_rbac = rules(|info| !info.namespaced && info.is_rbac());
    if !cluster_rbac.is_empty() && !policies.is_empty() {
        webhooks.push(ValidatingWebhook {
            name: format!("rbac.{ENTRY_DOMAIN}"),
            admission_review_versions: vec!["v1".to_owned()],
            side_effects: "None".to_owned(),
            failure_policy: Some(FailurePolicy::Ignore.as_str().to_owned()),
            match_policy: Some("Equivalent".to_owned()),
            match_conditions: Some(vec![not_aggregation()]),
            timeout_seconds: Some(registration.timeout_seconds),
            client_config: client.clone(),
            rules: Some(cluster_rbac),
            ..ValidatingWebhook::default()
        });
    }
    // Cluster-scoped kinds other than Namespace and RBAC (HipaaPolicies): always sent, and
    // fail-open, so that an outage never blocks editing a policy (switching it to Audit is one
    // way out); the operator reports an invalid policy that got in meanwhile (Ready=False).
    let cluster = rules(|info| !info.namespaced && info.kind != "Namespace" && !info.is_rbac());
    if !cluster.is_empty() {
        webhooks.push(ValidatingWebhook {
            name: format!("cluster.{ENTRY_DOMAIN}"),
            admission_review_versions: vec!["v1".to_owned()],
            side_effects: "None".to_owned(),
            failure_policy: Some(FailurePolicy::Ignore.as_str().to_owned()),
            match_policy: Some("Equivalent".to_owned()),
            timeout_seconds: Some(registration.timeout_seconds),
            client_config: client,
            rules: Some(cluster),
            ..ValidatingWebhook::default()
        });
    }
    ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(registration.name.clone()),
            labels: (!registration.labels.is_empty()).then(|| registration.labels.clone()),
            owner_references: owner.map(|owner| vec![owner]),
            ..ObjectMeta::default()
        },
        webhooks: Some(webhooks),
    }
}

/// The rules for the kind-table rows that `select` picks and that are judged on admission: each
/// row's group, every version read, the resource and its judged subresources, the judged
/// operations; rows that agree on all but the resource share one rule.
pub fn rules(select: impl Fn(&KindInfo) -> bool) -> Vec<RuleWithOperations> {
    let mut out: Vec<RuleWithOperations> = Vec::new();
    for info in KINDS
        .iter()
        .filter(|info| !info.admission.operations.is_empty() && select(info))
    {
        let resources = std::iter::once(info.plural.to_owned()).chain(
            info.admission
                .subresources
                .iter()
                .map(|sub| format!("{}/{sub}", info.plural)),
        );
        let rule = RuleWithOperations {
            api_groups: Some(vec![info.group().to_owned()]),
            api_versions: Some(info.versions().map(str::to_owned).collect()),
            operations: Some(
                info.admission
                    .operations
                    .iter()
                    .map(|op| op.as_str().to_owned())
                    .collect(),
            ),
            resources: None,
            scope: Some(
                if info.namespaced {
                    "Namespaced"
                } else {
                    "Cluster"
                }
                .to_owned(),
            ),
        };
        let shared = out.iter_mut().find(|r| {
            r.api_groups == rule.api_groups
                && r.api_versions == rule.api_versions
                && r.operations == rule.operations
                && r.scope == rule.scope
        });
        match shared {
            Some(shared) => shared
                .resources
                .get_or_insert_with(Vec::new)
                .extend(resources),
            None => out.push(RuleWithOperations {
                resources: Some(resources.collect()),
                ..rule
            }),
        }
    }
    out
}

/// The condition that leaves out the aggregation controller's ClusterRole writes
/// ([`AGGREGATION_WRITERS`]); a ClusterRoleBinding is sent whoever writes it.
fn not_aggregation() -> MatchCondition {
    let writers: Vec<String> = AGGREGATION_WRITERS
        .iter()
        .map(|writer| format!("'{writer}'"))
        .collect();
    MatchCondition {
        name: "not-clusterrole-aggregation".to_owned(),
        expression: format!(
            "!(request.resource.resource == 'clusterroles' && request.userInfo.username in [{}])",
            writers.join(", ")
        ),
    }
}

fn client_config(target: &ClientTarget, ca_bundle: &str) -> WebhookClientConfig {
    let ca_bundle = (!ca_bundle.is_empty()).then(|| ByteString(ca_bundle.as_bytes().to_vec()));
    match target {
        ClientTarget::Service {
            namespace,
            name,
            port,
            path,
        } => WebhookClientConfig {
            ca_bundle,
            service: Some(ServiceReference {
                namespace: namespace.clone(),
                name: name.clone(),
                path: Some(path.clone()),
                port: Some(*port),
            }),
            url: None,
        },
        ClientTarget::Url(url) => WebhookClientConfig {
            ca_bundle,
            service: None,
            url: Some(url.clone()),
        },
    }
}

/// The requirements every entry adds: not an excluded namespace, not an exempted one.
fn exclusions(excluded: &[String]) -> Vec<LabelSelectorRequirement> {
    let mut names: Vec<String> = excluded.iter().filter(|n| !n.is_empty()).cloned().collect();
    names.sort();
    names.dedup();
    let mut out = Vec::with_capacity(2);
    if !names.is_empty() {
        out.push(LabelSelectorRequirement {
            key: NAME_LABEL.to_owned(),
            operator: "NotIn".to_owned(),
            values: Some(names),
        });
    }
    out.push(LabelSelectorRequirement {
        key: EXEMPT_LABEL.to_owned(),
        operator: "DoesNotExist".to_owned(),
        values: None,
    });
    out
}

/// `selector` with `more` requirements (a label selector's requirements all hold at once).
fn and(selector: &LabelSelector, more: &[LabelSelectorRequirement]) -> LabelSelector {
    let mut expressions = selector.match_expressions.clone().unwrap_or_default();
    expressions.extend_from_slice(more);
    LabelSelector {
        match_labels: selector.match_labels.clone(),
        match_expressions: Some(expressions),
    }
}

/// `<policy>.<kind>.validate.hipaaguard.io`, or a hashed name for a policy whose name would make
/// it too long (the names must stay unique and stable across passes).
fn entry_name(policy: &str, kind: &str) -> String {
    let name = format!("{policy}.{kind}.{ENTRY_DOMAIN}");
    if name.len() <= MAX_ENTRY_NAME {
        return name;
    }
    let hash = policy.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let keep = MAX_ENTRY_NAME - kind.len() - ENTRY_DOMAIN.len() - 20;
    let prefix: String = policy.chars().take(keep).collect();
    format!(
        "{}-{hash:016x}.{kind}.{ENTRY_DOMAIN}",
        prefix.trim_end_matches(['.', '-'])
    )
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
