//! HIPAA Guard installed the way users install it, on a real node: the images built by
//! `make images`, `helm install` of the chart, pods behind Services, probes, the operator's
//! leader election, a rolling `helm upgrade` and a webhook pod deleted while a client keeps
//! applying, the leader killed, and `helm uninstall`. Every node test lives in this one binary:
//! the node (tests/src/node.rs) is one per machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "cluster_e2e/certificates.rs"]
mod certificates;
#[path = "cluster_e2e/fixtures.rs"]
mod fixtures;
#[path = "cluster_e2e/load.rs"]
mod load;
#[path = "cluster_e2e/release.rs"]
mod release;
#[path = "cluster_e2e/story.rs"]
mod story;

use hipaa_testkit::{NODE_NAME, POD_CIDR, fresh_namespace, node, run};

/// The node itself: Ready, the pod traffic rule in place, and a Deployment of the locally built
/// pause image available through the scheduler, the kubelet, containerd and the CNI bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_runs_a_deployment_of_a_locally_built_image() {
    let node = node().await.unwrap();
    eprintln!("node ready {:.1?} after the start", node.started_in());
    fixtures::import_workload_image(node);
    let rules = run(
        std::process::Command::new("iptables").args(["-S", "FORWARD"]),
        None,
    )
    .unwrap();
    assert!(
        rules.stdout.contains(&format!("-s {POD_CIDR}")) && rules.stdout.contains("-j DROP"),
        "the rule that keeps pod traffic on this machine is missing:\n{rules}"
    );

    let client = node.client().await.unwrap();
    let namespace = fresh_namespace(&client, "node", &[]).await.unwrap();
    let took = fixtures::run_compliant(&client, &namespace, "pause", 2).await;
    eprintln!("2-replica Deployment available {took:.1?} after the apply");
    let pods = run(
        node.kubectl()
            .args(["get", "pods", "-n", &namespace, "-o", "wide"]),
        None,
    )
    .unwrap();
    assert!(
        pods.success() && pods.stdout.matches("Running").count() == 2,
        "{pods}"
    );
    assert!(pods.stdout.contains(NODE_NAME), "{pods}");
}

/// The whole story a platform team lives through; see `story.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn helm_install_upgrade_failover_and_uninstall_on_the_node() {
    story::install_upgrade_failover_uninstall().await;
}
