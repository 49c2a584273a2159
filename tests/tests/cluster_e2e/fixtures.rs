//! The objects the in-cluster tests apply: the governed namespace and its policy, a compliant
//! Deployment that really runs on the node (the locally built pause image, unprivileged, two
//! replicas across the node's zone, mesh-annotated, isolated), and a privileged one.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hipaa_testkit::wait_for;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};

/// The image the compliant workloads run: the sandbox image `make images` builds, which is in
/// the node already. Set once by the test that imports the images.
pub static WORKLOAD_IMAGE: OnceLock<String> = OnceLock::new();

/// Imports the pause image into the node (idempotent) and makes it the workloads' image.
pub fn import_workload_image(node: &hipaa_testkit::Node) {
    let pause = node.import_image("pause").unwrap();
    let _ = WORKLOAD_IMAGE.set(pause);
}

fn image() -> &'static str {
    WORKLOAD_IMAGE
        .get()
        .map(String::as_str)
        .unwrap_or("the workload image was not imported")
}

/// Labels of a namespace holding PHI in production (what the policy below selects).
pub const PHI_PRODUCTION: [(&str, &str); 2] = [
    ("hipaaguard.io/phi", "true"),
    ("hipaaguard.io/environment", "production"),
];

/// An Enforce policy for the namespaces labelled `hipaaguard.io/cluster-e2e=<label>`. The
/// registry control is off: the node has no registry, its images are built here (that control
/// is covered by the engine's and the webhook's tests).
pub fn policy(name: &str, label: &str) -> String {
    format!(
        r#"apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata:
  name: {name}
spec:
  enforcement: Enforce
  namespaceSelector:
    matchLabels:
      hipaaguard.io/cluster-e2e: {label}
  controls:
    - id: HIPAA-K8S-IMAGE-REGISTRY
      disabled: true
  auditInterval: 1m
"#
    )
}

/// The default-deny NetworkPolicy HIPAA-K8S-NETPOL asks for.
pub fn network_policy(namespace: &str) -> String {
    format!(
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: {namespace}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
"#
    )
}

fn deployment_yaml(name: &str, replicas: u32, container_security: &str) -> String {
    let image = image();
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}, hipaaguard.io/phi: "true"}}
      annotations: {{linkerd.io/inject: enabled}}
    spec:
      terminationGracePeriodSeconds: 0
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: {{type: RuntimeDefault}}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: DoNotSchedule
          labelSelector:
            matchLabels: {{app: {name}}}
      containers:
        - name: main
          image: {image}
          imagePullPolicy: Never
          securityContext: {container_security}
          resources:
            requests: {{cpu: 5m, memory: 8Mi}}
            limits: {{cpu: 50m, memory: 32Mi}}
"#
    )
}

/// A Deployment that passes every Kubernetes control of the policy above and starts on the node.
pub fn compliant_deployment(name: &str, replicas: u32) -> Deployment {
    let yaml = deployment_yaml(
        name,
        replicas,
        "{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}",
    );
    yaml_serde::from_str(&yaml).unwrap_or_else(|e| panic!("compliant fixture: {e}"))
}

/// The same, privileged: HIPAA-K8S-PRIVILEGED (164.312(a)(1)) denies it under Enforce.
pub fn privileged_deployment(name: &str) -> Deployment {
    let yaml = deployment_yaml(name, 2, "{privileged: true}");
    yaml_serde::from_str(&yaml).unwrap_or_else(|e| panic!("privileged fixture: {e}"))
}

/// [`privileged_deployment`] as YAML, for kubectl.
pub fn privileged_yaml(name: &str, namespace: &str) -> String {
    let mut deployment = privileged_deployment(name);
    deployment.metadata.namespace = Some(namespace.to_string());
    yaml_serde::to_string(&deployment).unwrap_or_else(|e| panic!("privileged fixture: {e}"))
}

/// Applies [`compliant_deployment`] `name` with `replicas` in `namespace` and waits until every
/// replica is available on the node; returns how long that took from the apply.
pub async fn run_compliant(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    replicas: i32,
) -> Duration {
    let began = Instant::now();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let replicas_u32 = u32::try_from(replicas).unwrap_or(1);
    deployments
        .patch(
            name,
            &PatchParams::apply("cluster-e2e"),
            &Patch::Apply(&compliant_deployment(name, replicas_u32)),
        )
        .await
        .unwrap_or_else(|e| panic!("applying the compliant Deployment {name}: {e}"));
    wait_for(
        &format!("{namespace}/{name} to be available"),
        Duration::from_secs(90),
        || async {
            let status = deployments.get(name).await?.status.unwrap_or_default();
            Ok((status.available_replicas == Some(replicas)).then_some(()))
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    began.elapsed()
}
