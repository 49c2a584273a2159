//! Rendering the chart with the real helm, and reading the rendered objects back as JSON.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use hipaa_testkit::{CmdOutput, run};
use serde::Deserialize;
use serde_json::Value;

/// The repository root (the testkit crate lives in `tests/`; symlinks are resolved, so that a
/// workspace that links `tests/` in still finds the real repository).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf());
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

pub fn chart_dir() -> PathBuf {
    repo_root().join("charts/hipaa-guard")
}

/// The pinned helm (no cluster needed), with its cache and config kept out of the user's home.
pub fn helm() -> anyhow::Result<Command> {
    let bins = hipaa_testkit::bin_dir()?;
    let home = std::env::temp_dir().join(format!("hipaa-guard-helm-e2e-{}", std::process::id()));
    let mut cmd = Command::new(bins.join("helm"));
    cmd.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG");
    Ok(cmd)
}

/// `helm template <release> charts/hipaa-guard --namespace <namespace> --include-crds <args>`.
pub fn template_output(release: &str, namespace: &str, args: &[&str]) -> anyhow::Result<CmdOutput> {
    let mut cmd = helm()?;
    cmd.arg("template")
        .arg(release)
        .arg(chart_dir())
        .args(["--namespace", namespace, "--include-crds"])
        .args(args);
    run(&mut cmd, None)
}

/// Like [`template_output`], failing unless helm succeeds.
pub fn template(release: &str, namespace: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = template_output(release, namespace, args)?;
    if !out.success() {
        bail!("helm template {args:?} failed:\n{out}");
    }
    Ok(out.stdout)
}

/// Every non-empty document of a multi-document YAML stream.
pub fn documents(yaml: &str) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(yaml).enumerate() {
        let value = Value::deserialize(document)
            .with_context(|| format!("document {} does not parse", index + 1))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The rendered objects of one kind.
pub fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|doc| doc["kind"] == kind).collect()
}

/// The one rendered object of `kind` named `name`.
#[track_caller]
pub fn object<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|doc| doc["kind"] == kind && doc["metadata"]["name"] == name)
        .collect();
    match found.as_slice() {
        [one] => one,
        other => panic!("expected one {kind} {name}, found {}", other.len()),
    }
}

/// The strings of a JSON array (empty when it is not one).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A CA certificate in PEM, as `certificates.provided.caBundle` takes it.
pub fn ca_pem() -> anyhow::Result<String> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "helm-e2e CA");
    Ok(params.self_signed(&key)?.pem())
}

/// Minimal CRDs for the optional kinds the chart can render (cert-manager's Certificate and
/// Issuer, the Prometheus Operator's ServiceMonitor and PrometheusRule), so the API server can take them in a
/// server-side dry-run. They accept any spec: these tests check that the objects are well formed
/// for the API server, and assert their content on the rendering itself.
pub const OPTIONAL_CRDS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: prometheusrules.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PrometheusRule, listKind: PrometheusRuleList, plural: prometheusrules, singular: prometheusrule}
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Certificate, listKind: CertificateList, plural: certificates, singular: certificate}
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: issuers.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Issuer, listKind: IssuerList, plural: issuers, singular: issuer}
  versions:
    - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
"#;
