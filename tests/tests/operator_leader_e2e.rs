//! Two `hipaa-operator` replicas with `--leader-elect` on the real control plane: only the
//! leader reconciles and writes status; when the leader is killed (SIGKILL, no chance to release
//! the Lease) the other takes over within the lease duration and keeps the status current; a
//! leader stopped with SIGTERM releases the Lease and exits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::process::Command;
use std::time::{Duration, Instant};

use hipaa_testkit::{apply_yaml, apply_yaml_in, processes_of_run, run_dir, wait_for};
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
    let Case {
        plane,
        client,
        case,
        ns,
    } = Case::governed("leader", "op-leader").await.unwrap();
    let lease = format!("{case}-lease");
    apply_yaml_in(&client, &ns, &compliant_deployment("api"))
        .await
        .unwrap();

    let (a, b) = (format!("{case}-a"), format!("{case}-b"));
    let first = Operator::start(
        plane,
        &case,
        "operator-leader-a",
        &election_args(&lease, &ns, &a),
    )
    .await
    .unwrap();
    wait_for(
        "replica a to hold the lease",
        Duration::from_secs(20),
        || async { Ok((holder(&client, &ns, &lease).await? == Some(a.clone())).then_some(())) },
    )
    .await
    .unwrap();
    let mut second = Operator::start(
        plane,
        &case,
        "operator-leader-b",
        &election_args(&lease, &ns, &b),
    )
    .await
    .unwrap();

    let name = format!("{case}-policy");
    apply_yaml(&client, &policy_yaml(&name, &case, ""))
        .await
        .unwrap();
    wait_policy(
        &client,
        &name,
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
    assert!(!second.guard.log_contents().contains("status written"));
    assert!(first.guard.log_contents().contains("status written"));

    // Crash the leader: it cannot release the Lease, so the standby waits for it to expire.
    sigkill(&a);
    let killed = Instant::now();
    wait_for(
        "replica b to take the lease",
        Duration::from_secs(LEASE_SECONDS * 3),
        || async { Ok((holder(&client, &ns, &lease).await? == Some(b.clone())).then_some(())) },
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
    apply_yaml_in(&client, &ns, &privileged_deployment("api"))
        .await
        .unwrap();
    wait_policy(
        &client,
        &name,
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
        second.guard.log_contents().contains("released the lease"),
        "{}",
        second.guard.log_tail(30)
    );
    assert_eq!(holder(&client, &ns, &lease).await.unwrap(), None);
}
