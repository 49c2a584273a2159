//! HIPAA-ALB-TLS over the Application Load Balancers in front of in-scope Ingresses (every
//! listener TLS 1.2+, HTTP only redirecting to HTTPS) and HIPAA-EFS-ENCRYPTION over the EFS file
//! systems behind in-scope volumes.

use chrono::{DateTime, Utc};

use crate::catalog::ids;
use crate::k8s::tls_lb::tls12_or_later;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::edge::{EfsFileSystem, Listener, LoadBalancer};
use super::judge::{Judge, Verdict};
use super::{KIND_ALB, KIND_EFS_FILE_SYSTEM, LookedUp};

pub(crate) fn evaluate_load_balancer<'a>(
    looked_up: &LookedUp<LoadBalancer>,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let balancer = match &looked_up.result {
        Ok(balancer) => balancer,
        Err(error) => {
            let resource = ResourceRef::new(KIND_ALB, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("load balancer {}", looked_up.requested);
            judge.lookup_failed(&[ids::ALB_TLS], &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_ALB, None, balancer.name.clone());
    let mut judge = Judge::new(policy, now, resource)
        .also_named(std::iter::once(balancer.arn.clone()).chain(balancer.dns_name.clone()));
    judge.judge(ids::ALB_TLS, |_| listeners_tls(balancer));
    judge
}

/// HIPAA-ALB-TLS: every listener HTTPS/TLS with a TLS 1.2+ policy, or HTTP that only redirects.
fn listeners_tls(balancer: &LoadBalancer) -> Verdict {
    let name = &balancer.name;
    let listeners = match &balancer.listeners {
        Ok(listeners) => listeners,
        Err(error) => {
            return Verdict::Error(format!(
                "cannot evaluate load balancer {name}: its listeners: {error}"
            ));
        }
    };
    let problems: Vec<String> = listeners.iter().filter_map(listener_problem).collect();
    if problems.is_empty() {
        return Verdict::Pass;
    }
    Verdict::Fail(format!("load balancer {name}: {}", problems.join("; ")))
}

/// What is wrong with one listener, with its fix.
fn listener_problem(listener: &Listener) -> Option<String> {
    let port = listener.port;
    let protocol = listener.protocol.to_ascii_uppercase();
    match protocol.as_str() {
        "HTTPS" | "TLS" => match listener.ssl_policy.as_deref() {
            Some(policy) if tls12_or_later(policy) => None,
            Some(policy) => Some(format!(
                "{protocol} listener on port {port} uses security policy {policy}, which allows TLS older than 1.2 (use a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06)"
            )),
            None => Some(format!(
                "{protocol} listener on port {port} reports no security policy (set a TLS 1.2+ policy)"
            )),
        },
        "HTTP" => {
            let redirects_to_https = !listener.default_actions.is_empty()
                && listener.default_actions.iter().all(|action| {
                    action.action_type.eq_ignore_ascii_case("redirect")
                        && action
                            .redirect_protocol
                            .as_deref()
                            .is_some_and(|p| p.eq_ignore_ascii_case("HTTPS"))
                });
            (!redirects_to_https).then(|| {
                format!(
                    "HTTP listener on port {port} serves plain HTTP instead of only redirecting to HTTPS (make it redirect, alb.ingress.kubernetes.io/ssl-redirect)"
                )
            })
        }
        other => Some(format!(
            "listener on port {port} speaks {other}, not TLS (use HTTPS with a TLS 1.2+ policy)"
        )),
    }
}

pub(crate) fn evaluate_file_system<'a>(
    looked_up: &LookedUp<EfsFileSystem>,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let file_system = match &looked_up.result {
        Ok(file_system) => file_system,
        Err(error) => {
            let resource =
                ResourceRef::new(KIND_EFS_FILE_SYSTEM, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("EFS file system {}", looked_up.requested);
            judge.lookup_failed(&[ids::EFS_ENCRYPTION], &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_EFS_FILE_SYSTEM, None, file_system.id.clone());
    let mut judge = Judge::new(policy, now, resource)
        .also_named(file_system.arn.iter().chain(&file_system.name).cloned());
    judge.judge(ids::EFS_ENCRYPTION, |_| {
        if file_system.encrypted {
            return Verdict::Pass;
        }
        let named = file_system
            .name
            .as_deref()
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        Verdict::Fail(format!(
            "EFS file system {}{named} is not encrypted at rest: create an encrypted file system and move the data to it",
            file_system.id
        ))
    });
    judge
}
