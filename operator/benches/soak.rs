//! Soak benchmark (not a test): the release `hipaa-operator` on the testkit's real API server
//! under a churn of object changes (default 50/s across 500 namespaces, one policy over all of
//! them) for a long time. Prints a row per interval and the totals against the targets of
//! issue 16: change → status p99 ≤ 1 s, RSS within 10% of the start, Events rate-limited, and the
//! operator's request rate to the API server (counted by the API server per FlowSchema: the
//! operator runs as a ServiceAccount of its own, see `soak/identity.rs`).
//!
//! `make soak-operator` (`SOAK_SECONDS=60 make soak-operator` for a short run), or
//! `cargo bench -p hipaa-operator --bench soak -- --seconds 600 --rate 50 --namespaces 500`;
//! every flag has an env fallback; `--json FILE` writes the figures as JSON too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "soak/churn.rs"]
mod churn;
mod common;
#[path = "soak/identity.rs"]
mod identity;
#[path = "soak/observe.rs"]
mod observe;
#[path = "soak/report.rs"]
mod report;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{control_plane, free_port, processes_of_run, run_dir, spawn_guarded};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::*;

#[derive(Parser)]
struct Options {
    /// Measured seconds (after the warm-up).
    #[arg(long, env = "SOAK_SECONDS", default_value_t = 600)]
    seconds: u64,
    /// Object changes per second, open loop.
    #[arg(long, env = "SOAK_OPERATOR_RATE", default_value_t = 50.0)]
    rate: f64,
    /// Namespaces the changes go round.
    #[arg(long, env = "SOAK_OPERATOR_NAMESPACES", default_value_t = 500)]
    namespaces: usize,
    /// Seconds a Deployment stays privileged before the churn turns it back.
    #[arg(long, env = "SOAK_OPERATOR_VIOLATION_SECONDS", default_value_t = 2.0)]
    violation_seconds: f64,
    /// Seconds between RSS samples and rows of the table.
    #[arg(long, env = "SOAK_INTERVAL", default_value_t = 60)]
    interval: u64,
    /// Seconds of churn before the measurement starts.
    #[arg(long, env = "SOAK_WARMUP", default_value_t = 10)]
    warmup: u64,
    /// Also write the figures as JSON to this file.
    #[arg(long, env = "SOAK_OPERATOR_JSON")]
    json: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let interval = Duration::from_secs(options.interval.max(1));
    let rounds = options.seconds.div_ceil(interval.as_secs()).max(1);
    let seconds = rounds * interval.as_secs();
    let plane = control_plane().await?;
    plane.install_hipaa_crd().await?;
    let client = plane.client().await?;
    let run = format!("soak-{}", std::process::id());
    let identity = identity::operator_identity(
        &client,
        &run,
        plane.server_url(),
        plane.ca_file(),
        run_dir()?,
    )
    .await?;

    eprintln!("creating {} namespaces ...", options.namespaces);
    let started = Instant::now();
    let namespaces: Vec<String> = (0..options.namespaces)
        .map(|i| format!("{run}-{i:03}"))
        .collect();
    populate(&client, &run, &namespaces).await?;
    eprintln!(
        "created {} objects in {:.0?}",
        namespaces.len() * 3,
        started.elapsed()
    );
    let mut policy_value = policy(&run);
    let name = policy_value["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
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

    let admin = free_port();
    let mut cmd = Command::new(operator_binary());
    cmd.args([
        "--admin-listen",
        &format!("127.0.0.1:{admin}"),
        "--policy-selector",
        &format!("{BENCH_LABEL}={run}"),
    ])
    .env("KUBECONFIG", &identity.kubeconfig)
    .env(
        "RUST_LOG",
        std::env::var("SOAK_OPERATOR_LOG").unwrap_or_else(|_| "warn".to_owned()),
    );
    let operator = spawn_guarded(cmd, "soak-operator")?;
    let policies: Api<HipaaPolicy> = Api::all(client.clone());
    hipaa_testkit::wait_for("the first audit", Duration::from_secs(120), || async {
        let status = policies.get(&name).await?.status;
        let evaluated = status
            .and_then(|s| s.summary)
            .map_or(0, |s| s.resources_evaluated);
        Ok((evaluated as usize >= namespaces.len() * 2).then_some(()))
    })
    .await?;
    let pid = operator_pid().context("the operator's pid")?;

    let lag = (options.violation_seconds * options.rate / 2.0)
        .round()
        .max(1.0) as u64;
    eprintln!(
        "churn: {:.0} changes/s, each Deployment privileged for {lag} pairs ({:.1} s); {} s of \
         warm-up, then {seconds} s measured",
        options.rate, options.violation_seconds, options.warmup
    );
    let measure_from = Instant::now() + Duration::from_secs(options.warmup);
    let until = measure_from + interval * u32::try_from(rounds)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let shared = Arc::new(namespaces.clone());
    let churning = tokio::spawn(churn::run(
        client.clone(),
        shared,
        options.rate,
        lag,
        until,
        tx,
    ));
    let watching = tokio::spawn(observe::watch(
        client.clone(),
        name.clone(),
        namespaces.clone(),
        rx,
        Duration::from_secs(30),
    ));
    let mut ticks = Vec::new();
    for round in 0..=rounds {
        tokio::time::sleep_until((measure_from + interval * round as u32).into()).await;
        let tick = tick(&client, &identity.flow_schema, pid, admin).await;
        eprintln!("interval {round}: {tick:?}");
        ticks.push(tick);
    }
    let sent = churning.await?;
    let observed = watching.await?;
    let events = count_events(&client, &run, &name).await?;
    let setup = report::Setup {
        namespaces: options.namespaces,
        rate: options.rate,
        seconds,
        interval,
        measure_from,
        changes_sent: sent.changes,
        changes_failed: sent.failed,
    };
    let json = report::report(&setup, &observed, &ticks, events);
    if let Some(path) = options.json {
        std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
        println!("JSON: {}", path.display());
    }
    drop(operator);
    Ok(())
}

/// Every namespace (staging, in the policy's scope) with a default-deny NetworkPolicy and the
/// churn's Deployment, compliant: nothing violates until the churn starts.
async fn populate(client: &Client, run: &str, namespaces: &[String]) -> anyhow::Result<()> {
    let apply = PatchParams::apply("soak").force();
    futures::stream::iter(namespaces.iter().enumerate())
        .map(|(i, ns)| {
            let apply = apply.clone();
            async move {
                let namespace: Namespace = serde_json::from_value(namespace(ns, run, 2 * i + 1))?;
                Api::<Namespace>::all(client.clone())
                    .patch(ns, &apply, &Patch::Apply(&namespace))
                    .await?;
                let contents = namespace_contents(ns);
                let netpol: NetworkPolicy = serde_json::from_value(contents[0].clone())?;
                Api::<NetworkPolicy>::namespaced(client.clone(), ns)
                    .patch("default-deny", &apply, &Patch::Apply(&netpol))
                    .await?;
                churn::set(client, ns, false).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// The samples at an interval's end.
async fn tick(client: &Client, flow_schema: &str, pid: u32, admin: u16) -> report::Tick {
    let (_, rss_mib) = memory_of(&format!("/proc/{pid}/status"));
    let requests = identity::dispatched_requests(client, flow_schema)
        .await
        .unwrap_or(f64::NAN);
    let metrics = operator_metrics(admin).await.unwrap_or_default();
    let sum = |prefix: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    report::Tick {
        rss_mib,
        requests,
        events: sum("hipaaguard_operator_events_total{"),
        held_back: sum("hipaaguard_operator_events_rate_limited_total"),
    }
}

/// The operator's /metrics text, over plain HTTP/1.0 on its admin port.
async fn operator_metrics(admin: u16) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", admin)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await?;
    Ok(text)
}

/// Event objects about the soak's namespaces and policy, and how many times they happened.
async fn count_events(
    client: &Client,
    run: &str,
    policy: &str,
) -> anyhow::Result<report::EventCount> {
    let events = Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let mut count = report::EventCount::default();
    for event in events.items.iter().filter(|e| {
        let regarding = e.regarding.as_ref();
        let namespace = regarding
            .and_then(|r| r.namespace.as_deref())
            .unwrap_or_default();
        let name = regarding
            .and_then(|r| r.name.as_deref())
            .unwrap_or_default();
        namespace.starts_with(&format!("{run}-")) || name == policy
    }) {
        count.objects += 1;
        count.occurrences += event.series.as_ref().map_or(1, |s| s.count.max(1) as u64);
    }
    Ok(count)
}

/// The operator binary: the release build of this bench, or `HIPAA_BENCH_OPERATOR`.
fn operator_binary() -> String {
    std::env::var("HIPAA_BENCH_OPERATOR")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hipaa-operator").to_string())
}

/// The operator process of this run (found by its binary path).
fn operator_pid() -> Option<u32> {
    let binary = operator_binary();
    run_dir()
        .ok()
        .map(processes_of_run)
        .unwrap_or_default()
        .into_iter()
        .find(|(_, cmdline)| cmdline.starts_with(&binary))
        .map(|(pid, _)| pid)
}
