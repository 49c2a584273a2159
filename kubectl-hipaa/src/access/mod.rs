//! `kubectl hipaa access`: who can read Secrets, exec into pods or rewrite workloads in the PHI
//! namespaces (those a HipaaPolicy selects), and through which binding, role and rule. Reads the
//! RBAC objects, Namespaces and HipaaPolicies; the answer is the access model's
//! (`hipaa_controls::access`), which a test checks against the API server's own authorizer.

pub mod table;

use std::io::Write;

use anyhow::bail;
use hipaa_controls::access::allow::is_allowed;
use hipaa_controls::access::{Access, AccessModel, Grant, Problem, RbacSet};
use hipaa_controls::catalog::ids;
use hipaa_controls::{EffectivePolicy, HipaaPolicy};
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, ResourceExt};
use serde::Serialize;

use crate::cli::{AccessArgs, AccessFormat, GlobalArgs};
use crate::cluster;
use crate::output::Style;

/// What `-o json` prints.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessDocument {
    pub namespaces: Vec<NamespaceAccess>,
}

/// One grant, and what the namespace's policies say of it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewedGrant {
    #[serde(flatten)]
    pub grant: Grant,
    /// The control that judges this access here (HIPAA-K8S-ACCESS-SECRETS for read-secrets,
    /// HIPAA-K8S-ACCESS-EXEC for exec, attach, port-forward and debug), when the namespace's
    /// policies apply it; None for write-workloads, which no control judges, and out of scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judged_by: Option<&'static str>,
    /// Whether that control's allowedSubjects allow the subject (None when nothing judges it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
}

impl ReviewedGrant {
    /// `grant` under `policy` (the namespace's merged policies; None out of HIPAA scope).
    pub fn judge(grant: Grant, policy: Option<&EffectivePolicy>) -> ReviewedGrant {
        let control = match grant.access {
            Access::ReadSecrets => Some(ids::K8S_ACCESS_SECRETS),
            Access::Exec | Access::Attach | Access::PortForward | Access::Debug => {
                Some(ids::K8S_ACCESS_EXEC)
            }
            Access::WriteWorkloads => None,
        };
        let setting = control
            .zip(policy)
            .and_then(|(id, p)| Some((id, p.setting(id)?)));
        ReviewedGrant {
            judged_by: setting.map(|(id, _)| id),
            allowed: setting.map(|(_, s)| is_allowed(&s.parameters, &grant.subject)),
            grant,
        }
    }

    /// `yes`, `NO` or `-` (not judged), as the tables print it.
    pub fn allowed_text(&self) -> &'static str {
        match self.allowed {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        }
    }
}

/// One namespace's access review.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceAccess {
    pub namespace: String,
    /// The HipaaPolicies that select it (empty: asked for with -n, but out of HIPAA scope).
    pub policies: Vec<String>,
    pub grants: Vec<ReviewedGrant>,
    /// What the model cannot know here (a binding to a missing role): the review is incomplete.
    pub problems: Vec<Problem>,
}

pub fn run(args: &AccessArgs, global: &GlobalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let runtime = cluster::runtime()?;
    let (policies, namespaces, rbac) = runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let client = &connection.client;
        let Some(policies) = cluster::read::hipaa_policies(client).await? else {
            bail!("the HipaaPolicy CRD is not installed (install the hipaa-guard chart)");
        };
        let namespaces =
            cluster::read::every(Api::<Namespace>::all(client.clone()), "namespaces").await?;
        anyhow::Ok((policies, namespaces, cluster::read::rbac(client).await?))
    })?;
    let document = access_document(
        &policies,
        &namespaces,
        &rbac,
        global.namespace.as_deref(),
        args.subject.as_deref(),
    )?;
    match args.output {
        AccessFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
        }
        AccessFormat::Table => table::write(&document, Style::for_stdout(args.color), out)?,
    }
    Ok(())
}

/// The review: every PHI namespace (or only `only_namespace`), its selecting policies, the
/// grants (only `subject`'s, when given: its qualified name, `billing/api` for a
/// ServiceAccount) and the problems.
pub fn access_document(
    policies: &[HipaaPolicy],
    namespaces: &[Namespace],
    rbac: &RbacSet,
    only_namespace: Option<&str>,
    subject: Option<&str>,
) -> anyhow::Result<AccessDocument> {
    if let Some(name) = only_namespace
        && !namespaces.iter().any(|ns| ns.name_any() == name)
    {
        bail!("namespace {name} not found");
    }
    let model = AccessModel::build(&rbac.objects());
    let mut reviewed = Vec::new();
    for namespace in namespaces {
        let name = namespace.name_any();
        let selecting: Vec<String> = policies
            .iter()
            .filter(|policy| EffectivePolicy::selects(policy, namespace))
            .map(ResourceExt::name_any)
            .collect();
        let wanted = match only_namespace {
            Some(only) => only == name,
            None => !selecting.is_empty(),
        };
        if !wanted {
            continue;
        }
        let policy = EffectivePolicy::for_namespace(policies, namespace);
        let grants = model
            .grants_in(&name)
            .into_iter()
            .filter(|grant| subject.is_none_or(|s| grant.subject.qualified_name() == s))
            .map(|grant| ReviewedGrant::judge(grant, policy.as_ref()))
            .collect();
        reviewed.push(NamespaceAccess {
            problems: model.problems_in(&name),
            namespace: name,
            policies: selecting,
            grants,
        });
    }
    reviewed.sort_by(|a, b| a.namespace.cmp(&b.namespace));
    Ok(AccessDocument {
        namespaces: reviewed,
    })
}

#[cfg(test)]
pub(crate) mod tests;
