//! The webhook while its API server is away: it keeps answering reviews from its caches (and
//! stays ready, the outage being shorter than its staleness bound), and once the API server is
//! back it enforces a policy created then.

use std::time::{Duration, Instant};

use hipaa_testkit::{PrivateControlPlane, apply_yaml, fresh_namespace};

use crate::operator_support::{governed, policy_yaml};
use crate::support::{OUTAGE, QUIET_RESUME, RECOVERY_BOUND, Webhook, figure, wait_until};

#[tokio::test]
async fn the_webhook_answers_from_its_caches_while_the_apiserver_is_down_and_enforces_a_policy_made_after()
 {
    let mut plane = PrivateControlPlane::start().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let before = fresh_namespace(&client, "fault-before", &governed("before"))
        .await
        .unwrap();
    let after = fresh_namespace(&client, "fault-after", &governed("after"))
        .await
        .unwrap();
    apply_yaml(&client, &policy_yaml("fault-before", "before", ""))
        .await
        .unwrap();
    let webhook = Webhook::start(&plane, "webhook-down", &[]).await.unwrap();
    webhook.until_denied(&before, RECOVERY_BOUND).await.unwrap();
    assert!(
        webhook.allows_privileged_pod(&after).await.unwrap(),
        "no policy selects it yet"
    );

    plane.stop_apiserver();
    let down = Instant::now();
    // Long enough for kube-runtime's default backoff to reach its cap (30 s, and up to 60 s with
    // its jitter): the outage that left the caches a minute behind before the shared backoff.
    while down.elapsed() < OUTAGE {
        assert!(
            !webhook.allows_privileged_pod(&before).await.unwrap(),
            "judged from the caches"
        );
        assert!(webhook.allows_privileged_pod(&after).await.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, body) = webhook.readyz().await.unwrap();
    assert_eq!(
        status, 200,
        "a short outage stays within the staleness bound: {body}"
    );
    let metrics = webhook.metrics().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "hipaaguard_webhook_cache_out_of_sync_seconds{resource=\"hipaapolicies\"}"
        ) && !l.ends_with(" 0.0")),
        "the policies' cache is out of sync while the API server is down:\n{metrics}"
    );

    plane.start_apiserver().await.unwrap();
    let client = plane.client().await.unwrap();
    apply_yaml(&client, &policy_yaml("fault-after", "after", ""))
        .await
        .unwrap();
    let took = webhook.until_denied(&after, RECOVERY_BOUND).await.unwrap();
    figure(
        "webhook: policy created right after the API server restart, enforced after",
        took,
    );
    assert!(!webhook.allows_privileged_pod(&before).await.unwrap());
    // The policies' cache saw the new policy: in sync. A quiet cache that resumed its watch
    // without a relist says nothing, and counts as resumed 35 s after its last error (MIN_QUIET).
    let in_sync = |metrics: &str, all: bool| {
        metrics
            .lines()
            .filter(|l| l.starts_with("hipaaguard_webhook_cache_out_of_sync_seconds{"))
            .filter(|l| all || l.contains("\"hipaapolicies\""))
            .all(|l| l.ends_with(" 0.0"))
    };
    assert!(in_sync(&webhook.metrics().await.unwrap(), false));
    wait_until("every cache to be back in sync", QUIET_RESUME, || async {
        Ok(in_sync(&webhook.metrics().await?, true))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_webhook_whose_caches_stay_stale_beyond_its_bound_reports_not_ready_and_recovers() {
    let mut plane = PrivateControlPlane::start().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let webhook = Webhook::start(&plane, "webhook-stale", &["--cache-stale-after=2s"])
        .await
        .unwrap();
    let down = Instant::now();
    plane.stop_apiserver();
    wait_until("/readyz to fail", RECOVERY_BOUND, || async {
        Ok(!webhook.ready().await)
    })
    .await
    .unwrap();
    assert!(
        down.elapsed() >= Duration::from_secs(2),
        "{:?}",
        down.elapsed()
    );
    let (status, body) = webhook.readyz().await.unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("out of sync for longer than 2s"), "{body}");
    plane.start_apiserver().await.unwrap();
    let back = Instant::now();
    wait_until("/readyz to pass again", QUIET_RESUME, || async {
        Ok(webhook.ready().await)
    })
    .await
    .unwrap();
    figure(
        "webhook: ready again after the API server returned",
        back.elapsed(),
    );
}
