//! HIPAA-K8S-TLS-INGRESS: every Ingress host is served over TLS and plain HTTP is not left open.

use k8s_openapi::api::networking::v1::{Ingress, IngressTLS};

use crate::check::{Check, Verdict};
use crate::k8s::{label, verdict_from};
use crate::object::Object;

pub(crate) const ALLOW_HTTP: &str = "kubernetes.io/ingress.allow-http";
const INGRESS_CLASS: &str = "kubernetes.io/ingress.class";
pub(crate) const NGINX_SSL_REDIRECT: &str = "nginx.ingress.kubernetes.io/ssl-redirect";
pub(crate) const NGINX_FORCE_SSL_REDIRECT: &str = "nginx.ingress.kubernetes.io/force-ssl-redirect";
const ALB_PREFIX: &str = "alb.ingress.kubernetes.io/";
pub(crate) const ALB_LISTEN_PORTS: &str = "alb.ingress.kubernetes.io/listen-ports";
pub(crate) const ALB_SSL_REDIRECT: &str = "alb.ingress.kubernetes.io/ssl-redirect";
pub(crate) const ALB_CERTIFICATE_ARN: &str = "alb.ingress.kubernetes.io/certificate-arn";

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Object::Ingress(ingress) = check.object else {
        return Verdict::NotApplicable;
    };
    let annotations = ingress.metadata.annotations.as_ref();
    let spec = ingress.spec.as_ref();
    let tls = spec.and_then(|s| s.tls.as_deref()).unwrap_or(&[]);
    let alb = is_alb(ingress);
    let acm_certificate =
        alb && label(annotations, ALB_CERTIFICATE_ARN).is_some_and(|v| !v.trim().is_empty());
    let mut problems = Vec::new();

    if !acm_certificate {
        if tls.is_empty() {
            problems.push("has no spec.tls".to_string());
        } else {
            let hostless = tls
                .iter()
                .position(|t| t.hosts.as_ref().is_none_or(Vec::is_empty));
            let rules = spec.and_then(|s| s.rules.as_deref()).unwrap_or(&[]);
            for host in rules
                .iter()
                .filter_map(|r| r.host.as_deref())
                .filter(|h| !h.is_empty())
            {
                if !covered(host, tls) {
                    let mut problem = format!("host {host} is not covered by spec.tls");
                    if let Some(index) = hostless {
                        problem.push_str(&format!(" (spec.tls[{index}] lists no hosts)"));
                    }
                    problems.push(problem);
                }
            }
        }
    }

    if label(annotations, ALLOW_HTTP).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        problems.push(format!("{ALLOW_HTTP} is \"true\""));
    }
    let force_redirect = label(annotations, NGINX_FORCE_SSL_REDIRECT)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !force_redirect
        && label(annotations, NGINX_SSL_REDIRECT).is_some_and(|v| v.eq_ignore_ascii_case("false"))
    {
        problems.push(format!("{NGINX_SSL_REDIRECT} is \"false\""));
    }
    if alb {
        let redirect = label(annotations, ALB_SSL_REDIRECT).is_some_and(|v| !v.trim().is_empty());
        match label(annotations, ALB_LISTEN_PORTS).map(alb_listens_on_http) {
            Some(Err(())) => problems.push(format!("{ALB_LISTEN_PORTS} does not parse")),
            Some(Ok(true)) if !redirect => problems.push(format!(
                "the ALB listens on plain HTTP without {ALB_SSL_REDIRECT}"
            )),
            // Without listen-ports the ALB listens on HTTPS only when it has a certificate; the
            // missing certificate is reported above.
            _ => {}
        }
    }
    verdict_from(check.subject, problems)
}

/// An ALB Ingress: class `alb`, or any ALB annotation.
pub(crate) fn is_alb(ingress: &Ingress) -> bool {
    let class = ingress
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref());
    let annotations = ingress.metadata.annotations.as_ref();
    class == Some("alb")
        || label(annotations, INGRESS_CLASS) == Some("alb")
        || annotations.is_some_and(|a| a.keys().any(|k| k.starts_with(ALB_PREFIX)))
}

/// Whether `[{"HTTP": 80}, {"HTTPS": 443}]` opens a plain HTTP listener; Err if it does not parse.
pub(crate) fn alb_listens_on_http(value: &str) -> Result<bool, ()> {
    let parsed: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(value).map_err(|_| ())?;
    Ok(parsed
        .iter()
        .any(|listener| listener.keys().any(|k| k.eq_ignore_ascii_case("HTTP"))))
}

/// Whether a TLS entry lists `host`, directly or through a one-label wildcard (`*.example.com`).
pub(crate) fn covered(host: &str, tls: &[IngressTLS]) -> bool {
    tls.iter()
        .flat_map(|t| t.hosts.iter().flatten())
        .any(|tls_host| host_matches(tls_host, host))
}

fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    match (pattern.strip_prefix("*."), host.split_once('.')) {
        (Some(suffix), Some((first, rest))) => {
            !host.starts_with("*.") && !first.is_empty() && rest.eq_ignore_ascii_case(suffix)
        }
        _ => false,
    }
}
