//! HIPAA-K8S-NETPOL: the pods are isolated by a NetworkPolicy that restricts ingress (and egress
//! when required), and creating, changing or deleting a NetworkPolicy does not leave pods open.
//!
//! A policy "restricts" a direction when its policyTypes include it (absent policyTypes mean
//! Ingress, plus Egress when egress rules exist) and none of its rules for that direction lets
//! everything in. A rule lets everything in when it names no ports and either names no peers
//! (`ingress: [{}]`) or has a peer that is everyone: a `namespaceSelector: {}` without a narrowing
//! podSelector (every pod of every namespace), or an ipBlock of `0.0.0.0/0` or `::/0` (with or
//! without `except`: carving out some ranges leaves the internet in). NetworkPolicies add up, so
//! one such open policy selecting the pods undoes every restricting one.
//!
//! Changes, judged without the pods (the webhook does not cache them):
//! - a new or changed policy that lets everything in, in a direction the control requires, fails
//!   (whichever pods it selects, they lose their isolation);
//! - a deleted or changed policy fails unless the pods it restricted stay covered: "a remaining
//!   policy that restricts the same direction selects a superset of its pods", proved from
//!   selectors alone (an empty podSelector, or one whose requirements follow from the old
//!   selector; see selector_covers). When that cannot be proved the change fails: sound, possibly
//!   strict. An update counts the new version among the remaining policies, so narrowing its
//!   selector or dropping a direction from its policyTypes fails unless another policy covers.

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::check::{Check, Subject, Verdict};
use crate::context::ClusterContext;
use crate::policy::{Parameters, selector_matches};
use crate::selector::selector_covers;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// Whether the policy's types include `direction`.
fn affects(spec: &NetworkPolicySpec, direction: Direction) -> bool {
    match spec.policy_types.as_deref() {
        Some(types) if !types.is_empty() => types.iter().any(|t| match direction {
            Direction::Ingress => t == "Ingress",
            Direction::Egress => t == "Egress",
        }),
        _ => match direction {
            Direction::Ingress => true,
            Direction::Egress => spec.egress.as_ref().is_some_and(|e| !e.is_empty()),
        },
    }
}

/// A selector that selects everything: no labels and no expressions.
fn selects_all(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|l| l.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
}

/// A CIDR with prefix length 0 (`0.0.0.0/0`, `::/0`): every address.
fn is_every_address(cidr: &str) -> bool {
    cidr.trim()
        .rsplit_once('/')
        .is_some_and(|(_, prefix)| prefix.trim().parse::<u8>().is_ok_and(|bits| bits == 0))
}

/// Why a peer admits everyone, or None when it names some peers only.
fn peer_is_everything(peer: &NetworkPolicyPeer) -> Option<String> {
    if let Some(block) = &peer.ip_block {
        return is_every_address(&block.cidr).then(|| format!("ipBlock {}", block.cidr));
    }
    let every_namespace = peer.namespace_selector.as_ref().is_some_and(selects_all);
    let every_pod = peer.pod_selector.as_ref().is_none_or(selects_all);
    (every_namespace && every_pod).then(|| "namespaceSelector: {}".to_owned())
}

/// Why a rule with these peers lets everything in, or None.
fn rule_opens_all(
    peers: Option<&Vec<NetworkPolicyPeer>>,
    ports_given: bool,
    peer_field: &str,
) -> Option<String> {
    if ports_given {
        return None;
    }
    match peers {
        None => Some(format!("no {peer_field}")),
        Some(peers) if peers.is_empty() => Some(format!("no {peer_field}")),
        Some(peers) => peers.iter().find_map(peer_is_everything),
    }
}

/// The first rule of `direction` that lets all traffic through, and why: `ingress rule 1 has
/// no from`, `ingress rule 2 has ipBlock 0.0.0.0/0`.
fn open_rule(spec: &NetworkPolicySpec, direction: Direction) -> Option<String> {
    let non_empty = |ports: Option<&Vec<_>>| ports.is_some_and(|p: &Vec<_>| !p.is_empty());
    let d = direction.as_str();
    let why = match direction {
        Direction::Ingress => spec
            .ingress
            .iter()
            .flatten()
            .enumerate()
            .find_map(|(i, r)| {
                rule_opens_all(r.from.as_ref(), non_empty(r.ports.as_ref()), "from").map(|w| (i, w))
            }),
        Direction::Egress => spec.egress.iter().flatten().enumerate().find_map(|(i, r)| {
            rule_opens_all(r.to.as_ref(), non_empty(r.ports.as_ref()), "to").map(|w| (i, w))
        }),
    };
    why.map(|(index, why)| format!("{d} rule {} has {why}", index + 1))
}

/// Whether the policy lets all traffic through in `direction` (when it affects it).
fn opens_all(spec: &NetworkPolicySpec, direction: Direction) -> bool {
    open_rule(spec, direction).is_some()
}

/// The directions the control requires restricted.
fn required(parameters: &Parameters) -> impl Iterator<Item = Direction> {
    let egress = parameters.require_egress.then_some(Direction::Egress);
    std::iter::once(Direction::Ingress).chain(egress)
}

fn restricts(spec: &NetworkPolicySpec, direction: Direction) -> bool {
    affects(spec, direction) && !opens_all(spec, direction)
}

static EMPTY_SELECTOR: LabelSelector = LabelSelector {
    match_expressions: None,
    match_labels: None,
};

fn pod_selector(spec: &NetworkPolicySpec) -> &LabelSelector {
    spec.pod_selector.as_ref().unwrap_or(&EMPTY_SELECTOR)
}

fn unknown_policies(subject: Subject<'_>, namespace: &str) -> Verdict {
    Verdict::Error(format!(
        "cannot evaluate {subject}: the NetworkPolicies of namespace {namespace} are not known"
    ))
}

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Some(template) = check.template else {
        return Verdict::NotApplicable;
    };
    let namespace = check.subject.namespace.unwrap_or("default");
    if !check.ctx.completeness.network_policies {
        return unknown_policies(check.subject, namespace);
    }
    let mut problems: Vec<String> = Vec::new();
    for direction in required(check.parameters) {
        let mut restricted = false;
        let mut selected = false;
        let mut open: Option<&str> = None;
        for np in check.ctx.network_policies(namespace) {
            let Some(spec) = np.spec.as_ref() else {
                continue;
            };
            if !selector_matches(pod_selector(spec), template.labels) {
                continue;
            }
            selected = true;
            if !affects(spec, direction) {
                continue;
            }
            if opens_all(spec, direction) {
                open = open.or(Some(np.metadata.name.as_deref().unwrap_or("")));
            } else {
                restricted = true;
            }
        }
        let d = direction.as_str();
        let subject = check.subject;
        match (open, restricted) {
            (Some(name), _) => problems.push(format!(
                "NetworkPolicy {namespace}/{name} allows all {d} to pods of {subject}"
            )),
            (None, true) => {}
            (None, false) if !selected => {
                problems.push(format!("no NetworkPolicy selects pods of {subject}"));
                break;
            }
            (None, false) => problems.push(format!(
                "no NetworkPolicy restricts {d} {} pods of {subject}",
                if direction == Direction::Ingress {
                    "to"
                } else {
                    "from"
                }
            )),
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems.join(", and "))
    }
}

/// Judges a change of a NetworkPolicy (see the module documentation): its creation (`old` None),
/// update, or deletion (`new` None). `subject` names the policy.
pub(crate) fn change(
    old: Option<&NetworkPolicy>,
    new: Option<&NetworkPolicy>,
    subject: Subject<'_>,
    ctx: &ClusterContext,
    parameters: &Parameters,
) -> Verdict {
    let namespace = subject.namespace.unwrap_or("default");
    if !ctx.completeness.network_policies {
        return unknown_policies(subject, namespace);
    }
    let verb = match (old, new) {
        (None, _) => "creating",
        (Some(_), Some(_)) => "updating",
        (Some(_), None) => "deleting",
    };
    let mut problems = Vec::new();
    if let Some(spec) = new.and_then(|np| np.spec.as_ref()) {
        for direction in required(parameters) {
            if !affects(spec, direction) {
                continue;
            }
            if let Some(why) = open_rule(spec, direction) {
                problems.push(format!(
                    "{verb} {subject} lets all {} reach the pods it selects ({why})",
                    direction.as_str()
                ));
            }
        }
    }
    if let Some(old) = old {
        let lost = lost_directions(old, new, namespace, ctx, parameters);
        if !lost.is_empty() {
            problems.push(format!(
                "{verb} {subject} leaves the pods it selects without a NetworkPolicy that restricts {}",
                lost.join(" and ")
            ));
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems.join(", and "))
    }
}

/// The required directions `old` restricted that no remaining policy (`replacement` among them)
/// provably restricts for the same pods.
fn lost_directions(
    old: &NetworkPolicy,
    replacement: Option<&NetworkPolicy>,
    namespace: &str,
    ctx: &ClusterContext,
    parameters: &Parameters,
) -> Vec<&'static str> {
    let Some(spec) = old.spec.as_ref() else {
        return Vec::new();
    };
    let replacement = replacement.and_then(|r| r.spec.as_ref());
    let remaining = || {
        ctx.network_policies(namespace)
            .iter()
            .filter(|other| other.metadata.name != old.metadata.name)
            .filter_map(|other| other.spec.as_ref())
            .chain(replacement)
    };
    required(parameters)
        .filter(|direction| restricts(spec, *direction))
        .filter(|direction| {
            !remaining().any(|other| {
                restricts(other, *direction)
                    && selector_covers(pod_selector(other), pod_selector(spec))
            })
        })
        .map(Direction::as_str)
        .collect()
}
