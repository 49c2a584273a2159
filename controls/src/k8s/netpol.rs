//! HIPAA-K8S-NETPOL: the pods are isolated by a NetworkPolicy that restricts ingress (and egress
//! when required), and deleting a NetworkPolicy does not leave pods it isolated open.
//!
//! A policy "restricts" a direction when its policyTypes include it (absent policyTypes mean
//! Ingress, plus Egress when egress rules exist) and none of its rules for that direction lets
//! everything in: a rule with no peers and no ports, or whose only peers are 0.0.0.0/0 or ::/0
//! without exceptions and no ports. NetworkPolicies add up, so one such open policy selecting the
//! pods undoes every restricting one.
//!
//! Deletion: without the pods, the rule is "still covered if a remaining policy that restricts
//! the same direction selects a superset of the deleted one's pods", proved from selectors alone
//! (an empty podSelector, or one whose requirements follow from the deleted selector; see
//! selector_covers). When that cannot be proved the deletion fails: sound, possibly strict. An
//! update is judged as the deletion of the old policy with the new one among the remaining.

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

fn peer_is_everything(peer: &NetworkPolicyPeer) -> bool {
    peer.pod_selector.is_none()
        && peer.namespace_selector.is_none()
        && peer.ip_block.as_ref().is_some_and(|b| {
            (b.cidr == "0.0.0.0/0" || b.cidr == "::/0")
                && b.except.as_ref().is_none_or(Vec::is_empty)
        })
}

fn rule_opens_all(peers: Option<&Vec<NetworkPolicyPeer>>, ports_given: bool) -> bool {
    !ports_given && peers.is_none_or(|p| p.is_empty() || p.iter().any(peer_is_everything))
}

/// Whether the policy affects `direction` but lets all traffic through in that direction.
fn opens_all(spec: &NetworkPolicySpec, direction: Direction) -> bool {
    let non_empty = |ports: Option<&Vec<_>>| ports.is_some_and(|p: &Vec<_>| !p.is_empty());
    match direction {
        Direction::Ingress => spec
            .ingress
            .iter()
            .flatten()
            .any(|r| rule_opens_all(r.from.as_ref(), non_empty(r.ports.as_ref()))),
        Direction::Egress => spec
            .egress
            .iter()
            .flatten()
            .any(|r| rule_opens_all(r.to.as_ref(), non_empty(r.ports.as_ref()))),
    }
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
    let mut directions = [Some(Direction::Ingress), None];
    if check.parameters.require_egress {
        directions[1] = Some(Direction::Egress);
    }
    let mut problems: Vec<String> = Vec::new();
    for direction in directions.into_iter().flatten() {
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

/// Judges the deletion of `np`, or its replacement by `replacement` on an update (see the module
/// documentation): the replacement counts as one of the remaining policies.
pub(crate) fn deletion(
    np: &NetworkPolicy,
    replacement: Option<&NetworkPolicy>,
    subject: Subject<'_>,
    ctx: &ClusterContext,
    parameters: &Parameters,
) -> Verdict {
    let namespace = subject.namespace.unwrap_or("default");
    if !ctx.completeness.network_policies {
        return unknown_policies(subject, namespace);
    }
    let Some(spec) = np.spec.as_ref() else {
        return Verdict::Pass;
    };
    let replacement = replacement.and_then(|r| r.spec.as_ref());
    let remaining = || {
        ctx.network_policies(namespace)
            .iter()
            .filter(|other| other.metadata.name != np.metadata.name)
            .filter_map(|other| other.spec.as_ref())
            .chain(replacement)
    };
    let mut lost = Vec::new();
    for direction in [Direction::Ingress, Direction::Egress] {
        if direction == Direction::Egress && !parameters.require_egress {
            continue;
        }
        if !restricts(spec, direction) {
            continue;
        }
        let still_covered = remaining().any(|other| {
            restricts(other, direction) && selector_covers(pod_selector(other), pod_selector(spec))
        });
        if !still_covered {
            lost.push(direction.as_str());
        }
    }
    if lost.is_empty() {
        Verdict::Pass
    } else {
        let verb = if replacement.is_some() {
            "updating"
        } else {
            "deleting"
        };
        Verdict::Fail(format!(
            "{verb} {subject} leaves the pods it selects without a NetworkPolicy that restricts {}",
            lost.join(" and ")
        ))
    }
}
