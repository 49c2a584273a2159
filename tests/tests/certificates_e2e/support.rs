//! What the certificate tests share: the configuration and Secrets of a test namespace, the
//! rotation request, the webhook configuration that sends one namespace's pods to the webhook,
//! a client that sends reviews continuously, and probes of the webhook's ports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hipaa_operator::certificates::facts::parse_certificates;
use hipaa_operator::certificates::{
    CertificateConfig, CertificateState, ROTATE_ANNOTATION, RegisteredBundle,
};
use hipaa_testkit::apply_yaml;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use rustls::pki_types::{CertificateDer, ServerName};

pub fn config(prefix: &str, namespace: &str) -> CertificateConfig {
    CertificateConfig {
        ip_addresses: vec!["127.0.0.1".parse().unwrap()],
        ..CertificateConfig::for_release(prefix, namespace)
    }
}

pub async fn secret(client: &Client, namespace: &str, name: &str) -> Secret {
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .unwrap()
}

pub async fn request_rotation(client: &Client, config: &CertificateConfig) {
    let patch = serde_json::json!({"metadata": {"annotations": {ROTATE_ANNOTATION: "e2e"}}});
    Api::<Secret>::namespaced(client.clone(), &config.namespace)
        .patch(
            &config.ca_secret,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
}

pub fn registered(state: &CertificateState, since: DateTime<Utc>) -> RegisteredBundle {
    RegisteredBundle {
        pem: state.ca_bundle.clone(),
        since,
    }
}

pub fn bundle_ders(pem: &str) -> Vec<Vec<u8>> {
    parse_certificates(pem)
        .unwrap()
        .into_iter()
        .map(|c| c.der)
        .collect()
}

/// Dry-run pod creations in `namespace` until `stop`, counting answers and failures.
pub async fn send_reviews(
    client: Client,
    namespace: String,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let pods = Api::<Pod>::namespaced(client, &namespace);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "review-probe"},
        "spec": {"containers": [{"name": "c", "image": "probe"}]}
    }))
    .unwrap();
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    while !stop.load(Ordering::Relaxed) {
        match pods.create(&params, &pod).await {
            Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
            Err(error) => {
                eprintln!("a review failed: {error}");
                failed.fetch_add(1, Ordering::Relaxed)
            }
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub const CONFIGURATION: &str = "hipaa-guard-certificates-e2e";

pub async fn register(client: &Client, namespace: &str, port: u16, bundle: &str) {
    let ca_bundle = serde_json::to_string(&ByteString(bundle.as_bytes().to_vec())).unwrap();
    let yaml = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: {CONFIGURATION}}}
webhooks:
  - name: certificates.e2e.hipaaguard.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 5
    namespaceSelector:
      matchLabels: {{kubernetes.io/metadata.name: {namespace}}}
    clientConfig:
      url: https://127.0.0.1:{port}/validate
      caBundle: {ca_bundle}
    rules:
      - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods], scope: Namespaced}}
"#
    );
    apply_yaml(client, &yaml).await.unwrap();
}

pub async fn registered_carries(client: &Client, bundle: &str) -> bool {
    let api = Api::<ValidatingWebhookConfiguration>::all(client.clone());
    let configuration = api.get(CONFIGURATION).await.unwrap();
    configuration.webhooks.unwrap_or_default()[0]
        .client_config
        .ca_bundle
        .as_ref()
        .is_some_and(|ByteString(bytes)| bytes == bundle.as_bytes())
}

/// A plain HTTP GET on the admin port: status and body.
pub fn admin_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// The certificate the webhook serves to a new connection, verified against `bundle`.
pub fn served_certificate(port: u16, bundle: &str) -> CertificateDer<'static> {
    let mut roots = rustls::RootCertStore::empty();
    for der in bundle_ders(bundle) {
        roots.add(CertificateDer::from(der)).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let server = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut connection = rustls::ClientConnection::new(Arc::new(config), server).unwrap();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut socket).unwrap();
    }
    connection.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}
