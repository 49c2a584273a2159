//! `kubectl hipaa access`: who can read Secrets, exec into pods or rewrite workloads in the PHI
//! namespaces (those a HipaaPolicy selects), and through which binding, role and rule. Reads the
//! RBAC objects, Namespaces and HipaaPolicies; the answer is the access model's
//! (`hipaa_controls::access`), which a test checks against the API server's own authorizer.

pub mod table;

use std::io::Write;

use anyhow::{Context as _, bail};
use hipaa_controls::access::{AccessModel, Grant, Problem, RbacObjects};
use hipaa_controls::{EffectivePolicy, HipaaPolicy};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::{Api, Client, ResourceExt};
use serde::Serialize;

use crate::cli::{AccessArgs, AccessFormat, GlobalArgs};
use crate::cluster::{self, read::list_all};
use crate::output::Style;

/// What `-o json` prints.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessDocument {
    pub namespaces: Vec<NamespaceAccess>,
}

/// One namespace's access review.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceAccess {
    pub namespace: String,
    /// The HipaaPolicies that select it (empty: asked for with -n, but out of HIPAA scope).
    pub policies: Vec<String>,
    pub grants: Vec<Grant>,
    /// What the model cannot know here (a binding to a missing role): the review is incomplete.
    pub problems: Vec<Problem>,
}

/// The cluster's RBAC objects, as read.
#[derive(Debug, Default)]
pub struct Rbac {
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

impl Rbac {
    pub fn objects(&self) -> RbacObjects<'_> {
        RbacObjects {
            roles: self.roles.iter().collect(),
            cluster_roles: self.cluster_roles.iter().collect(),
            role_bindings: self.role_bindings.iter().collect(),
            cluster_role_bindings: self.cluster_role_bindings.iter().collect(),
        }
    }
}

pub fn run(args: &AccessArgs, global: &GlobalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let runtime = cluster::runtime()?;
    let (policies, namespaces, rbac) = runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let client = &connection.client;
        let Some(policies) = cluster::read::hipaa_policies(client).await? else {
            bail!("the HipaaPolicy CRD is not installed (install the hipaa-guard chart)");
        };
        let namespaces = read(Api::<Namespace>::all(client.clone()), "namespaces").await?;
        anyhow::Ok((policies, namespaces, read_rbac(client).await?))
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

/// Every RBAC object; a kind the caller may not list is an error naming the permission, since
/// a review without it would leave subjects out.
pub async fn read_rbac(client: &Client) -> anyhow::Result<Rbac> {
    Ok(Rbac {
        roles: read(Api::all(client.clone()), "roles").await?,
        cluster_roles: read(Api::all(client.clone()), "clusterroles").await?,
        role_bindings: read(Api::all(client.clone()), "rolebindings").await?,
        cluster_role_bindings: read(Api::all(client.clone()), "clusterrolebindings").await?,
    })
}

async fn read<K>(api: Api<K>, plural: &str) -> anyhow::Result<Vec<K>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match list_all(&api).await {
        Ok(Some(items)) => Ok(items),
        Ok(None) => bail!("the API server does not serve {plural}"),
        Err(kube::Error::Api(status)) if status.code == 403 => bail!(
            "not allowed to list {plural} in every namespace: the access review needs \
             `list` on {plural} cluster-wide ({})",
            status.message
        ),
        Err(err) => Err(err).with_context(|| format!("cannot list {plural}")),
    }
}

/// The review: every PHI namespace (or only `only_namespace`), its selecting policies, the
/// grants (only `subject`'s, when given: its qualified name, `billing/api` for a
/// ServiceAccount) and the problems.
pub fn access_document(
    policies: &[HipaaPolicy],
    namespaces: &[Namespace],
    rbac: &Rbac,
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
        let grants = model
            .grants_in(&name)
            .into_iter()
            .filter(|grant| subject.is_none_or(|s| grant.subject.qualified_name() == s))
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
