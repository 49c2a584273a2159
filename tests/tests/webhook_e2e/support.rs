//! The webhook under test: a CA made here (rcgen), the `hipaa-webhook` binary on 127.0.0.1 with
//! those files, its ValidatingWebhookConfiguration (url clientConfig, caBundle, failurePolicy Fail),
//! and small probes of its ports (readiness, metrics, the certificate it serves).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hipaa_controls::object::{KINDS, KindInfo};
use hipaa_testkit::{
    ChildGuard, CmdOutput, apply_yaml, cargo_bin, control_plane, free_port, run, spawn_guarded,
    wait_for,
};
use k8s_openapi::ByteString;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::sync::OnceCell;

/// The enforce and warn policies select namespaces by these labels.
pub const PHI: (&str, &str) = ("hipaaguard.io/phi", "true");
pub const ENFORCE: (&str, &str) = ("hipaa-e2e/mode", "enforce");
pub const WARN: (&str, &str) = ("hipaa-e2e/mode", "warn");
pub const ENCRYPTED_CLASS: &str = "e2e-gp3-encrypted";
pub const PLAIN_CLASS: &str = "e2e-gp2-plain";

pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

#[allow(clippy::new_without_default)]
impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "hipaa-webhook e2e CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    /// The CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A serving certificate with IP SAN 127.0.0.1, written to `cert`/`key` by rename (as the
    /// kubelet swaps a Secret volume), so the webhook never reads half a file.
    pub fn issue(&self, common_name: &str, cert: &Path, key: &Path) -> CertificateDer<'static> {
        let key_pair = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let issued = params.signed_by(&key_pair, &self.issuer).unwrap();
        for (path, pem) in [(key, key_pair.serialize_pem()), (cert, issued.pem())] {
            let staged = path.with_extension("new");
            std::fs::write(&staged, pem).unwrap();
            std::fs::rename(&staged, path).unwrap();
        }
        issued.der().clone()
    }
}

/// The running webhook, shared by the tests of this binary.
pub struct Webhook {
    pub ca: TestCa,
    pub port: u16,
    pub admin_port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub first_cert: CertificateDer<'static>,
    pub process: std::sync::Mutex<ChildGuard>,
    _dir: tempfile::TempDir,
}

static WEBHOOK: OnceCell<Webhook> = OnceCell::const_new();

/// Starts the webhook and registers it, once per test binary.
pub async fn webhook() -> &'static Webhook {
    WEBHOOK
        .get_or_init(|| async { start().await.unwrap() })
        .await
}

async fn start() -> anyhow::Result<Webhook> {
    start_logging("info").await
}

/// Starts the webhook with `RUST_LOG=<rust_log>` and registers it (tests that read its log at
/// another level, e.g. leaks_e2e at debug, start their own).
pub async fn start_logging(rust_log: &str) -> anyhow::Result<Webhook> {
    let plane = control_plane().await?;
    plane.install_hipaa_crd().await?;
    let dir = tempfile::tempdir()?;
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let ca = TestCa::new();
    let first_cert = ca.issue("hipaa-webhook first", &cert, &key);
    let (port, admin_port) = (free_port(), free_port());
    // The edge benchmark may run a release build (HIPAA_EDGE_WEBHOOK_BIN); the tests run this build's.
    let binary = std::env::var_os("HIPAA_EDGE_WEBHOOK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| cargo_bin("hipaa-webhook"));
    let mut command = Command::new(binary);
    command
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--admin-listen=127.0.0.1:{admin_port}"))
        .arg("--kubeconfig")
        .arg(plane.kubeconfig())
        .arg("--exempt-namespaces=kube-system")
        .arg("--cert-reload-interval=500ms")
        .arg("--log-format=text")
        // As the chart sets it: freed memory goes back to the OS at once.
        .env("MIMALLOC_PURGE_DELAY", "0")
        .env("RUST_LOG", rust_log);
    let mut process = spawn_guarded(command, "hipaa-webhook")?;
    wait_for("the webhook's /readyz", Duration::from_secs(60), || {
        let ready = http_get(admin_port, "/readyz").is_ok_and(|(status, _)| status == 200);
        let alive = process.is_running();
        async move {
            anyhow::ensure!(alive, "hipaa-webhook exited");
            Ok(ready.then_some(()))
        }
    })
    .await
    .map_err(|err| anyhow::anyhow!("{err}\n{}", process.log_tail(30)))?;
    register(&ca, port).await?;
    wait_until_called(admin_port)
        .await
        .map_err(|err| anyhow::anyhow!("{err}\n{}", process.log_tail(30)))?;
    Ok(Webhook {
        ca,
        port,
        admin_port,
        cert,
        key,
        first_cert,
        process: std::sync::Mutex::new(process),
        _dir: dir,
    })
}

/// Waits until the API server sends reviews to the webhook, and the webhook's snapshot holds the
/// policies and StorageClasses `register` created. The API server loads a new webhook
/// configuration a moment after it is created, and the webhook sees new policies a moment after
/// they are created: an object a test creates before then is created unjudged (or judged as in a
/// namespace no policy selects), and applying it again is a no-op the webhook never sees.
async fn wait_until_called(admin_port: u16) -> anyhow::Result<()> {
    const PROBE: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: webhook-probe}\nspec:\n  containers: [{name: probe, image: probe}]\n";
    let apply = ["apply", "-n", "default", "--dry-run=server", "-f", "-"];
    wait_for(
        "the API server to send reviews to the webhook",
        Duration::from_secs(60),
        || async move {
            kubectl(&apply, Some(PROBE)).await;
            let (_, metrics) = http_get(admin_port, "/metrics")?;
            let reviewed = metrics.lines().any(|line| {
                line.starts_with("hipaaguard_webhook_reviews_total{")
                    && line.contains("dry_run=\"true\"")
            });
            let cached = |resource: &str| {
                let series =
                    format!("hipaaguard_webhook_cache_objects{{resource=\"{resource}\"}} ");
                metrics
                    .lines()
                    .find_map(|line| line.strip_prefix(&series)?.trim().parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            let loaded = cached("hipaapolicies") >= 2.0 && cached("storageclasses") >= 2.0;
            Ok((reviewed && loaded).then_some(()))
        },
    )
    .await
}

/// The cluster-wide state the tests share: the policies, the StorageClasses, and the webhook
/// configuration (every namespace but kube-system goes to the webhook, which decides itself; the
/// rules are the kind table's: its namespaced rows in one entry, its cluster-scoped rows,
/// Namespaces and HipaaPolicies, in `cluster.validate.hipaaguard.io`).
async fn register(ca: &TestCa, port: u16) -> anyhow::Result<()> {
    let client = control_plane().await?.client().await?;
    let ca_bundle = serde_json::to_string(&ByteString(ca.issuer.pem().into_bytes()))?;
    let policies = format!(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: e2e-enforce}}
spec:
  enforcement: Enforce
  namespaceSelector: {{matchLabels: {{{phi_k}: "{phi_v}", {mode_k}: {enforce}}}}}
---
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: e2e-warn}}
spec:
  enforcement: Warn
  namespaceSelector: {{matchLabels: {{{phi_k}: "{phi_v}", {mode_k}: {warn}}}}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {ENCRYPTED_CLASS}}}
provisioner: ebs.csi.aws.com
parameters: {{type: gp3, encrypted: "true"}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {PLAIN_CLASS}}}
provisioner: ebs.csi.aws.com
parameters: {{type: gp2}}
"#,
        phi_k = PHI.0,
        phi_v = PHI.1,
        mode_k = ENFORCE.0,
        enforce = ENFORCE.1,
        warn = WARN.1,
    );
    apply_yaml(&client, &policies).await?;
    // Namespaces and HipaaPolicies in an entry of their own, without selectors: for a Namespace
    // the API server matches a namespaceSelector against the new labels only, so a selector
    // could let a label removal escape (the webhook exempts kube-system itself).
    let configuration = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: hipaa-guard-e2e}}
webhooks:
  - name: validate.hipaaguard.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    matchPolicy: Equivalent
    timeoutSeconds: 10
    namespaceSelector:
      matchExpressions: [{{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}}]
    clientConfig:
      url: https://127.0.0.1:{port}/validate
      caBundle: {ca_bundle}
    rules:
{}  - name: cluster.validate.hipaaguard.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    matchPolicy: Equivalent
    timeoutSeconds: 10
    clientConfig:
      url: https://127.0.0.1:{port}/validate
      caBundle: {ca_bundle}
    rules:
{}"#,
        rules(|row| row.namespaced),
        rules(|row| !row.namespaced),
    );
    apply_yaml(&client, &configuration).await?;
    Ok(())
}

/// The rules of one entry: every request the kind table says the webhook judges, of the rows
/// `select` picks, as the operator registers them (tests/tests/kind_table.rs holds the
/// operator's configuration to the table).
fn rules(select: impl Fn(&KindInfo) -> bool) -> String {
    let mut rules = String::new();
    for row in KINDS
        .iter()
        .filter(|row| !row.admission.operations.is_empty() && select(row))
    {
        let scope = if row.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        };
        let subresources = row
            .admission
            .subresources
            .iter()
            .map(|sub| (format!("{}/{sub}", row.plural), *sub));
        for (resource, sub) in std::iter::once((row.plural.to_owned(), "")).chain(subresources) {
            let operations: Vec<&str> = row
                .admission
                .operations_on(sub)
                .iter()
                .map(|operation| operation.as_str())
                .collect();
            rules.push_str(&format!(
                "    - {{apiGroups: [\"{}\"], apiVersions: [{}], operations: [{}], resources: [\"{resource}\"], scope: {scope}}}\n",
                row.group(),
                row.version(),
                operations.join(", "),
            ));
        }
    }
    rules
}

/// `kubectl <args>` with `stdin` as the manifest.
pub async fn kubectl(args: &[&str], stdin: Option<&str>) -> CmdOutput {
    let mut command = control_plane().await.unwrap().kubectl();
    command.args(args);
    run(&mut command, stdin).unwrap()
}

/// Repeats `kubectl` until `done` holds for its output: the API server takes a moment to load a
/// new webhook configuration, and the webhook's caches a moment to see new namespaces/policies.
pub async fn kubectl_until(
    args: &[&str],
    stdin: Option<&str>,
    what: &str,
    done: impl Fn(&CmdOutput) -> bool,
) -> CmdOutput {
    let mut last = None;
    for _ in 0..60 {
        let out = kubectl(args, stdin).await;
        if done(&out) {
            return out;
        }
        last = Some(out);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what}: not within 30 s; last attempt:\n{}", last.unwrap());
}

/// A plain HTTP/1.1 GET on the admin port: status and body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The sum of every sample of a metric family whose labels contain all `labels`.
pub fn metric_sum(port: u16, family: &str, labels: &[&str]) -> f64 {
    let (_, body) = http_get(port, "/metrics").unwrap();
    body.lines()
        .filter(|line| line.starts_with(family) && labels.iter().all(|l| line.contains(l)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The certificate the webhook serves to a new TLS connection, verified against `ca`.
pub fn served_certificate(webhook: &Webhook) -> CertificateDer<'static> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(webhook.ca.issuer.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let server = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut connection = rustls::ClientConnection::new(Arc::new(config), server).unwrap();
    let mut socket = TcpStream::connect(("127.0.0.1", webhook.port)).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut socket).unwrap();
    }
    connection.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}
