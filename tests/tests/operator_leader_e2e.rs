//! Two `hipaa-operator` replicas with `--leader-elect` on the real control plane: only the
//! leader reconciles and writes status; when the leader is killed (SIGKILL, no chance to release
//! the Lease) the other takes over within the lease duration and keeps the status current; a
//! leader stopped with SIGTERM releases the Lease and exits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::process::Command;
use std::time::{Duration, Instant};

use hipaa_testkit::{processes_of_run, run_dir, wait_for};
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use operator_support::*;

const LEASE_SECONDS: u64 = 6;
const LEASE_DURATION: &str = "6s";
/// The standby cannot take over before the lease expires; after that it needs one read and one
/// write of the Lease, which a loaded API server may take a moment for.
const TAKEOVER_SLACK: Duration = Duration::from_secs(2);

async fn holder(client: &Client, namespace: &str, lease: &str) -> anyhow::Result<Option<String>> {
    let lease = Api::<Lease>::namespaced(client.clone(), namespace)
        .get_opt(lease)
        .await?;
    Ok(lease
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

/// The election flags of one replica, with a short lease so that the test stays quick.
fn election_args<'a>(lease: &'a str, namespace: &'a str, identity: &'a str) -> Vec<&'a str> {
    vec![
        "--leader-elect",
        "--lease-name",
        lease,
        "--lease-namespace",
        namespace,
        "--leader-identity",
        identity,
        "--lease-duration",
        LEASE_DURATION,
        "--lease-renew-interval",
        "2s",
    ]
}

/// Waits until `identity` holds the lease.
async fn wait_holder(
    client: &Client,
    namespace: &str,
    lease: &str,
    identity: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    wait_for(
        &format!("{identity} to hold the lease"),
        timeout,
        || async {
            let holds = holder(client, namespace, lease).await?.as_deref() == Some(identity);
            Ok(holds.then_some(()))
        },
    )
    .await
}

/// SIGKILLs the operator process started with `--leader-identity identity`.
fn sigkill(identity: &str) {
    let needle = format!("--leader-identity {identity} ");
    let pids: Vec<u32> = processes_of_run(run_dir().unwrap())
        .into_iter()
        .filter(|(_, cmdline)| {
            cmdline.contains("hipaa-operator")
                && !cmdline.starts_with("sh ")
                && format!("{cmdline} ").contains(&needle)
        })
        .map(|(pid, _)| pid)
        .collect();
    assert_eq!(
        pids.len(),
        1,
        "exactly one operator process for {identity}: {pids:?}"
    );
    let status = Command::new("kill")
        .arg("-KILL")
        .arg(pids[0].to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn only_the_leader_writes_and_the_other_takes_over_within_the_lease_duration() {
    let case = Case::governed("leader", "op-leader").await.unwrap();
    let (client, ns) = (&case.client, case.ns.as_str());
    let lease = format!("{}-lease", case.label);
    case.apply(&compliant_deployment("api")).await.unwrap();

    let (a, b) = (format!("{}-a", case.label), format!("{}-b", case.label));
    let first = case
        .start_operator("operator-leader-a", &election_args(&lease, ns, &a))
        .await
        .unwrap();
    wait_holder(client, ns, &lease, &a, Duration::from_secs(20))
        .await
        .unwrap();
    let mut second = case
        .start_operator("operator-leader-b", &election_args(&lease, ns, &b))
        .await
        .unwrap();

    let (name, _) = case
        .apply_policy_until(
            "",
            "compliant",
            Duration::from_secs(30),
            compliant_is("True"),
        )
        .await
        .unwrap();

    let writes = format!("hipaaguard_operator_status_writes_total{{policy=\"{name}\"}}");
    let reconciles = format!("hipaaguard_operator_reconciles_total{{policy=\"{name}\"}}");
    assert!(first.metric(&writes).await.unwrap() >= 1.0);
    assert_eq!(
        first.metric("hipaaguard_operator_leader").await.unwrap(),
        1.0
    );
    assert_eq!(
        second.metric("hipaaguard_operator_leader").await.unwrap(),
        0.0
    );
    assert_eq!(
        second.metric(&reconciles).await.unwrap(),
        0.0,
        "the standby does not reconcile"
    );
    assert_eq!(
        second.metric(&writes).await.unwrap(),
        0.0,
        "the standby does not write"
    );
    assert!(!second.logged("status written"));
    assert!(first.logged("status written"));

    // Crash the leader: it cannot release the Lease, so the standby waits for it to expire.
    sigkill(&a);
    let killed = Instant::now();
    wait_holder(
        client,
        ns,
        &lease,
        &b,
        Duration::from_secs(LEASE_SECONDS * 3),
    )
    .await
    .unwrap();
    let took = killed.elapsed();
    eprintln!(
        "the standby took over {took:?} after the leader was killed (lease {LEASE_SECONDS}s)"
    );
    assert!(
        took <= Duration::from_secs(LEASE_SECONDS) + TAKEOVER_SLACK,
        "took over after {took:?}, lease duration {LEASE_SECONDS}s"
    );

    // The new leader keeps the status current.
    case.apply(&privileged_deployment("api")).await.unwrap();
    case.wait_policy(
        "non-compliant",
        Duration::from_secs(15),
        compliant_is("False"),
    )
    .await
    .unwrap();
    assert!(second.metric(&writes).await.unwrap() >= 1.0);
    assert_eq!(
        second.metric("hipaaguard_operator_leader").await.unwrap(),
        1.0
    );

    // SIGTERM: graceful shutdown releases the Lease and exits 0.
    let status = second.guard.kill().unwrap();
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        second.guard.log_tail(30)
    );
    assert!(
        second.logged("released the lease"),
        "{}",
        second.guard.log_tail(30)
    );
    assert_eq!(holder(client, ns, &lease).await.unwrap(), None);
}
