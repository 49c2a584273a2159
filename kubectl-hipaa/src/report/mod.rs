//! `kubectl hipaa report`: an evidence report organised by HIPAA section (164.308, 164.312).
//! For each control: the result (from the HipaaPolicy statuses), what was checked (Kubernetes
//! resources and AWS resources, by name), when, and the finding messages; then the exceptions
//! with justification, approver and expiry; the cluster's identity and the report's time.

pub mod html;
pub mod inventory;
pub mod markdown;
pub mod model;
pub mod sections;

use std::io::Write;

use anyhow::Context as _;
use chrono::Utc;
use hipaa_controls::EffectivePolicy;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::cli::{GlobalArgs, ReportArgs, ReportFormat};
use crate::cluster;
use crate::status::read_policies;
use model::{ClusterIdentity, EvidenceReport, ReportInputs};

/// Reads the cluster, builds the report and writes it to `--output` or `out`.
pub fn run(args: &ReportArgs, global: &GlobalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let now = Utc::now();
    let runtime = cluster::runtime()?;
    let report = runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let client = &connection.client;
        let version = client
            .apiserver_version()
            .await
            .context("cannot read the cluster's /version")?;
        let mut policies = read_policies(client, args.policy.as_deref()).await?;
        if let Some(name) = &global.namespace {
            let ns = Api::<Namespace>::all(client.clone())
                .get(name)
                .await
                .with_context(|| format!("cannot read namespace {name}"))?;
            policies.retain(|p| EffectivePolicy::selects(p, &ns));
        }
        let inventory =
            inventory::read(client, &policies, global.namespace.as_deref(), now).await?;
        anyhow::Ok(model::build(&ReportInputs {
            policies: &policies,
            selected_namespaces: &inventory.selected_namespaces,
            checked: &inventory.checked,
            cluster: ClusterIdentity {
                server: connection.server_url.clone(),
                version: Some(version.git_version),
                platform: Some(version.platform),
            },
            namespace: global.namespace.clone(),
            now,
        }))
    })?;
    let text = render(&report, args.format)?;
    match &args.output_file {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// The report in `format`.
pub fn render(report: &EvidenceReport, format: ReportFormat) -> anyhow::Result<String> {
    Ok(match format {
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Html => html::render(report),
        ReportFormat::Json => serde_json::to_string_pretty(report)? + "\n",
    })
}
