//! The operator's own webhook certificates on the node: the first apply after `helm install
//! --wait` is judged, and a forced rotation under a steady apply load fails no apply, changes the
//! registered CA bundle, and has every webhook pod serve the new certificate without a restart.

use std::io::Write as _;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hipaa_testkit::{Node, expect_denied, run, wait_for};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::load::Load;
use super::release::{self, NAMESPACE, RELEASE, WEBHOOK};

const CA_SECRET: &str = "hipaa-guard-webhook-ca";
const TLS_SECRET: &str = "hipaa-guard-webhook-tls";
const INVALID_POLICY: &str = r#"apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: cluster-first-apply}
spec:
  namespaceSelector:
    matchExpressions: [{key: hipaaguard.io/phi, operator: Equals, values: ["true"]}]
  controls:
    - {id: HIPAA-K8S-NOPE}
"#;

/// The first apply after `helm install --wait`, with no retry: judged by the webhook pods (a
/// HipaaPolicy with two problems, denied listing both), never refused for connection.
pub fn first_apply_is_judged(node: &Node) {
    let out = run(
        node.kubectl().args(["apply", "-f", "-"]),
        Some(INVALID_POLICY),
    )
    .unwrap();
    expect_denied(
        &out,
        &[
            "its spec has 2 problems",
            "unknown control HIPAA-K8S-NOPE",
            "unknown operator Equals",
        ],
    );
    eprintln!(
        "first apply after helm install --wait: judged\n{}",
        out.stderr.trim()
    );
}

/// Annotates the CA Secret for a forced rotation while `per_second` applies run, and waits until
/// the registered bundle changed and every webhook pod serves the new serving certificate.
pub async fn forced_rotation_under_load(client: &kube::Client, namespace: &str, per_second: u32) {
    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let bundle_before = bundle(&configurations.get(RELEASE).await.unwrap());
    let cert_before = tls_cert(&secrets.get(TLS_SECRET).await.unwrap());
    let load = Load::start(client.clone(), namespace, per_second);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let began = Instant::now();
    secrets
        .patch(
            CA_SECRET,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "metadata": {"annotations": {"hipaaguard.io/rotate": "cluster-e2e"}}
            })),
        )
        .await
        .unwrap();
    let served = wait_for(
        "the rotated certificate to be registered and served by every webhook pod",
        Duration::from_secs(120),
        || async {
            let bundle_now = bundle(&configurations.get(RELEASE).await?);
            let cert_now = tls_cert(&secrets.get(TLS_SECRET).await?);
            if bundle_now == bundle_before || cert_now == cert_before {
                return Ok(None);
            }
            let pods = release::component_pods(client, WEBHOOK).await;
            let all = pods
                .iter()
                .all(|pod| served_certificate(pod, &bundle_now).as_deref() == Some(&cert_now[..]));
            Ok(all.then(|| (bundle_now, began.elapsed())))
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.stop().await;
    let (bundle_now, took) = served;
    let cas = CertificateDer::pem_slice_iter(bundle_now.as_bytes()).count();
    eprintln!(
        "forced rotation: new CA registered ({cas} CAs in the bundle) and the new certificate served by \
         every webhook pod {took:.1?} after the request; {} applies meanwhile, {} failed",
        report.total(),
        report.failures.len()
    );
    assert!(
        cas >= 2,
        "the old CA stays trusted beside the new one:\n{bundle_now}"
    );
    assert!(
        report.failures.is_empty(),
        "applies failed during the rotation: {:#?}",
        report.failures
    );
}

fn bundle(config: &ValidatingWebhookConfiguration) -> String {
    config
        .webhooks
        .iter()
        .flatten()
        .find_map(|w| w.client_config.ca_bundle.as_ref())
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .unwrap_or_default()
}

/// The DER of the Secret's serving certificate (its first PEM block).
fn tls_cert(secret: &Secret) -> Vec<u8> {
    let pem = secret
        .data
        .as_ref()
        .and_then(|d| d.get("tls.crt"))
        .map(|b| b.0.clone())
        .unwrap_or_default();
    CertificateDer::pem_slice_iter(&pem)
        .next()
        .and_then(Result::ok)
        .map(|der| der.to_vec())
        .unwrap_or_default()
}

/// The leaf certificate `pod` serves on its review port (8443), verified against `bundle` for the
/// Service's name, as the API server checks it; `None` while it cannot be reached or verified.
fn served_certificate(pod: &Pod, bundle: &str) -> Option<Vec<u8>> {
    let ip = pod.status.as_ref()?.pod_ip.clone()?;
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(bundle.as_bytes()) {
        roots.add(der.ok()?).ok()?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(format!("{WEBHOOK}.{NAMESPACE}.svc")).ok()?;
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let mut socket =
        TcpStream::connect_timeout(&format!("{ip}:8443").parse().ok()?, Duration::from_secs(2))
            .ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    while connection.is_handshaking() {
        connection.complete_io(&mut socket).ok()?;
    }
    let _ = socket.flush();
    Some(connection.peer_certificates()?.first()?.to_vec())
}
