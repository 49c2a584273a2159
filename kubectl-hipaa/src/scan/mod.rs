//! `kubectl hipaa scan`: read manifests, build the context, pick each object's policy, judge
//! with the engine, print. The verdicts are the engine's; this module is the I/O around it.

pub mod context;
pub mod judge;
pub mod manifests;
pub mod model;
pub mod policies;
pub mod typed;

use std::io::Read;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::cli::{GlobalArgs, ScanArgs};
use crate::cluster;
use crate::input::{self, InputError};
use context::{LiveContext, build_context};
use manifests::Manifests;
use model::ScanReport;
use policies::{PolicyScope, load_policy_files};

/// Why a scan could not run. Every variant exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0:#}")]
    Cluster(anyhow::Error),
}

/// Runs a scan and returns its report (printing is the caller's).
pub fn run(
    args: &ScanArgs,
    global: &GlobalArgs,
    stdin: &mut dyn Read,
    now: DateTime<Utc>,
) -> Result<ScanReport, ScanError> {
    let inputs = input::expand(&args.files)?;
    let file_policies = load_policy_files(&args.policy)?;
    let live = if args.cluster {
        Some(read_cluster(global).map_err(ScanError::Cluster)?)
    } else {
        None
    };
    let default_namespace = global
        .namespace
        .clone()
        .or_else(|| live.as_ref().map(|(_, ns)| ns.clone()))
        .unwrap_or_else(|| "default".to_string());
    let live = live.map(|(context, _)| context);

    let mut manifests = Manifests::default();
    input::read_documents::<InputError>(&inputs, stdin, |file, document| {
        if let Some(object) = typed::typed_object(document.text, &default_namespace) {
            manifests.add_object(object, file.clone(), document.content_line);
            return Ok(());
        }
        let value = input::parse_document(file, document)?;
        for object in input::objects_of_document(file, document, value)? {
            manifests.add(object, &default_namespace)?;
        }
        Ok(())
    })?;

    let ctx = build_context(&manifests, live.as_ref());
    let mut notes = Vec::new();
    let policies = if !file_policies.is_empty() {
        file_policies
    } else if let Some(live) = &live {
        if live.policies.is_empty() {
            notes.push(
                "the cluster has no HipaaPolicy: judged against the catalog defaults".to_string(),
            );
        }
        live.policies.clone()
    } else {
        Vec::new()
    };
    let mut scope = PolicyScope::new(policies);
    let mut report = judge::judge(manifests, &ctx, &mut scope, args.fail_on, now);
    report.summary.notes.extend(notes);
    Ok(report)
}

/// The live context and the kubeconfig context's namespace.
fn read_cluster(global: &GlobalArgs) -> anyhow::Result<(LiveContext, String)> {
    let runtime = cluster::runtime()?;
    runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let live = cluster::read::live_context(&connection.client)
            .await
            .with_context(|| format!("cannot read the cluster at {}", connection.server_url))?;
        Ok((live, connection.default_namespace))
    })
}
