//! A client that applies objects at a steady rate while the cluster changes under it (a rollout,
//! a pod deleted), alternating one that must be admitted and one that must be denied, and
//! records every verdict that was not the expected one.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::fixtures;

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub admitted: usize,
    pub denied: usize,
    /// Applies whose verdict was not the expected one, or that failed some other way.
    pub failures: Vec<String>,
}

impl LoadReport {
    pub fn total(&self) -> usize {
        self.admitted + self.denied + self.failures.len()
    }
}

/// Applies `per_second` objects a second in `namespace` until stopped: even rounds re-apply the
/// compliant Deployment `steady` (an UPDATE the webhook judges; its pods are not replaced),
/// odd rounds a new privileged Deployment that must be denied.
pub struct Load {
    stop: watch::Sender<bool>,
    task: JoinHandle<LoadReport>,
}

impl Load {
    pub fn start(client: kube::Client, namespace: &str, per_second: u32) -> Load {
        let (stop, mut stopped) = watch::channel(false);
        let deployments: Api<Deployment> = Api::namespaced(client, namespace);
        let period = Duration::from_secs(1) / per_second;
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            let mut rounds = Vec::new();
            let mut round = 0u32;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stopped.changed() => break,
                }
                let api = deployments.clone();
                rounds.push(tokio::spawn(apply_round(api, round)));
                round += 1;
            }
            let mut report = LoadReport::default();
            for handle in rounds {
                match handle.await {
                    Ok(Ok(true)) => report.admitted += 1,
                    Ok(Ok(false)) => report.denied += 1,
                    Ok(Err(failure)) => report.failures.push(failure),
                    Err(join) => report.failures.push(format!("apply task: {join}")),
                }
            }
            report
        });
        Load { stop, task }
    }

    pub async fn stop(self) -> LoadReport {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_else(|join| LoadReport {
            failures: vec![format!("load task: {join}")],
            ..LoadReport::default()
        })
    }
}

/// One apply: Ok(true) admitted as expected, Ok(false) denied as expected, Err otherwise.
async fn apply_round(api: Api<Deployment>, round: u32) -> Result<bool, String> {
    let began = Instant::now();
    let params = PatchParams::apply("hipaa-cluster-e2e-load").force();
    let timed = |what: String| format!("round {round} after {:?}: {what}", began.elapsed());
    if round.is_multiple_of(2) {
        let mut steady = fixtures::compliant_deployment("steady", 2);
        steady.metadata.annotations = Some([("load-round".to_string(), round.to_string())].into());
        match api.patch("steady", &params, &Patch::Apply(&steady)).await {
            Ok(_) => Ok(true),
            Err(error) => Err(timed(format!("the compliant apply failed: {error}"))),
        }
    } else {
        let name = format!("privileged-{round}");
        let bad = fixtures::privileged_deployment(&name);
        match api.patch(&name, &params, &Patch::Apply(&bad)).await {
            Ok(_) => Err(timed(format!(
                "the privileged Deployment {name} was admitted"
            ))),
            Err(kube::Error::Api(status))
                if status.message.contains("denied the request")
                    && status.message.contains("HIPAA-K8S-PRIVILEGED")
                    && status.message.contains("164.312(a)(1)") =>
            {
                Ok(false)
            }
            Err(error) => Err(timed(format!(
                "the privileged apply failed otherwise: {error}"
            ))),
        }
    }
}
