//! The operator's own identity on the soak's API server, so that its requests can be counted
//! apart from the churn's: a ServiceAccount bound to cluster-admin, a token for it in a
//! kubeconfig of its own, and a FlowSchema that classifies exactly that ServiceAccount. The API
//! server's `apiserver_request_total` has no user label, but API Priority and Fairness counts
//! every request it dispatches per FlowSchema
//! (`apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Resource};
use serde_json::json;

/// What the operator runs as, and where its requests are counted.
pub struct Identity {
    pub kubeconfig: PathBuf,
    pub flow_schema: String,
}

/// Creates the ServiceAccount, its binding, its FlowSchema and a kubeconfig with its token.
pub async fn operator_identity(
    client: &Client,
    run: &str,
    server: &str,
    ca_file: &Path,
    dir: &Path,
) -> anyhow::Result<Identity> {
    let namespace = format!("{run}-system");
    let account = "hipaa-operator";
    apply(
        client,
        "v1",
        "Namespace",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
    )
    .await?;
    apply(
        client,
        "v1",
        "ServiceAccount",
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": account, "namespace": namespace}}),
    )
    .await?;
    apply(client, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("{run}-operator")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]}))
    .await?;
    let flow_schema = format!("{run}-operator");
    let level = priority_level(client).await?;
    apply(
        client,
        "flowcontrol.apiserver.k8s.io/v1",
        "FlowSchema",
        json!({
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
        "metadata": {"name": flow_schema},
        "spec": {"priorityLevelConfiguration": {"name": level}, "matchingPrecedence": 100,
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [{"subjects": [{"kind": "ServiceAccount",
                    "serviceAccount": {"name": account, "namespace": namespace}}],
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                    "clusterScope": true, "namespaces": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}}),
    )
    .await?;
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(6 * 3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .context("a token for the operator's ServiceAccount")?
        .status
        .context("the TokenRequest has no status")?
        .token;
    let kubeconfig = dir.join("operator.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: soak\n  cluster:\n    server: {server}\n    \
             certificate-authority: {}\nusers:\n- name: operator\n  user:\n    token: \"{token}\"\n\
             contexts:\n- name: soak\n  context:\n    cluster: soak\n    user: operator\ncurrent-context: soak\n",
            ca_file.display()
        ),
    )?;
    Ok(Identity {
        kubeconfig,
        flow_schema,
    })
}

/// A priority level with room for a controller: `workload-high` when the API server made its
/// suggested levels, else the mandatory `global-default`... or `catch-all`.
async fn priority_level(client: &Client) -> anyhow::Result<&'static str> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "PriorityLevelConfiguration",
    ));
    let levels: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    for name in ["workload-high", "global-default"] {
        if levels.get_opt(name).await?.is_some() {
            return Ok(name);
        }
    }
    Ok("catch-all")
}

async fn apply(
    client: &Client,
    api_version: &str,
    kind: &str,
    value: serde_json::Value,
) -> anyhow::Result<()> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let object: DynamicObject = serde_json::from_value(value)?;
    let name = object.meta().name.clone().context("no name")?;
    let api: Api<DynamicObject> = match object.meta().namespace.as_deref() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        &name,
        &PatchParams::apply("soak").force(),
        &Patch::Apply(&object),
    )
    .await
    .with_context(|| format!("applying {kind} {name}"))?;
    Ok(())
}

/// Requests the API server dispatched for `flow_schema` so far (every request it served, watches
/// counted once when they start), from its metrics.
pub async fn dispatched_requests(client: &Client, flow_schema: &str) -> anyhow::Result<f64> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client.request_text(request).await?;
    let label = format!("flow_schema=\"{flow_schema}\"");
    Ok(text
        .lines()
        .filter(|line| {
            line.starts_with("apiserver_flowcontrol_dispatched_requests_total{")
                && line.contains(&label)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}
