//! The churn: object changes at a fixed rate (open loop: sent when due, whatever the API server
//! or the operator do) across every namespace. Changes come in pairs: one namespace's Deployment
//! turns privileged (a violation), and the one that turned privileged `lag` pairs earlier turns
//! compliant again, so that about `lag` violations stand at any time (below the 100 the status
//! lists, so the status shows each one) and every namespace is changed in turn.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

/// One change sent.
#[derive(Clone, Debug)]
pub struct Change {
    pub namespace: usize,
    pub privileged: bool,
    /// When the request was sent (the latency counts from here).
    pub sent: Instant,
    pub due: Instant,
}

/// What the churn did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    pub changes: u64,
    /// Changes the API server refused or did not answer.
    pub failed: u64,
}

/// Change `k` of the churn: which namespace, and whether it turns privileged; None in the
/// first `lag` pairs, where there is nothing to turn back yet.
pub fn change(k: u64, namespaces: usize, lag: u64) -> Option<(usize, bool)> {
    let pair = k / 2;
    let n = namespaces.max(1) as u64;
    if k.is_multiple_of(2) {
        Some(((pair % n) as usize, true))
    } else {
        let back = pair.checked_sub(lag)?;
        Some(((back % n) as usize, false))
    }
}

/// The churn's Deployment in each namespace, privileged or not (otherwise compliant).
pub fn deployment(privileged: bool) -> Value {
    let security = if privileged {
        json!({"privileged": true})
    } else {
        json!({"allowPrivilegeEscalation": false})
    };
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "churn"},
        "spec": {"selector": {"matchLabels": {"app": "churn"}}, "template": {
            "metadata": {"labels": {"app": "churn"}, "annotations": {"linkerd.io/inject": "enabled"}},
            "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "churn",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1.0.0",
                "securityContext": security}]}}}})
}

pub async fn set(client: &Client, namespace: &str, privileged: bool) -> kube::Result<()> {
    Api::<Deployment>::namespaced(client.clone(), namespace)
        .patch(
            "churn",
            &PatchParams::apply("soak").force(),
            &Patch::Apply(&deployment(privileged)),
        )
        .await
        .map(|_| ())
}

/// Sends changes at `rate` per second until `until`, at most 64 in flight; each is reported on
/// `changes` as it is sent (before the answer: the status may show it first).
pub async fn run(
    client: Client,
    namespaces: Arc<Vec<String>>,
    rate: f64,
    lag: u64,
    until: Instant,
    changes: mpsc::UnboundedSender<Change>,
) -> Sent {
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let in_flight = Arc::new(Semaphore::new(64));
    let failed = Arc::new(AtomicU64::new(0));
    let mut sent = 0;
    let mut tasks = Vec::new();
    for k in 0u32.. {
        let due = start + period * k;
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let Some((index, privileged)) = change(u64::from(k), namespaces.len(), lag) else {
            continue;
        };
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let (client, namespaces) = (client.clone(), Arc::clone(&namespaces));
        let _ = changes.send(Change {
            namespace: index,
            privileged,
            sent: Instant::now(),
            due,
        });
        let failed = Arc::clone(&failed);
        tasks.push(tokio::spawn(async move {
            let namespace = namespaces.get(index).cloned().unwrap_or_default();
            if set(&client, &namespace, privileged).await.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        }));
        sent += 1;
    }
    for task in tasks {
        let _ = task.await;
    }
    Sent {
        changes: sent,
        failed: failed.load(Ordering::Relaxed),
    }
}
