//! A process that starts a control plane and moto (`hold`, `panic`) or a node running a pod
//! (`node`), prints `run-dir <path>`, and then waits to be killed (`hold`, `node`) or panics
//! (`panic`). The smoke tests and the node's cleanup test use it to prove that nothing of a run
//! survives its test process: no server, no directory, and no change to the host.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "hold" | "panic" => {
            hipaa_testkit::control_plane().await?;
            hipaa_testkit::moto().await?;
        }
        "node" => start_node_with_a_pod().await?,
        _ => bail!("usage: hipaa-testkit-probe hold|panic|node"),
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "run-dir {}", hipaa_testkit::run_dir()?.display())?;
    stdout.flush()?;
    if mode == "panic" {
        // Give the parent time to see the servers before this process dies.
        tokio::time::sleep(Duration::from_secs(2)).await;
        panic!("hipaa-testkit-probe panics on purpose");
    }
    std::future::pending::<()>().await;
    Ok(())
}

/// The node, with one running pod of the pause image: a sandbox, a container, its mounts, its
/// network namespace and veth, and kube-proxy's chains are all on the host when the probe dies.
async fn start_node_with_a_pod() -> anyhow::Result<()> {
    let node = hipaa_testkit::node().await?;
    let image = node.import_image("pause")?;
    let client = node.client().await?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe"},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "pause", "image": image, "imagePullPolicy": "Never"}],
        },
    }))?;
    pods.create(&PostParams::default(), &pod)
        .await
        .context("creating the probe's pod")?;
    hipaa_testkit::wait_for(
        "the probe's pod to run",
        Duration::from_secs(60),
        || async {
            let phase = pods.get("probe").await?.status.and_then(|s| s.phase);
            Ok((phase.as_deref() == Some("Running")).then_some(()))
        },
    )
    .await
}
