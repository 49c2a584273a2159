//! Shared by the operator's end-to-end tests: starting `hipaa-operator` against the test control
//! plane (scoped to one test's policies by a label), reading its metrics, and the workloads and
//! policies the tests apply.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hipaa_crds::{ControlResult, HipaaPolicy};
use hipaa_testkit::{
    ChildGuard, ControlPlane, apply_yaml, apply_yaml_in, cargo_bin, control_plane, free_port,
    fresh_namespace, spawn_guarded, wait_for,
};
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The label that ties a test's namespaces, policies and operators together.
pub const CASE_LABEL: &str = "e2e.hipaaguard.io/case";

static CASES: AtomicU32 = AtomicU32::new(0);

/// A label value unique to this test (and this test process).
pub fn unique_case(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{:x}",
        std::process::id(),
        CASES.fetch_add(1, Ordering::Relaxed),
        nanos & 0xffff
    )
}

/// What an operator test starts from: the control plane with the HipaaPolicy CRD, a client, a
/// unique label (which scopes the test's operator and policies), and a fresh namespace that the
/// case's policy selects.
pub struct Case {
    pub plane: &'static ControlPlane,
    pub client: Client,
    pub label: String,
    pub ns: String,
}

impl Case {
    /// A case whose namespace holds nothing yet.
    pub async fn new(label_prefix: &str, namespace_prefix: &str) -> anyhow::Result<Case> {
        let plane = control_plane().await?;
        plane.install_hipaa_crd().await?;
        let client = plane.client().await?;
        let label = unique_case(label_prefix);
        let ns = fresh_namespace(&client, namespace_prefix, &governed(&label)).await?;
        Ok(Case {
            plane,
            client,
            label,
            ns,
        })
    }

    /// A case whose namespace holds a default-deny NetworkPolicy, so that HIPAA-K8S-NETPOL passes
    /// and the tests see only the violations they mean to.
    pub async fn governed(label_prefix: &str, namespace_prefix: &str) -> anyhow::Result<Case> {
        let case = Case::new(label_prefix, namespace_prefix).await?;
        case.apply(DEFAULT_DENY).await?;
        Ok(case)
    }

    /// Applies `yaml` in the case's namespace.
    pub async fn apply(&self, yaml: &str) -> anyhow::Result<()> {
        apply_yaml_in(&self.client, &self.ns, yaml).await?;
        Ok(())
    }

    /// Starts an operator for the case's policies ([`Operator::start`]).
    pub async fn start_operator(
        &self,
        log_name: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<Operator> {
        Operator::start(self.plane, &self.label, log_name, extra_args).await
    }

    /// The name of the case's HipaaPolicy.
    pub fn policy_name(&self) -> String {
        format!("{}-policy", self.label)
    }

    /// Applies the case's HipaaPolicy ([`policy_yaml`] with `extra_spec`) and waits until it
    /// satisfies `check` ([`wait_policy`]); returns its name and the policy then.
    pub async fn apply_policy_until(
        &self,
        extra_spec: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&HipaaPolicy) -> bool,
    ) -> anyhow::Result<(String, HipaaPolicy)> {
        let name = self.policy_name();
        apply_yaml(&self.client, &policy_yaml(&name, &self.label, extra_spec)).await?;
        let (policy, _) = self.wait_policy(what, timeout, check).await?;
        Ok((name, policy))
    }

    /// [`wait_policy`] on the case's HipaaPolicy.
    pub async fn wait_policy(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&HipaaPolicy) -> bool,
    ) -> anyhow::Result<(HipaaPolicy, Duration)> {
        wait_policy(&self.client, &self.policy_name(), what, timeout, check).await
    }
}

/// A running `hipaa-operator`.
pub struct Operator {
    pub guard: ChildGuard,
    pub admin_port: u16,
}

impl Operator {
    /// Starts the operator for the policies labelled `case`, and waits until it is ready.
    pub async fn start(
        plane: &ControlPlane,
        case: &str,
        log_name: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<Operator> {
        Operator::start_with(plane, case, log_name, extra_args, |_| {}).await
    }

    /// [`Operator::start`], with `configure` applied to the command last (e.g. AWS endpoints).
    pub async fn start_with(
        plane: &ControlPlane,
        case: &str,
        log_name: &str,
        extra_args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> anyhow::Result<Operator> {
        let admin_port = free_port();
        let mut cmd = Command::new(cargo_bin("hipaa-operator"));
        cmd.arg("--admin-listen")
            .arg(format!("127.0.0.1:{admin_port}"))
            .arg("--policy-selector")
            .arg(format!("{CASE_LABEL}={case}"))
            .arg("--debounce")
            .arg("200ms")
            .args(extra_args)
            .env("KUBECONFIG", plane.kubeconfig())
            .env("RUST_LOG", "info,hipaa_operator=debug")
            .env_remove("POD_NAME")
            .env_remove("POD_NAMESPACE");
        configure(&mut cmd);
        let guard = spawn_guarded(cmd, log_name)?;
        let mut operator = Operator { guard, admin_port };
        operator.wait_ready().await?;
        Ok(operator)
    }

    /// Waits until `/readyz` answers 200 (watch caches synced).
    pub async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let port = self.admin_port;
        let result = wait_for(
            "the operator to be ready",
            Duration::from_secs(60),
            || async move {
                Ok(get(port, "/readyz")
                    .await
                    .ok()
                    .filter(|(status, _)| *status == 200)
                    .map(|_| ()))
            },
        )
        .await;
        result.with_context(|| format!("operator log:\n{}", self.guard.log_tail(40)))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let (status, body) = get(self.admin_port, "/metrics").await?;
        anyhow::ensure!(status == 200, "/metrics answered {status}: {body}");
        Ok(body)
    }

    /// Waits until the policy satisfies `check` ([`wait_policy`]); on a timeout, fails with the
    /// end of this operator's log, which says why.
    pub async fn wait_policy(
        &self,
        client: &Client,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&HipaaPolicy) -> bool,
    ) -> anyhow::Result<HipaaPolicy> {
        let (policy, _) = wait_policy(client, name, what, timeout, check)
            .await
            .with_context(|| format!("operator log:\n{}", self.guard.log_tail(60)))?;
        Ok(policy)
    }

    /// Whether its log so far contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.guard.log_contents().contains(text)
    }

    /// The value of the sample `series` (name with labels, exactly as exported); 0 when absent.
    pub async fn metric(&self, series: &str) -> anyhow::Result<f64> {
        Ok(sample(&self.metrics().await?, series).unwrap_or(0.0))
    }
}

/// The value of `series` in a Prometheus text exposition.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A plain HTTP/1.1 GET on 127.0.0.1 (status, body).
pub async fn get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A HipaaPolicy labelled for `case`, governing the PHI namespaces labelled for `case`.
pub fn policy_yaml(name: &str, case: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata:
  name: {name}
  labels: {{{CASE_LABEL}: {case}}}
spec:
  enforcement: Enforce
  namespaceSelector:
    matchLabels: {{hipaaguard.io/phi: \"true\", {CASE_LABEL}: {case}}}
  auditInterval: 10m
{extra_spec}"
    )
}

/// The labels of a namespace that the policy of `case` governs.
pub fn governed(case: &str) -> [(&'static str, &str); 2] {
    [("hipaaguard.io/phi", "true"), (CASE_LABEL, case)]
}

/// A default-deny ingress NetworkPolicy (HIPAA-K8S-NETPOL passes for every pod).
pub const DEFAULT_DENY: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
";

/// A Deployment that passes every control that applies outside production namespaces.
pub fn compliant_deployment(name: &str) -> String {
    deployment(
        name,
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/api:1.4.2",
        UNPRIVILEGED,
        "",
    )
}

/// A Deployment that fails HIPAA-K8S-SECRETS-IN-ENV (critical), HIPAA-K8S-PRIVILEGED (high) and
/// HIPAA-K8S-IMAGE-REGISTRY (medium).
pub fn non_compliant_deployment(name: &str) -> String {
    deployment(
        name,
        "docker.io/library/busybox:latest",
        PRIVILEGED,
        "\n          env: [{name: DB_PASSWORD, value: hunter2}]",
    )
}

/// A Deployment that fails only HIPAA-K8S-PRIVILEGED.
pub fn privileged_deployment(name: &str) -> String {
    deployment(
        name,
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/api:1.4.2",
        PRIVILEGED,
        "",
    )
}

const UNPRIVILEGED: &str = "{allowPrivilegeEscalation: false}";
/// The API server refuses privileged together with allowPrivilegeEscalation: false.
const PRIVILEGED: &str = "{privileged: true}";

fn deployment(name: &str, image: &str, security_context: &str, env: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{linkerd.io/inject: enabled}}
    spec:
      securityContext: {{runAsNonRoot: true}}
      containers:
        - name: main
          image: {image}
          securityContext: {security_context}{env}
"
    )
}

/// The policy as stored now.
pub async fn policy(client: &Client, name: &str) -> anyhow::Result<HipaaPolicy> {
    Ok(Api::<HipaaPolicy>::all(client.clone()).get(name).await?)
}

/// True once the operator has audited the policy's current generation.
pub fn audited(policy: &HipaaPolicy) -> bool {
    policy
        .status
        .as_ref()
        .is_some_and(|s| s.summary.is_some() && s.observed_generation == policy.metadata.generation)
}

/// The status of condition `type_` (and its reason).
pub fn condition(policy: &HipaaPolicy, type_: &str) -> Option<(String, String)> {
    let status = policy.status.as_ref()?;
    let c = status.conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone()))
}

/// Polls (every 50 ms) until the policy satisfies `check`; returns it and how long it took.
pub async fn wait_policy(
    client: &Client,
    name: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&HipaaPolicy) -> bool,
) -> anyhow::Result<(HipaaPolicy, Duration)> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < timeout {
        let current = policy(client, name).await?;
        if check(&current) {
            return Ok((current, started.elapsed()));
        }
        last = Some(current);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!(
        "policy {name} did not become {what} within {timeout:?}; last status: {:#?}",
        last.and_then(|p| p.status)
    )
}

/// Just enough of a third party's CRD (Velero, External Secrets, the Secrets Store CSI driver)
/// for the API server to serve the namespaced kind at `group/v1`, any content accepted.
pub fn minimal_crd(group: &str, kind: &str, plural: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.{group}}}
spec:
  group: {group}
  names: {{kind: {kind}, listKind: {kind}List, plural: {plural}, singular: {singular}}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
",
        singular = kind.to_ascii_lowercase()
    )
}

/// Applies `yaml` in `ns` as soon as the API server serves its kinds (a CRD just applied takes
/// a moment to be established).
pub async fn apply_once_served(client: &Client, ns: &str, yaml: &str) -> anyhow::Result<()> {
    wait_for(
        "the objects' kinds to be served",
        Duration::from_secs(30),
        || async move { Ok(apply_yaml_in(client, ns, yaml).await.ok().map(|_| ())) },
    )
    .await
}

/// The operator's arguments for looking for newly installed integrations (Velero, External
/// Secrets) every second, so that a test need not wait the default interval.
pub const REDISCOVER_EVERY_SECOND: [&str; 2] = ["--integration-rediscovery", "1s"];

/// The result of control `id` in the policy's status, if it has one.
pub fn control_result(policy: &HipaaPolicy, id: &str) -> Option<ControlResult> {
    let status = policy.status.as_ref()?;
    Some(status.controls.iter().find(|c| c.id == id)?.result)
}

/// Whether the policy's Compliant condition has status `wanted` (`True` or `False`).
pub fn compliant_is(wanted: &'static str) -> impl Fn(&HipaaPolicy) -> bool {
    move |p: &HipaaPolicy| condition(p, "Compliant").is_some_and(|(s, _)| s == wanted)
}

/// A LoadBalancer Service without a TLS certificate (fails HIPAA-K8S-TLS-LB).
pub const PLAIN_LOAD_BALANCER: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: public}\nspec:\n  type: LoadBalancer\n  selector: {app: api}\n  ports: [{port: 80}]\n";

/// The mix the status tests count: the compliant Deployment `api`, the non-compliant `worker`
/// and [`PLAIN_LOAD_BALANCER`].
pub async fn apply_mixed_workloads(client: &Client, ns: &str) -> anyhow::Result<()> {
    apply_yaml_in(client, ns, &compliant_deployment("api")).await?;
    apply_yaml_in(client, ns, &non_compliant_deployment("worker")).await?;
    apply_yaml_in(client, ns, PLAIN_LOAD_BALANCER).await?;
    Ok(())
}

/// Events in `namespace` about the object named `name` of `kind`.
pub async fn events_about(
    client: &Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> anyhow::Result<Vec<Event>> {
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await?;
    Ok(events
        .items
        .into_iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.kind.as_deref() == Some(kind) && r.name.as_deref() == Some(name))
        })
        .collect())
}

/// How many times an Event with `reason` was observed (counting series).
pub fn occurrences(events: &[Event], reason: &str) -> i32 {
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .map(|e| e.series.as_ref().map(|s| s.count).unwrap_or(1))
        .sum()
}
