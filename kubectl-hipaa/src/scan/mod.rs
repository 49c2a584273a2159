//! `kubectl hipaa scan`: read the context from the manifests, then read them again judging each
//! object (picking its policy) as it is read, print. The verdicts are the engine's; this module
//! is the I/O around it.

pub mod assumption;
pub mod context;
pub mod fix_json;
pub mod judge;
pub mod manifests;
pub mod model;
pub mod passes;
pub mod policies;
pub mod served;
pub mod skipped;
pub mod strict;
pub mod typed;

use std::io::Read;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::cli::{GlobalArgs, ScanArgs, ScanFormat};
use crate::cluster;
use crate::input::{self, InputError, ReadLimits};
use assumption::{NamespaceAssumer, NamespaceAssumption};
use context::{LiveContext, build_context};
use judge::Judge;
use model::ScanReport;
use passes::{ReadOptions, Sources, check_not_empty, read_context, read_judged};
use policies::{PolicyScope, load_policy_files};
use served::ServedApis;

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
    let limits = ReadLimits {
        max_input_bytes: args.max_input_size,
    };
    let inputs = input::expand(&args.files)?;
    let file_policies = load_policy_files(&args.policy, &limits)?;
    let live = if args.cluster {
        Some(read_cluster(global).map_err(ScanError::Cluster)?)
    } else {
        None
    };
    let default_namespace = global
        .namespace
        .clone()
        .or_else(|| live.as_ref().map(|(_, ns, _)| ns.clone()))
        .unwrap_or_else(|| "default".to_string());
    let (live, served) = match live {
        Some((context, _, served)) => (Some(context), served),
        None => (None, ServedApis::BuiltIn),
    };
    let options = ReadOptions {
        default_namespace: default_namespace.clone(),
        strict: args.strict,
        served,
    };

    let sources = Sources::new(inputs, stdin, limits)?;
    let context = read_context(&sources, &options)?;
    let mut ctx = build_context(&context, live.as_ref());
    drop(context);
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
    let assumption = NamespaceAssumption::from_flags(
        args.assumption.assume_namespace_labels.as_ref(),
        args.assumption.no_assume_namespace,
        args.cluster,
    );
    let with_fixes = matches!(
        args.output,
        ScanFormat::Json | ScanFormat::Sarif | ScanFormat::Junit
    );
    let mut judge = Judge::new(&mut ctx, &mut scope, NamespaceAssumer::new(assumption), now)
        .with_fixes(with_fixes);
    let manifests = read_judged(&sources, &options, &mut |object| {
        judge.judge(object);
    })?;
    check_not_empty(&manifests, sources.inputs(), args.allow_empty)?;
    notes.extend(manifests.skipped.not_objects_sentence());
    if args.verbose {
        notes.extend(manifests.skipped.not_object_lines());
    }
    let mut report = judge.finish(manifests, args.fail_on);
    report.summary.notes.extend(notes);
    Ok(report)
}

/// The live context, the kubeconfig context's namespace, and the apiVersions the cluster serves
/// for the kinds HIPAA Guard reads.
fn read_cluster(global: &GlobalArgs) -> anyhow::Result<(LiveContext, String, ServedApis)> {
    let runtime = cluster::runtime()?;
    runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let cannot_read = || format!("cannot read the cluster at {}", connection.server_url);
        let live = cluster::read::live_context(&connection.client)
            .await
            .with_context(cannot_read)?;
        let groups = served::discovery_groups();
        let served = cluster::discovery::served_kinds(&connection.client, &groups)
            .await
            .with_context(cannot_read)?
            .into_iter()
            .filter(|(_, kind)| served::is_built_in_kind(kind))
            .collect();
        Ok((
            live,
            connection.default_namespace,
            ServedApis::Cluster(std::sync::Arc::new(served)),
        ))
    })
}
