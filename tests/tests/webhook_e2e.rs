//! `hipaa-webhook` on the real control plane, driven by real kubectl: the API server calls it
//! over HTTPS (url clientConfig, caBundle of a CA made here, failurePolicy Fail). Compliant
//! objects are created; non-compliant ones are denied with the control ID and the 45 CFR section;
//! Warn mode prints `Warning:` and creates; deleting the covering NetworkPolicy is denied; a
//! namespace no policy selects is untouched; a replaced certificate is served without a restart.
//! `webhook_e2e/changes.rs` covers the requests that change a judged field otherwise (NetworkPolicy
//! edits, `kubectl debug`, `kubectl scale`); Namespaces and HipaaPolicies at admission are
//! `webhook_e2e/namespaces.rs`'s; RBAC changes and HIPAA-K8S-SA-TOKEN `webhook_e2e/access.rs`'s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod webhook_e2e {
    pub mod access;
    pub mod changes;
    pub mod namespaces;
    pub mod support;
}

use std::time::Duration;

use hipaa_testkit::{control_plane, expect_allowed, expect_denied, fresh_namespace};
use webhook_e2e::support::*;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/api:1.4.2";
const DENIED: &str = "denied the request";

fn deployment(name: &str, image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{linkerd.io/inject: enabled}}
    spec:
      securityContext: {{runAsNonRoot: true, runAsUser: 10001}}
      containers:
        - name: app
          image: {image}
          securityContext: {{allowPrivilegeEscalation: false}}
"#
    )
}

const DEFAULT_DENY: &str = r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"#;

/// A namespace governed by the Enforce policy, with a default-deny NetworkPolicy.
async fn enforced_namespace(prefix: &str, with_network_policy: bool) -> String {
    let client = control_plane().await.unwrap().client().await.unwrap();
    let ns = fresh_namespace(&client, prefix, &[PHI, ENFORCE])
        .await
        .unwrap();
    if with_network_policy {
        expect_allowed(&kubectl(&["apply", "-n", &ns, "-f", "-"], Some(DEFAULT_DENY)).await);
    }
    ns
}

fn exists(out: &hipaa_testkit::CmdOutput) -> bool {
    out.success() && !out.stdout.trim().is_empty()
}

#[tokio::test]
async fn a_compliant_deployment_is_created_and_one_without_network_policy_is_denied() {
    let hook = webhook().await;
    let bare = enforced_namespace("wh-bare", false).await;
    let apply = ["apply", "-n", &bare, "-f", "-"];
    let manifest = deployment("api", IMAGE);
    let out = kubectl_until(&apply, Some(&manifest), "the webhook denies", |o| {
        o.stderr.contains(DENIED)
    })
    .await;
    expect_denied(
        &out,
        &[
            "[HIPAA-K8S-NETPOL] 164.312(e)(1): no NetworkPolicy selects pods of Deployment",
            &format!("{bare}/api"),
            "see kubectl hipaa controls HIPAA-K8S-NETPOL",
            "To request an exception, add to spec.exceptions of HipaaPolicy e2e-enforce",
        ],
    );
    assert!(!exists(
        &kubectl(
            &[
                "get",
                "deployment",
                "api",
                "-n",
                &bare,
                "--ignore-not-found",
                "-o",
                "name"
            ],
            None
        )
        .await
    ));

    let covered = enforced_namespace("wh-covered", true).await;
    let before = metric_sum(
        hook.admin_port,
        "hipaaguard_webhook_reviews_total",
        &["kind=\"Deployment\"", "decision=\"allowed\""],
    );
    let out = kubectl(&["apply", "-n", &covered, "-f", "-"], Some(&manifest)).await;
    expect_allowed(&out);
    assert!(!out.stderr.contains("Warning:"), "{out}");
    assert!(exists(
        &kubectl(
            &["get", "deployment", "api", "-n", &covered, "-o", "name"],
            None
        )
        .await
    ));
    let after = metric_sum(
        hook.admin_port,
        "hipaaguard_webhook_reviews_total",
        &["kind=\"Deployment\"", "decision=\"allowed\""],
    );
    assert!(
        after > before,
        "the webhook judged and allowed the compliant Deployment"
    );
}

#[tokio::test]
async fn ingress_without_tls_unencrypted_pvc_and_load_balancer_without_certificate_are_denied() {
    webhook().await;
    let ns = enforced_namespace("wh-edge", true).await;
    let apply = ["apply", "-n", &ns, "-f", "-"];
    let ingress = r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: portal}
spec:
  rules:
    - host: portal.example.com
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: portal, port: {number: 443}}}}]}
"#;
    let out = kubectl_until(&apply, Some(ingress), "the webhook denies", |o| {
        o.stderr.contains(DENIED)
    })
    .await;
    expect_denied(
        &out,
        &["[HIPAA-K8S-TLS-INGRESS] 164.312(e)(1):", "has no spec.tls"],
    );

    let pvc = |class: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: reports}}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: {class}\n  resources: {{requests: {{storage: 1Gi}}}}\n"
        )
    };
    let out = kubectl(&apply, Some(&pvc(PLAIN_CLASS))).await;
    expect_denied(
        &out,
        &[
            "[HIPAA-K8S-VOLUME-ENCRYPTION] 164.312(a)(2)(iv):",
            PLAIN_CLASS,
        ],
    );

    let service = r#"apiVersion: v1
kind: Service
metadata: {name: public}
spec:
  type: LoadBalancer
  selector: {app: api}
  ports: [{name: https, port: 443, targetPort: 8443}]
"#;
    let out = kubectl(&apply, Some(service)).await;
    expect_denied(
        &out,
        &[
            "[HIPAA-K8S-TLS-LB] 164.312(e)(1):",
            "aws-load-balancer-ssl-cert",
        ],
    );

    // The compliant versions are created.
    expect_allowed(&kubectl(&apply, Some(&pvc(ENCRYPTED_CLASS))).await);
    let with_tls = ingress.replace(
        "spec:\n",
        "spec:\n  tls: [{hosts: [portal.example.com], secretName: portal-tls}]\n",
    );
    expect_allowed(&kubectl(&apply, Some(&with_tls)).await);
    let with_cert = service.replace(
        "metadata: {name: public}",
        "metadata:\n  name: public\n  annotations: {service.beta.kubernetes.io/aws-load-balancer-ssl-cert: \"arn:aws:acm:us-east-1:123456789012:certificate/abc\", service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy: ELBSecurityPolicy-TLS13-1-2-2021-06}",
    );
    expect_allowed(&kubectl(&apply, Some(&with_cert)).await);
}

#[tokio::test]
async fn warn_mode_prints_warnings_and_creates_the_object() {
    webhook().await;
    let client = control_plane().await.unwrap().client().await.unwrap();
    let ns = fresh_namespace(&client, "wh-warn", &[PHI, WARN])
        .await
        .unwrap();
    expect_allowed(&kubectl(&["apply", "-n", &ns, "-f", "-"], Some(DEFAULT_DENY)).await);
    let manifest = deployment("api", "docker.io/library/nginx:1.27");
    let out = kubectl_until(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&manifest),
        "the webhook warns",
        |o| o.stderr.contains("Warning:"),
    )
    .await;
    expect_allowed(&out);
    assert!(
        out.stderr
            .contains("Warning: [HIPAA-K8S-IMAGE-REGISTRY] 164.308(a)(5)(ii)(B):"),
        "{out}"
    );
    assert!(exists(
        &kubectl(&["get", "deployment", "api", "-n", &ns, "-o", "name"], None).await
    ));
}

#[tokio::test]
async fn deleting_the_covering_network_policy_is_denied() {
    webhook().await;
    let ns = enforced_namespace("wh-netpol", true).await;
    let delete = ["delete", "networkpolicy", "default-deny", "-n", &ns];
    let out = kubectl_until(&delete, None, "the webhook denies", |o| {
        o.stderr.contains(DENIED)
    })
    .await;
    expect_denied(
        &out,
        &[
            "HIPAA Guard denied the deletion of NetworkPolicy",
            "[HIPAA-K8S-NETPOL] 164.312(e)(1): deleting NetworkPolicy",
        ],
    );
    assert!(exists(
        &kubectl(
            &[
                "get",
                "networkpolicy",
                "default-deny",
                "-n",
                &ns,
                "-o",
                "name"
            ],
            None
        )
        .await
    ));
}

#[tokio::test]
async fn a_namespace_no_policy_selects_is_untouched() {
    let hook = webhook().await;
    let client = control_plane().await.unwrap().client().await.unwrap();
    let ns = fresh_namespace(&client, "wh-open", &[("team", "marketing")])
        .await
        .unwrap();
    let series = ["kind=\"Deployment\"", "decision=\"unselected\""];
    let before = metric_sum(hook.admin_port, "hipaaguard_webhook_reviews_total", &series);
    // Privileged-ish, unpinned, outside ECR, no NetworkPolicy: everything HIPAA Guard would deny.
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: site}\nspec:\n  selector: {matchLabels: {app: site}}\n  template:\n    metadata: {labels: {app: site}}\n    spec:\n      containers: [{name: web, image: nginx}]\n";
    let out = kubectl_until(
        &["apply", "-n", &ns, "-f", "-"],
        Some(manifest),
        "the webhook sees the namespace",
        |o| {
            o.success()
                && metric_sum(hook.admin_port, "hipaaguard_webhook_reviews_total", &series) > before
        },
    )
    .await;
    expect_allowed(&out);
    assert!(!out.stderr.contains("Warning:"), "{out}");
    assert!(exists(
        &kubectl(
            &["get", "deployment", "site", "-n", &ns, "-o", "name"],
            None
        )
        .await
    ));
}

#[tokio::test]
async fn a_replaced_certificate_is_served_and_requests_keep_working() {
    let hook = webhook().await;
    assert_eq!(served_certificate(hook), hook.first_cert);
    let ns = enforced_namespace("wh-rotate", false).await;
    let apply = ["apply", "-n", &ns, "-f", "-"];
    let bad = deployment("api", IMAGE);
    kubectl_until(&apply, Some(&bad), "the webhook denies", |o| {
        o.stderr.contains(DENIED)
    })
    .await;

    let second = hook.ca.issue("hipaa-webhook second", &hook.cert, &hook.key);
    let mut served = served_certificate(hook);
    for _ in 0..40 {
        if served == second {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        served = served_certificate(hook);
    }
    assert_eq!(
        served, second,
        "the new certificate was not served within 10 s"
    );
    let log = hook.process.lock().unwrap().log_contents();
    assert!(log.contains("reloaded the TLS certificate"), "{log}");

    // The API server keeps getting answers: denials and allowances, over the new certificate.
    expect_denied(&kubectl(&apply, Some(&bad)).await, &["[HIPAA-K8S-NETPOL]"]);
    expect_allowed(&kubectl(&apply, Some(DEFAULT_DENY)).await);
    let out = kubectl_until(&apply, Some(&bad), "the NetworkPolicy is seen", |o| {
        o.success()
    })
    .await;
    expect_allowed(&out);
    let third = hook.ca.issue("hipaa-webhook third", &hook.cert, &hook.key);
    let mut served = served_certificate(hook);
    for _ in 0..40 {
        if served == third {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        served = served_certificate(hook);
    }
    assert_eq!(served, third);
    let out = kubectl(
        &["apply", "-n", &ns, "--dry-run=server", "-f", "-"],
        Some(&deployment("worker", "nginx:latest")),
    )
    .await;
    expect_denied(&out, &["[HIPAA-K8S-IMAGE-REGISTRY]"]);
}
