//! HIPAA-K8S-TLS-LB: a LoadBalancer Service terminates TLS on every port with TLS 1.2 or later.
//! Without a negotiation policy the load balancer gets the AWS default, ELBSecurityPolicy-2016-08,
//! which still negotiates TLS 1.0 and 1.1: only a named TLS 1.2+ policy passes.

use crate::check::{Check, Verdict};
use crate::k8s::{label, verdict_from};
use crate::object::Object;

const SSL_CERT: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert";
const SSL_PORTS: &str = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports";
const NEGOTIATION_POLICY: &str =
    "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy";
/// What AWS applies to a TLS listener created without a policy.
const AWS_DEFAULT_POLICY: &str = "ELBSecurityPolicy-2016-08";

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Object::Service(service) = check.object else {
        return Verdict::NotApplicable;
    };
    let Some(spec) = service.spec.as_ref() else {
        return Verdict::NotApplicable;
    };
    if spec.type_.as_deref() != Some("LoadBalancer") {
        return Verdict::NotApplicable;
    }
    let annotations = service.metadata.annotations.as_ref();
    if label(annotations, SSL_CERT).is_none_or(|v| v.trim().is_empty()) {
        return verdict_from(check.subject, vec![format!("has no {SSL_CERT} annotation")]);
    }
    let mut problems = Vec::new();
    if let Some(listed) = label(annotations, SSL_PORTS)
        .map(str::trim)
        .filter(|v| *v != "*")
    {
        let entries: Vec<&str> = listed.split(',').map(str::trim).collect();
        for port in spec.ports.iter().flatten() {
            let by_name = port.name.as_deref().is_some_and(|n| entries.contains(&n));
            let by_number = entries
                .iter()
                .any(|e| e.parse::<i32>().ok() == Some(port.port));
            if !(by_name || by_number) {
                problems.push(format!("port {} is not in {SSL_PORTS}", port.port));
            }
        }
    }
    match label(annotations, NEGOTIATION_POLICY).filter(|p| !p.trim().is_empty()) {
        Some(policy) if tls12_or_later(policy) => {}
        Some(policy) => problems.push(weak_policy_problem(policy)),
        None => problems.push(format!(
            "has no {NEGOTIATION_POLICY} annotation, so it gets the AWS default {AWS_DEFAULT_POLICY}, which allows TLS 1.0; set a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06"
        )),
    }
    verdict_from(check.subject, problems)
}

/// The problem of a negotiation policy that is not TLS 1.2+. The annotation's value is quoted
/// only when it has the shape of an AWS predefined policy name: anything else may be a value
/// that must not leave in a message (an annotation value can hold anything).
fn weak_policy_problem(policy: &str) -> String {
    if is_predefined_policy_name(policy) {
        format!("negotiation policy {policy} allows TLS older than 1.2")
    } else {
        format!("the policy in {NEGOTIATION_POLICY} is not an AWS predefined TLS 1.2+ policy")
    }
}

/// `ELBSecurityPolicy-` then letters, digits and dashes (`ELBSecurityPolicy-2016-08`).
fn is_predefined_policy_name(policy: &str) -> bool {
    const PREFIX: &str = "ELBSecurityPolicy-";
    const LONGEST: usize = 64;
    policy.len() <= LONGEST
        && policy.strip_prefix(PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether an ELB security policy name only negotiates TLS 1.2 or later
/// (`ELBSecurityPolicy-TLS-1-2-2017-01`, `ELBSecurityPolicy-TLS13-1-2-2021-06`,
/// `ELBSecurityPolicy-FS-1-2-Res-2020-10`, ...).
pub(crate) fn tls12_or_later(policy: &str) -> bool {
    ["-TLS-1-2-", "-TLS13-1-2-", "-TLS13-1-3-", "-FS-1-2-"]
        .iter()
        .any(|marker| policy.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_predefined_policy_is_named_and_any_other_value_is_not_quoted() {
        assert_eq!(
            weak_policy_problem("ELBSecurityPolicy-2016-08"),
            "negotiation policy ELBSecurityPolicy-2016-08 allows TLS older than 1.2"
        );
        for value in [
            "patient-ssn-078-05-1120",
            "ELBSecurityPolicy-",
            "ELBSecurityPolicy-2016 08 jane doe",
            "ELBSecurityPolicy-ABCDEFGHIJKLMNOPQRSTUVWXYZ-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789",
        ] {
            let problem = weak_policy_problem(value);
            assert!(!problem.contains(value), "{problem}");
            assert!(problem.contains(NEGOTIATION_POLICY), "{problem}");
        }
    }
}
