//! The Helm release under test on the node: install, upgrade and uninstall with the real helm,
//! and the waits that read the cluster's own answer (Deployments available, pods Ready, the
//! operator's Lease).

use std::process::Command;
use std::time::{Duration, Instant};

use hipaa_testkit::{Node, run_with_timeout, wait_for};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

pub const RELEASE: &str = "hipaa-guard";
pub const NAMESPACE: &str = "hipaa-guard";
pub const WEBHOOK: &str = "hipaa-guard-webhook";
pub const OPERATOR: &str = "hipaa-guard-operator";

pub fn chart() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/hipaa-guard")
}

/// `helm install|upgrade` of the chart with both images at `tag`, waiting for the rollout.
/// Returns how long helm took.
pub fn helm_apply(node: &Node, verb: &str, tag: &str) -> Duration {
    let began = Instant::now();
    let mut cmd: Command = node.helm();
    cmd.arg(verb)
        .arg(RELEASE)
        .arg(chart())
        .args(["--namespace", NAMESPACE, "--create-namespace"])
        .args(["--set", &format!("webhook.image.tag={tag}")])
        .args(["--set", &format!("operator.image.tag={tag}")])
        // Images are imported into the node, never pulled.
        .args(["--set", "webhook.image.pullPolicy=Never"])
        .args(["--set", "operator.image.pullPolicy=Never"])
        .args(["--wait", "--timeout", "5m"]);
    let out = run_with_timeout(&mut cmd, None, Duration::from_secs(330)).unwrap();
    assert!(out.success(), "helm {verb} failed:\n{out}");
    began.elapsed()
}

/// Waits until the Deployment has every replica updated to `image`, Ready and available, and
/// no pod of an older ReplicaSet is left.
pub async fn wait_rolled_out(client: &kube::Client, name: &str, image: &str, timeout: Duration) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    wait_for(
        &format!("{name} rolled out with {image}"),
        timeout,
        || async {
            let deployment = deployments.get(name).await?;
            let want = deployment
                .spec
                .as_ref()
                .and_then(|s| s.replicas)
                .unwrap_or(1);
            let status = deployment.status.clone().unwrap_or_default();
            let done = status.updated_replicas == Some(want)
                && status.ready_replicas == Some(want)
                && status.available_replicas == Some(want)
                && status.replicas == Some(want);
            if !done {
                return Ok(None);
            }
            let selector = format!(
                "app.kubernetes.io/name=hipaa-guard,app.kubernetes.io/component={}",
                component(name)
            );
            let running = pods.list(&ListParams::default().labels(&selector)).await?;
            let all_new = running.items.iter().all(|pod| {
                pod.spec.as_ref().is_some_and(|s| {
                    s.containers
                        .iter()
                        .all(|c| c.image.as_deref().is_some_and(|i| i.ends_with(image)))
                })
            });
            Ok((all_new && running.items.len() == want as usize).then_some(()))
        },
    )
    .await
    .unwrap();
}

fn component(deployment: &str) -> &str {
    deployment.rsplit('-').next().unwrap_or(deployment)
}

/// The pods of one component, Ready or not.
pub async fn component_pods(client: &kube::Client, deployment: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let selector = format!(
        "app.kubernetes.io/name=hipaa-guard,app.kubernetes.io/component={}",
        component(deployment)
    );
    pods.list(&ListParams::default().labels(&selector))
        .await
        .unwrap()
        .items
}

/// The holder of the operator's Lease, once one of the operator pods holds it.
pub async fn leader(client: &kube::Client, timeout: Duration) -> String {
    let leases: Api<Lease> = Api::namespaced(client.clone(), NAMESPACE);
    let pods = component_pods(client, OPERATOR).await;
    let names: Vec<String> = pods
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    wait_for("an operator pod to hold the Lease", timeout, || async {
        let lease = leases.get_opt(OPERATOR).await?;
        let holder = lease.and_then(|l| l.spec).and_then(|s| s.holder_identity);
        Ok(holder.filter(|h| names.contains(h)))
    })
    .await
    .unwrap()
}

/// Seconds from a pod's creation to its Ready condition (the kubelet's own timestamps).
pub fn seconds_to_ready(pod: &Pod) -> Option<i64> {
    let created = pod.metadata.creation_timestamp.as_ref()?.0;
    let ready = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?
        .last_transition_time
        .as_ref()?
        .0;
    Some(ready.as_second() - created.as_second())
}

/// What a failed wait prints: the registered webhook configuration and both components' recent
/// logs, read through the API server.
pub fn diagnostics(node: &Node) -> String {
    let mut out = String::new();
    let mut kubectl = |args: &[&str]| {
        if let Ok(result) =
            run_with_timeout(node.kubectl().args(args), None, Duration::from_secs(20))
        {
            out.push_str(&format!("$ kubectl {}\n{}\n", args.join(" "), result));
        }
    };
    kubectl(&[
        "get",
        "validatingwebhookconfiguration",
        RELEASE,
        "-o",
        "yaml",
    ]);
    for component in ["operator", "webhook"] {
        kubectl(&[
            "logs",
            "-n",
            NAMESPACE,
            "-l",
            &format!("app.kubernetes.io/component={component}"),
            "--tail=40",
            "--prefix",
        ]);
    }
    out
}
