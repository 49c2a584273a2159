//! The operator through control-plane faults: the API server restarted in the middle of
//! reconciles and etcd restarted, then a change made after recovery; and a SIGKILL of the
//! operator while it writes a status. Every policy's status is right afterwards, and Events are
//! not repeated (at most one per violation).

use std::time::{Duration, Instant};

use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{PrivateControlPlane, apply_yaml, apply_yaml_in, fresh_namespace};
use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::operator_support::{
    DEFAULT_DENY, audited, governed, non_compliant_deployment, policy_yaml, wait_policy,
};
use crate::support::{
    OUTAGE, RECOVERY_BOUND, count_events, figure, start_operator, start_operator_with_grace,
    wait_until,
};

/// The reason of the operator's violation Events.
const VIOLATION: &str = "HipaaViolation";

fn violations(policy: &HipaaPolicy) -> Option<u32> {
    Some(policy.status.as_ref()?.summary.as_ref()?.violations)
}

fn audited_with(count: u32) -> impl Fn(&HipaaPolicy) -> bool {
    move |p| audited(p) && violations(p) == Some(count)
}

#[tokio::test]
async fn the_operator_reconnects_after_apiserver_and_etcd_restarts_without_an_event_storm() {
    let mut plane = PrivateControlPlane::start().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let cases = ["alpha", "beta", "gamma"];
    let mut namespaces = Vec::new();
    for case in cases {
        let ns = fresh_namespace(&client, &format!("fault-{case}"), &governed(case))
            .await
            .unwrap();
        apply_yaml_in(&client, &ns, DEFAULT_DENY).await.unwrap();
        apply_yaml_in(&client, &ns, &non_compliant_deployment("worker"))
            .await
            .unwrap();
        apply_yaml(&client, &policy_yaml(case, case, ""))
            .await
            .unwrap();
        namespaces.push(ns);
    }
    let operator = start_operator(&plane, "operator-restarts", &[])
        .await
        .unwrap();
    // Each namespace: SECRETS-IN-ENV, PRIVILEGED and IMAGE-REGISTRY on `worker`.
    let mut expected = Vec::new();
    for case in cases {
        let policy = operator
            .wait_policy(&client, case, "audited", RECOVERY_BOUND, audited)
            .await
            .unwrap();
        expected.push(violations(&policy).unwrap());
    }
    // One violation Event each, published after the status: wait until all have landed.
    let total: u32 = expected.iter().sum();
    wait_until("every violation's Event", RECOVERY_BOUND, || async {
        Ok(count_events(&client, VIOLATION).await? >= i32::try_from(total)?)
    })
    .await
    .unwrap();
    let events_before = count_events(&client, VIOLATION).await.unwrap();

    // Every policy's spec changes, and the API server dies while they are being reconciled.
    let policies: Api<HipaaPolicy> = Api::all(client.clone());
    for case in cases {
        let patch = serde_json::json!({"spec": {"auditInterval": "9m"}});
        policies
            .patch(case, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    plane.stop_apiserver();
    tokio::time::sleep(OUTAGE).await;
    let started = Instant::now();
    plane.start_apiserver().await.unwrap();
    figure(
        "private API server start after the outage (to ready)",
        started.elapsed(),
    );
    let client = plane.client().await.unwrap();
    let back = Instant::now();
    for (case, count) in cases.iter().zip(&expected) {
        operator
            .wait_policy(
                &client,
                case,
                "audited again",
                RECOVERY_BOUND,
                audited_with(*count),
            )
            .await
            .unwrap();
    }
    figure(
        "operator: every policy re-audited after the API server restart",
        back.elapsed(),
    );

    let away = plane.restart_etcd().await.unwrap();
    figure("private etcd restart (down to API server ready)", away);
    let recovered = Instant::now();
    // A change after recovery: a second non-compliant Deployment in the first namespace.
    apply_yaml_in(&client, &namespaces[0], &non_compliant_deployment("late"))
        .await
        .unwrap();
    let (_, took) = wait_policy(
        &client,
        cases[0],
        "showing the new Deployment",
        RECOVERY_BOUND,
        audited_with(expected[0] + 3),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\noperator log:\n{}", operator.guard.log_tail(60)));
    figure(
        "operator: change made right after the etcd restart, in the status after",
        took,
    );
    for (case, count) in cases.iter().zip(&expected).skip(1) {
        let policy = policies.get(case).await.unwrap();
        assert!(
            audited_with(*count)(&policy),
            "{case}: {:#?}",
            policy.status
        );
    }
    println!("recovered in {:.2} s", recovered.elapsed().as_secs_f64());

    // Let any late Events land, then count: the restarts add none, the new Deployment three.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events_after = count_events(&client, VIOLATION).await.unwrap();
    println!("violation Events: {events_before} before the faults, {events_after} after");
    assert!(
        events_after - events_before <= 3,
        "an Event storm: {events_before} before, {events_after} after"
    );
}

#[tokio::test]
async fn a_sigkilled_operator_converges_on_restart_with_at_most_one_event_per_violation() {
    let plane = PrivateControlPlane::start().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let ns = fresh_namespace(&client, "fault-kill", &governed("kill"))
        .await
        .unwrap();
    apply_yaml_in(&client, &ns, DEFAULT_DENY).await.unwrap();
    for n in 0..4 {
        apply_yaml_in(
            &client,
            &ns,
            &non_compliant_deployment(&format!("worker-{n}")),
        )
        .await
        .unwrap();
    }
    let mut operator = start_operator_with_grace(&plane, "operator-killed", &[], 0)
        .await
        .unwrap();
    apply_yaml(&client, &policy_yaml("kill", "kill", ""))
        .await
        .unwrap();
    // Killed as soon as the audit shows: its status write (or the Events after it) in flight.
    let log_line = "audited";
    operator
        .guard
        .wait_for_log(log_line, RECOVERY_BOUND)
        .await
        .unwrap();
    operator.guard.kill();
    let restarted = Instant::now();
    let operator = start_operator(&plane, "operator-restarted", &[])
        .await
        .unwrap();
    // 4 Deployments × SECRETS-IN-ENV, PRIVILEGED and IMAGE-REGISTRY.
    let expected = 12;
    operator
        .wait_policy(
            &client,
            "kill",
            "converged",
            RECOVERY_BOUND,
            audited_with(expected),
        )
        .await
        .unwrap();
    figure(
        "operator: status converged after a SIGKILL and restart",
        restarted.elapsed(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events = count_events(&client, VIOLATION).await.unwrap();
    println!("violation Events after the kill and restart: {events} for {expected} violations");
    assert!(
        events <= i32::try_from(expected).unwrap(),
        "{events} Events for {expected} violations"
    );
}
