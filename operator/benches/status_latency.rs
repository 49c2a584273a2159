//! Benchmark: the time from a change on the real API server to the updated HipaaPolicy status,
//! p50 and p99, with one namespace in scope and then with 10,000 workloads in 100 namespaces in
//! scope (created through the API; the operator's memory with all of it cached is reported too).
//! Runs the release `hipaa-operator` against the testkit's control plane:
//! `cargo bench -p hipaa-operator --bench status_latency` (`HIPAA_BENCH_OPERATOR=PATH` runs another
//! build of the operator); figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{StreamExt, TryStreamExt};
use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{
    ChildGuard, control_plane, free_port, processes_of_run, run_dir, spawn_guarded, wait_for,
};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::{ApiResource, Discovery};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::watch;

use common::*;

const FLIPS_SMALL: usize = 100;
const FLIPS_LARGE: usize = 40;
const NAMESPACES: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plane = control_plane().await?;
    plane.install_hipaa_crd().await?;
    let client = plane.client().await?;
    let run = format!("lat-{}", std::process::id());

    let admin = free_port();
    let mut cmd = Command::new(operator_binary());
    cmd.args([
        "--admin-listen",
        &format!("127.0.0.1:{admin}"),
        "--policy-selector",
        &format!("{BENCH_LABEL}={run}"),
    ])
    .env("KUBECONFIG", plane.kubeconfig())
    .env("RUST_LOG", "warn");
    let operator = spawn_guarded(cmd, "bench-operator")?;

    let probe_ns = format!("{run}-probe");
    create_all(&client, vec![namespace(&probe_ns, &run, 1)]).await?; // not production: no HA rule
    create_all(&client, vec![namespace_contents(&probe_ns).remove(0)]).await?; // the NetworkPolicy
    set_probe(&client, &probe_ns, false).await?;
    let policy_value = policy(&run);
    let name = policy_value["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let mut policy_value = policy_value;
    policy_value["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("generation");
    Api::<HipaaPolicy>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(policy_value)?,
        )
        .await?;
    let compliance = watch_compliance(client.clone(), &name);
    wait_compliant(&compliance, "True", Duration::from_secs(60))
        .await
        .context("first audit")?;

    let small = measure(&client, &probe_ns, &compliance, FLIPS_SMALL).await?;
    report("1 namespace in scope", &small);

    eprintln!(
        "creating {NAMESPACES} namespaces with {} workloads each ...",
        WORKLOADS_PER_NAMESPACE
    );
    let started = Instant::now();
    create_all(&client, storage_classes()).await.ok(); // exist already on a rerun
    let mut namespaces = Vec::new();
    for i in 0..NAMESPACES {
        let ns = format!("{run}-{i:03}");
        namespaces.push(namespace(&ns, &run, i));
    }
    create_all(&client, namespaces).await?;
    let accounts: Vec<_> = (0..NAMESPACES)
        .map(|i| json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": format!("{run}-{i:03}")}}))
        .collect();
    create_all(&client, accounts).await?;
    let contents: Vec<_> = (0..NAMESPACES)
        .flat_map(|i| namespace_contents(&format!("{run}-{i:03}")))
        .collect();
    let total = contents.len();
    create_all(&client, contents).await?;
    eprintln!("created {total} objects in {:.0?}", started.elapsed());
    let expected = NAMESPACES * (WORKLOADS_PER_NAMESPACE + 13 + 1);
    let policies: Api<HipaaPolicy> = Api::all(client.clone());
    wait_for(
        "the audit of everything",
        Duration::from_secs(300),
        || async {
            let p = policies.get(&name).await?;
            let evaluated = p
                .status
                .and_then(|s| s.summary)
                .map(|s| s.resources_evaluated as usize)
                .unwrap_or(0);
            Ok((evaluated >= expected).then_some(evaluated))
        },
    )
    .await?;
    // The probe namespace is compliant; the synthetic ones are not, so flip on the evaluated count.
    let large = measure_by_count(&client, &probe_ns, &policies, &name, FLIPS_LARGE).await?;
    report(
        &format!(
            "{NAMESPACES} namespaces, {} workloads in scope",
            NAMESPACES * WORKLOADS_PER_NAMESPACE
        ),
        &large,
    );

    let (hwm, rss) = operator_memory(&operator);
    println!("operator process with everything cached: VmHWM {hwm:.1} MiB, VmRSS {rss:.1} MiB");
    drop(operator);
    Ok(())
}

/// Applies the probe Deployment, privileged or not.
async fn set_probe(client: &Client, namespace: &str, privileged: bool) -> anyhow::Result<()> {
    let security = if privileged {
        json!({"privileged": true})
    } else {
        json!({"allowPrivilegeEscalation": false})
    };
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "probe"},
        "spec": {"selector": {"matchLabels": {"app": "probe"}}, "template": {
            "metadata": {"labels": {"app": "probe"}, "annotations": {"linkerd.io/inject": "enabled"}},
            "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "probe",
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/probe:1.0.0", "securityContext": security}]}}}});
    Api::<Deployment>::namespaced(client.clone(), namespace)
        .patch(
            "probe",
            &PatchParams::apply("bench").force(),
            &Patch::Apply(&deployment),
        )
        .await?;
    Ok(())
}

/// The Compliant condition of the policy as the watch delivers it, with when it arrived.
fn watch_compliance(client: Client, name: &str) -> watch::Receiver<(String, Instant)> {
    let (tx, rx) = watch::channel((String::new(), Instant::now()));
    let api: Api<HipaaPolicy> = Api::all(client);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, config).default_backoff().applied_objects());
        while let Ok(Some(policy)) = stream.try_next().await {
            let status = compliant_of(&policy);
            if tx.borrow().0 != status {
                let _ = tx.send((status, Instant::now()));
            }
        }
    });
    rx
}

fn compliant_of(policy: &HipaaPolicy) -> String {
    policy
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Compliant"))
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

async fn wait_compliant(
    rx: &watch::Receiver<(String, Instant)>,
    wanted: &str,
    timeout: Duration,
) -> anyhow::Result<Instant> {
    let mut rx = rx.clone();
    let seen = tokio::time::timeout(timeout, rx.wait_for(|(status, _)| status == wanted)).await??;
    Ok(seen.1)
}

/// Flips the probe `flips` times; each sample is change accepted → status watched.
async fn measure(
    client: &Client,
    ns: &str,
    rx: &watch::Receiver<(String, Instant)>,
    flips: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut samples = Vec::new();
    for i in 0..flips {
        let privileged = i % 2 == 0;
        let started = Instant::now();
        set_probe(client, ns, privileged).await?;
        let seen = wait_compliant(
            rx,
            if privileged { "False" } else { "True" },
            Duration::from_secs(30),
        )
        .await?;
        samples.push((seen - started).as_secs_f64() * 1e3);
    }
    Ok(samples)
}

/// With the large scope the policy stays non-compliant: watch the violation count instead (the
/// probe's violation adds one).
async fn measure_by_count(
    client: &Client,
    ns: &str,
    policies: &Api<HipaaPolicy>,
    name: &str,
    flips: usize,
) -> anyhow::Result<Vec<f64>> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let count = |p: &HipaaPolicy| {
        p.status
            .as_ref()
            .and_then(|s| s.summary.as_ref())
            .map(|s| s.violations)
            .unwrap_or(0)
    };
    let baseline = count(&policies.get(name).await?);
    let mut samples = Vec::new();
    let mut stream = std::pin::pin!(
        watcher(policies.clone(), config)
            .default_backoff()
            .applied_objects()
    );
    for i in 0..flips {
        let privileged = i % 2 == 0;
        let wanted = if privileged { baseline + 1 } else { baseline };
        let started = Instant::now();
        set_probe(client, ns, privileged).await?;
        loop {
            let policy = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
                .await??
                .context("watch ended")?;
            if count(&policy) == wanted {
                break;
            }
        }
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(samples)
}

fn report(what: &str, samples: &[f64]) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    println!(
        "change -> status ({what}, {} changes): p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        sorted.len(),
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.9),
        quantile(&sorted, 0.99),
        quantile(&sorted, 1.0)
    );
}

/// Creates every object (32 requests at a time); objects that already exist are an error.
async fn create_all(client: &Client, objects: Vec<serde_json::Value>) -> anyhow::Result<()> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let resource_of = |value: &serde_json::Value| -> anyhow::Result<ApiResource> {
        let object: DynamicObject = serde_json::from_value(value.clone())?;
        let types = object.types.clone().context("no apiVersion/kind")?;
        let gvk = kube::api::GroupVersionKind::try_from(&types)?;
        let (resource, _) = discovery
            .resolve_gvk(&gvk)
            .with_context(|| format!("{gvk:?} not served"))?;
        Ok(resource)
    };
    futures::stream::iter(objects)
        .map(|value| {
            let client = client.clone();
            let resource = resource_of(&value);
            async move {
                let resource = resource?;
                let object: DynamicObject = serde_json::from_value(value)?;
                let api: Api<DynamicObject> = match object.namespace() {
                    Some(ns) => Api::namespaced_with(client, &ns, &resource),
                    None => Api::all_with(client, &resource),
                };
                api.create(&PostParams::default(), &object)
                    .await
                    .with_context(|| format!("creating {}", object.name_any()))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// The operator binary to run: the release build of this bench, or `HIPAA_BENCH_OPERATOR`, a
/// copy built another way, to compare builds of the same code in one harness (the allocator was
/// chosen so, docs/benchmarks.md).
fn operator_binary() -> String {
    std::env::var("HIPAA_BENCH_OPERATOR")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hipaa-operator").to_string())
}

/// VmHWM and VmRSS of the operator process (found by its binary path in this run).
fn operator_memory(_operator: &ChildGuard) -> (f64, f64) {
    let binary = operator_binary();
    let pid = run_dir()
        .ok()
        .map(processes_of_run)
        .unwrap_or_default()
        .into_iter()
        .find(|(_, cmdline)| cmdline.starts_with(&binary))
        .map(|(pid, _)| pid);
    match pid {
        Some(pid) => memory_of(&format!("/proc/{pid}/status")),
        None => (f64::NAN, f64::NAN),
    }
}
