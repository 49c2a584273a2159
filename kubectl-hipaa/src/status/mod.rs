//! `kubectl hipaa status`: per HipaaPolicy, the enforcement, the score, failing controls with
//! counts, the worst violations, exceptions that expired or expire within 14 days, and the last
//! audit time, all read from the status the operator wrote.

pub mod table;
pub mod view;

use std::io::Write;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use hipaa_controls::{EffectivePolicy, HipaaPolicy};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use serde::Serialize;

use crate::cli::{GlobalArgs, StatusArgs, StatusFormat};
use crate::cluster;
use crate::output::Style;
use view::{PolicyView, policy_view};

/// The document `-o json` and `-o yaml` print.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDocument {
    /// With `-n`: the namespace whose policies and violations are shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub policies: Vec<PolicyView>,
}

/// Reads the policies and prints their status.
pub fn run(args: &StatusArgs, global: &GlobalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let runtime = cluster::runtime()?;
    let (policies, namespace) = runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let policies = read_policies(&connection.client, args.policy.as_deref()).await?;
        let namespace = match &global.namespace {
            Some(name) => Some(
                Api::<Namespace>::all(connection.client.clone())
                    .get(name)
                    .await
                    .with_context(|| format!("cannot read namespace {name}"))?,
            ),
            None => None,
        };
        anyhow::Ok((policies, namespace))
    })?;
    let document = status_document(&policies, namespace.as_ref(), Utc::now());
    match args.output {
        StatusFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
        }
        StatusFormat::Yaml => out.write_all(yaml_serde::to_string(&document)?.as_bytes())?,
        StatusFormat::Table => {
            table::write(&document, Style::for_stdout(args.color), Utc::now(), out)?
        }
    }
    Ok(())
}

/// The named policy, or every policy sorted by name.
pub async fn read_policies(
    client: &kube::Client,
    name: Option<&str>,
) -> anyhow::Result<Vec<HipaaPolicy>> {
    let api = Api::<HipaaPolicy>::all(client.clone());
    if let Some(name) = name {
        return match api.get_opt(name).await {
            Ok(Some(policy)) => Ok(vec![policy]),
            Ok(None) => bail!("HipaaPolicy {name} not found"),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                bail!("the HipaaPolicy CRD is not installed (install the hipaa-guard chart)")
            }
            Err(err) => Err(err).with_context(|| format!("cannot read HipaaPolicy {name}")),
        };
    }
    let Some(mut policies) = cluster::read::hipaa_policies(client).await? else {
        bail!("the HipaaPolicy CRD is not installed (install the hipaa-guard chart)");
    };
    policies.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(policies)
}

/// The views of `policies`; with `namespace`, only the policies that select it and its violations.
pub fn status_document(
    policies: &[HipaaPolicy],
    namespace: Option<&Namespace>,
    now: DateTime<Utc>,
) -> StatusDocument {
    let namespace_name = namespace.and_then(|ns| ns.metadata.name.clone());
    StatusDocument {
        policies: policies
            .iter()
            .filter(|p| namespace.is_none_or(|ns| EffectivePolicy::selects(p, ns)))
            .map(|p| policy_view(p, namespace_name.as_deref(), now))
            .collect(),
        namespace: namespace_name,
    }
}
