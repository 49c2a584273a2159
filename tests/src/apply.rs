//! Putting objects into the test cluster: server-side apply of (multi-document) YAML with the
//! kind resolved by API discovery, and a fresh namespace per test.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{GroupVersionKind, ObjectMeta};
use kube::discovery::{self, ApiCapabilities, ApiResource, Scope};
use serde::Deserialize;

use crate::wait::wait_for;

/// The field manager of every apply made by this crate.
const FIELD_MANAGER: &str = "hipaa-testkit";

/// How long a kind may take to appear in discovery (e.g. right after its CRD was established).
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// Server-side applies every document of `yaml` (field manager `hipaa-testkit`, forcing conflicts)
/// and returns the objects as the API server stored them. Namespaced objects must name their
/// namespace; use [`apply_yaml_in`] to default it.
pub async fn apply_yaml(client: &Client, yaml: &str) -> anyhow::Result<Vec<DynamicObject>> {
    apply_documents(client, None, yaml).await
}

/// [`apply_yaml`], putting namespaced objects without `metadata.namespace` into `namespace`.
pub async fn apply_yaml_in(
    client: &Client,
    namespace: &str,
    yaml: &str,
) -> anyhow::Result<Vec<DynamicObject>> {
    apply_documents(client, Some(namespace), yaml).await
}

async fn apply_documents(
    client: &Client,
    default_namespace: Option<&str>,
    yaml: &str,
) -> anyhow::Result<Vec<DynamicObject>> {
    let mut applied = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(yaml).enumerate() {
        let mut object = serde_json::Value::deserialize(document)
            .with_context(|| format!("YAML document {} does not parse", index + 1))?;
        if object.is_null() {
            continue;
        }
        let stored = apply_object(client, default_namespace, &mut object)
            .await
            .with_context(|| format!("applying YAML document {}", index + 1))?;
        applied.push(stored);
    }
    Ok(applied)
}

async fn apply_object(
    client: &Client,
    default_namespace: Option<&str>,
    object: &mut serde_json::Value,
) -> anyhow::Result<DynamicObject> {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let api_version = text("/apiVersion").context("the object has no apiVersion")?;
    let kind = text("/kind").context("the object has no kind")?;
    let name =
        text("/metadata/name").with_context(|| format!("the {kind} has no metadata.name"))?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let gvk = GroupVersionKind::gvk(group, version, &kind);
    let (resource, capabilities) = discover(client, &gvk).await?;

    let api: Api<DynamicObject> = match capabilities.scope {
        Scope::Cluster => Api::all_with(client.clone(), &resource),
        Scope::Namespaced => {
            let namespace = match (text("/metadata/namespace"), default_namespace) {
                (Some(namespace), _) => namespace,
                (None, Some(namespace)) => {
                    if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                        meta.insert("namespace".into(), namespace.into());
                    }
                    namespace.to_string()
                }
                (None, None) => bail!(
                    "{kind} {name} is namespaced but names no metadata.namespace; use apply_yaml_in"
                ),
            };
            Api::namespaced_with(client.clone(), &namespace, &resource)
        }
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(&*object))
        .await
        .with_context(|| format!("server-side apply of {kind} {name}"))
}

/// Resolves a kind through API discovery, waiting briefly for kinds that are still being
/// registered (a CRD that was just established).
async fn discover(
    client: &Client,
    gvk: &GroupVersionKind,
) -> anyhow::Result<(ApiResource, ApiCapabilities)> {
    let what = format!(
        "{}/{} {} in API discovery",
        gvk.group, gvk.version, gvk.kind
    );
    wait_for(&what, DISCOVERY_TIMEOUT, || async {
        Ok(Some(discovery::pinned_kind(client, gvk).await?))
    })
    .await
}

static NAMESPACE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a namespace with a unique name `<prefix>-<n>-<random>` (a valid DNS label; the prefix
/// is lowercased and shortened as needed) and the given labels, and returns its name. Namespaces
/// are not deleted: the control plane has no namespace controller, and it is thrown away with the
/// test binary.
pub async fn fresh_namespace(
    client: &Client,
    prefix: &str,
    labels: &[(&str, &str)],
) -> anyhow::Result<String> {
    let name = namespace_name(
        prefix,
        NAMESPACE_COUNTER.fetch_add(1, Ordering::Relaxed),
        random_suffix(),
    );
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(name)
}

fn namespace_name(prefix: &str, counter: u32, suffix: u32) -> String {
    let mut cleaned: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    cleaned = cleaned.trim_matches('-').to_string();
    if cleaned.is_empty() {
        cleaned = "test".to_string();
    }
    format!("{cleaned}-{counter}-{:05x}", suffix & 0xfffff)
}

fn random_suffix() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(std::process::id()) & u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn namespace_names_are_dns_labels() {
        assert_eq!(
            namespace_name("Webhook_E2E", 3, 0xabcde),
            "webhook-e2e-3-abcde"
        );
        assert_eq!(namespace_name("--", 0, 1), "test-0-00001");
        let long = namespace_name(&"x".repeat(100), u32::MAX, u32::MAX);
        assert!(long.len() <= 63, "{long}");
    }
}
