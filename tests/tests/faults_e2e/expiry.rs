//! A watch that expires: etcd's history is compacted past every watch's resourceVersion and the
//! API server restarted, so each watch that resumes gets 410 Gone ("too old resource
//! version"). The webhook and the operator relist and see changes made afterwards.

use std::time::Instant;

use hipaa_testkit::{PrivateControlPlane, apply_yaml, apply_yaml_in, fresh_namespace};

use crate::operator_support::{
    DEFAULT_DENY, audited, governed, non_compliant_deployment, policy_yaml, wait_policy,
};
use crate::support::{RECOVERY_BOUND, Webhook, figure, start_operator};

#[tokio::test]
async fn expired_watches_410_gone_are_relisted_and_later_changes_seen() {
    let mut plane = PrivateControlPlane::start().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let ns = fresh_namespace(&client, "fault-expiry", &governed("expiry"))
        .await
        .unwrap();
    apply_yaml_in(&client, &ns, DEFAULT_DENY).await.unwrap();
    apply_yaml_in(&client, &ns, &non_compliant_deployment("worker"))
        .await
        .unwrap();
    apply_yaml(&client, &policy_yaml("expiry", "expiry", ""))
        .await
        .unwrap();
    let webhook = Webhook::start(&plane, "webhook-expiry", &[]).await.unwrap();
    let operator = start_operator(&plane, "operator-expiry", &[])
        .await
        .unwrap();
    operator
        .wait_policy(&client, "expiry", "audited", RECOVERY_BOUND, audited)
        .await
        .unwrap();

    // History moves on without the watched kinds (ConfigMaps nobody watches), then is compacted.
    let other = fresh_namespace(&client, "fault-churn", &[]).await.unwrap();
    for n in 0..20 {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: churn-{n}}}\ndata: {{n: \"{n}\"}}\n"
        );
        apply_yaml_in(&client, &other, &yaml).await.unwrap();
    }
    let revision = plane.compact_etcd().await.unwrap();
    println!("etcd compacted at revision {revision}");
    plane.restart_apiserver().await.unwrap();
    let client = plane.client().await.unwrap();
    let recovered = Instant::now();
    let late = fresh_namespace(&client, "fault-expiry-late", &governed("expiry-late"))
        .await
        .unwrap();
    apply_yaml(&client, &policy_yaml("expiry-late", "expiry-late", ""))
        .await
        .unwrap();
    apply_yaml_in(&client, &ns, &non_compliant_deployment("late"))
        .await
        .unwrap();
    let denied = webhook.until_denied(&late, RECOVERY_BOUND).await.unwrap();
    figure(
        "webhook: after 410 Gone, a new policy enforced after",
        denied,
    );
    wait_policy(
        &client,
        "expiry",
        "showing the new Deployment",
        RECOVERY_BOUND,
        |p| {
            audited(p)
                && p.status
                    .as_ref()
                    .and_then(|s| s.summary.as_ref())
                    .is_some_and(|s| s.violations == 6)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\noperator log:\n{}", operator.guard.log_tail(60)));
    figure(
        "operator: after 410 Gone, a change in the status after",
        recovered.elapsed(),
    );

    let expired = |log: String| log.contains("too old resource version") || log.contains("410");
    assert!(
        expired(webhook.guard.log_contents()) || expired(operator.guard.log_contents()),
        "no watch saw 410 Gone; webhook log:\n{}\noperator log:\n{}",
        webhook.guard.log_tail(40),
        operator.guard.log_tail(40)
    );
}
