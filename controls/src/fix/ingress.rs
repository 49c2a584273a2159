//! HIPAA-K8S-TLS-INGRESS: every rule host in `spec.tls` (in an entry whose certificate Secret is
//! `<ingress>-tls`, which must then hold a certificate for them), and plain HTTP closed where an
//! annotation opened it.

use serde_json::{Value, json};

use super::pointer::Pointer;
use super::{Change, PatchOp};
use crate::k8s::label;
use crate::k8s::tls_ingress::{
    ALB_CERTIFICATE_ARN, ALB_LISTEN_PORTS, ALB_SSL_REDIRECT, ALLOW_HTTP, NGINX_FORCE_SSL_REDIRECT,
    NGINX_SSL_REDIRECT, alb_listens_on_http, covered, is_alb,
};
use crate::object::Object;

pub(crate) fn fix(object: &Object) -> Option<Change> {
    let Object::Ingress(ingress) = object else {
        return None;
    };
    let annotations = ingress.metadata.annotations.as_ref();
    let spec = ingress.spec.as_ref();
    let tls = spec.and_then(|s| s.tls.as_deref()).unwrap_or(&[]);
    let alb = is_alb(ingress);
    let acm_certificate =
        alb && label(annotations, ALB_CERTIFICATE_ARN).is_some_and(|v| !v.trim().is_empty());
    let secret = format!("{}-tls", object.name());
    let mut patch = Vec::new();
    let mut done = Vec::new();
    let mut unfixed = Vec::new();

    if !acm_certificate {
        let mut hosts: Vec<&str> = Vec::new();
        for host in spec
            .and_then(|s| s.rules.as_deref())
            .unwrap_or(&[])
            .iter()
            .filter_map(|r| r.host.as_deref())
            .filter(|h| !h.is_empty())
        {
            if !hosts.contains(&host) && (tls.is_empty() || !covered(host, tls)) {
                hosts.push(host);
            }
        }
        let tls_at = Pointer::at("/spec/tls");
        if tls.is_empty() {
            let entry = tls_entry(&hosts, &secret);
            patch.push(match spec {
                None => PatchOp::Add {
                    path: "/spec".to_string(),
                    value: json!({ "tls": [entry] }),
                },
                Some(_) => PatchOp::Add {
                    path: tls_at.into_string(),
                    value: json!([entry]),
                },
            });
            done.push(format!(
                "serve the Ingress over TLS with the certificate in Secret {secret}"
            ));
        } else if !hosts.is_empty() {
            let ours = tls.iter().position(|t| {
                t.secret_name.as_deref() == Some(secret.as_str()) && t.hosts.is_some()
            });
            match ours {
                Some(index) => {
                    for host in &hosts {
                        patch.push(PatchOp::Add {
                            path: tls_at.index(index).key("hosts").end().into_string(),
                            value: json!(host),
                        });
                    }
                }
                None => patch.push(PatchOp::Add {
                    path: tls_at.end().into_string(),
                    value: tls_entry(&hosts, &secret),
                }),
            }
            done.push(format!(
                "cover {} in spec.tls with the certificate in Secret {secret}",
                hosts.join(", ")
            ));
        }
    }

    let annotation = |key: &str| Pointer::at("/metadata/annotations").key(key).into_string();
    if label(annotations, ALLOW_HTTP).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        patch.push(PatchOp::Replace {
            path: annotation(ALLOW_HTTP),
            value: json!("false"),
        });
        done.push(format!("set {ALLOW_HTTP}: \"false\""));
    }
    let force_redirect = label(annotations, NGINX_FORCE_SSL_REDIRECT)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !force_redirect
        && label(annotations, NGINX_SSL_REDIRECT).is_some_and(|v| v.eq_ignore_ascii_case("false"))
    {
        patch.push(PatchOp::Replace {
            path: annotation(NGINX_SSL_REDIRECT),
            value: json!("true"),
        });
        done.push(format!("set {NGINX_SSL_REDIRECT}: \"true\""));
    }
    if alb {
        let redirect = label(annotations, ALB_SSL_REDIRECT).is_some_and(|v| !v.trim().is_empty());
        match label(annotations, ALB_LISTEN_PORTS).map(alb_listens_on_http) {
            Some(Err(())) => unfixed.push(format!("{ALB_LISTEN_PORTS} does not parse: correct it")),
            Some(Ok(true)) if !redirect => {
                // Where the redirect annotation is present but blank, `add` replaces it.
                patch.push(match annotations {
                    Some(_) => PatchOp::Add {
                        path: annotation(ALB_SSL_REDIRECT),
                        value: json!("443"),
                    },
                    None => PatchOp::Add {
                        path: "/metadata/annotations".to_string(),
                        value: json!({ ALB_SSL_REDIRECT: "443" }),
                    },
                });
                done.push(format!(
                    "redirect plain HTTP to HTTPS ({ALB_SSL_REDIRECT}: \"443\")"
                ));
            }
            _ => {}
        }
    }
    Some(Change {
        description: done.join("; "),
        patch,
        create: Vec::new(),
        unfixed,
    })
}

/// `{hosts: [...], secretName: ...}`, without hosts when the rules name none (then the entry is
/// the default certificate, and no host is left uncovered).
fn tls_entry(hosts: &[&str], secret: &str) -> Value {
    if hosts.is_empty() {
        json!({ "secretName": secret })
    } else {
        json!({ "hosts": hosts, "secretName": secret })
    }
}
