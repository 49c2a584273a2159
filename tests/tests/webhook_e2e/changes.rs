//! Requests that change a judged field without being a plain write of a workload, on the real API
//! server with real kubectl: editing a NetworkPolicy (narrowing its selector, dropping Ingress from
//! its policyTypes, adding an allow-all rule), `kubectl debug --profile=sysadmin` (the
//! `pods/ephemeralcontainers` subresource) and `kubectl scale` (the `scale` subresource, whose
//! object is an `autoscaling/v1` `Scale`).

use hipaa_testkit::{CmdOutput, control_plane, expect_allowed, expect_denied, fresh_namespace};

use super::support::*;
use crate::{DEFAULT_DENY, IMAGE, enforced_namespace};

const PRODUCTION: (&str, &str) = ("hipaaguard.io/environment", "production");

/// `default-deny` with its podSelector narrowed to the web pods.
fn narrowed() -> String {
    DEFAULT_DENY.replace("podSelector: {}", "podSelector: {matchLabels: {app: web}}")
}

/// `default-deny` with an ingress rule that admits everyone.
fn allow_all() -> String {
    format!("{DEFAULT_DENY}  ingress: [{{}}]\n")
}

/// `kubectl patch` of default-deny's policyTypes to Egress only (a PATCH is an UPDATE).
async fn drop_ingress(ns: &str) -> CmdOutput {
    let patch = r#"{"spec":{"policyTypes":["Egress"]}}"#;
    let args = [
        "patch",
        "networkpolicy",
        "default-deny",
        "-n",
        ns,
        "--type=merge",
        "-p",
        patch,
    ];
    kubectl(&args, None).await
}

async fn policy_types(ns: &str) -> String {
    let args = [
        "get",
        "networkpolicy",
        "default-deny",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.podSelector}{.spec.policyTypes}{.spec.ingress}",
    ];
    kubectl(&args, None).await.stdout
}

#[tokio::test]
async fn network_policy_edits_that_uncover_phi_pods_are_denied_and_admitted_elsewhere() {
    webhook().await;
    let ns = enforced_namespace("wh-np-edit", true).await;
    let apply = ["apply", "-n", &ns, "-f", "-"];
    let section = "[HIPAA-K8S-NETPOL] 164.312(e)(1):";
    let uncovers = format!(
        "updating NetworkPolicy {ns}/default-deny leaves the pods it selects without a NetworkPolicy that restricts ingress"
    );
    let out = kubectl(&apply, Some(&narrowed())).await;
    expect_denied(&out, &[section, &uncovers, "HipaaPolicy e2e-enforce"]);
    expect_denied(&drop_ingress(&ns).await, &[section, &uncovers]);
    let opens = format!(
        "updating NetworkPolicy {ns}/default-deny lets all ingress reach the pods it selects (ingress rule 1 has no from)"
    );
    expect_denied(
        &kubectl(&apply, Some(&allow_all())).await,
        &[section, &opens],
    );
    assert_eq!(policy_types(&ns).await, r#"{}["Ingress"]"#, "unchanged");
    // A second policy that lets everyone in is denied at creation, next to the default-deny.
    let open_policy = allow_all().replace("name: default-deny", "name: open");
    expect_denied(
        &kubectl(&apply, Some(&open_policy)).await,
        &[
            section,
            &format!("creating NetworkPolicy {ns}/open lets all ingress"),
        ],
    );

    let client = control_plane().await.unwrap().client().await.unwrap();
    let free = fresh_namespace(&client, "wh-np-free", &[]).await.unwrap();
    let apply = ["apply", "-n", &free, "-f", "-"];
    expect_allowed(&kubectl(&apply, Some(DEFAULT_DENY)).await);
    expect_allowed(&kubectl(&apply, Some(&narrowed())).await);
    expect_allowed(&kubectl(&apply, Some(DEFAULT_DENY)).await);
    expect_allowed(&drop_ingress(&free).await);
    expect_allowed(&kubectl(&apply, Some(&allow_all())).await);
    assert_eq!(policy_types(&free).await, r#"{}["Ingress"][{}]"#);
}

const POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: api
  labels: {app: api}
  annotations: {linkerd.io/inject: enabled}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 10001}
  containers:
    - name: app
      image: IMAGE
      securityContext: {allowPrivilegeEscalation: false}
"#;

async fn ephemeral_containers(ns: &str) -> String {
    let args = [
        "get",
        "pod",
        "api",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.ephemeralContainers[*].name}",
    ];
    kubectl(&args, None).await.stdout
}

#[tokio::test]
async fn a_privileged_debug_container_on_a_compliant_phi_pod_is_denied() {
    webhook().await;
    let ns = enforced_namespace("wh-debug", true).await;
    let pod = POD.replace("IMAGE", IMAGE);
    expect_allowed(&kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&pod)).await);
    let image = format!("--image={IMAGE}");
    // No -it: the bare API server has no node, the pod exists as an object only.
    let debug = |profile: &'static str| {
        let (ns, image) = (ns.clone(), image.clone());
        async move {
            let profile = format!("--profile={profile}");
            kubectl(&["debug", "api", "-n", &ns, &image, &profile], None).await
        }
    };
    let out = debug("sysadmin").await;
    expect_denied(
        &out,
        &[
            &format!("HIPAA Guard denied the ephemeral containers of Pod {ns}/api"),
            "[HIPAA-K8S-PRIVILEGED] 164.312(a)(1):",
            "is privileged",
        ],
    );
    assert_eq!(ephemeral_containers(&ns).await, "");
    // The restricted profile (non-root, no escalation) joins the pod.
    let out = debug("restricted").await;
    expect_allowed(&out);
    assert!(
        ephemeral_containers(&ns).await.starts_with("debugger-"),
        "{out}"
    );
}

fn production_deployment(name: &str) -> String {
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
      topologySpreadConstraints:
        - {{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {{matchLabels: {{app: {name}}}}}}}
      containers:
        - name: app
          image: {IMAGE}
          securityContext: {{allowPrivilegeEscalation: false}}
"#
    )
}

async fn replicas(ns: &str) -> String {
    let args = [
        "get",
        "deployment",
        "api",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.replicas}",
    ];
    kubectl(&args, None).await.stdout
}

#[tokio::test]
async fn scaling_a_production_deployment_below_the_minimum_is_denied_unless_autoscaled() {
    webhook().await;
    let client = control_plane().await.unwrap().client().await.unwrap();
    let ns = fresh_namespace(&client, "wh-scale", &[PHI, ENFORCE, PRODUCTION])
        .await
        .unwrap();
    let apply = ["apply", "-n", &ns, "-f", "-"];
    expect_allowed(&kubectl(&apply, Some(DEFAULT_DENY)).await);
    // Retried until the webhook's cache holds the NetworkPolicy just created.
    let deployment = production_deployment("api");
    kubectl_until(
        &apply,
        Some(&deployment),
        "the compliant Deployment is admitted",
        |o| o.success(),
    )
    .await;
    let scale = |to: &'static str| {
        let ns = ns.clone();
        async move { kubectl(&["scale", "deployment", "api", "-n", &ns, to], None).await }
    };
    expect_denied(
        &scale("--replicas=1").await,
        &[
            &format!("HIPAA Guard denied the scale of Deployment {ns}/api"),
            "[HIPAA-K8S-HA] 164.308(a)(7)(ii)(C):",
            "to 1 replica(s) leaves fewer than 2",
            "kinds: [Deployment], names: [api]",
        ],
    );
    assert_eq!(replicas(&ns).await, "2");
    expect_allowed(&scale("--replicas=3").await);

    let autoscaler = r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 6
"#;
    expect_allowed(&kubectl(&apply, Some(autoscaler)).await);
    // Admitted once the webhook's cache holds the autoscaler.
    let args = ["scale", "deployment", "api", "-n", &ns, "--replicas=1"];
    kubectl_until(&args, None, "the scale is admitted", CmdOutput::success).await;
    assert_eq!(replicas(&ns).await, "1");
}
