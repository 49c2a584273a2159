//! Which Secrets Manager secrets the Kubernetes objects of the two common integrations name:
//! a `SecretProviderClass` (secrets-store.csi.x-k8s.io, provider `aws`) lists them in
//! `spec.parameters.objects`; an `ExternalSecret` (external-secrets.io) names them in
//! `remoteRef.key` / `extract.key`, through a SecretStore or ClusterSecretStore whose provider is
//! AWS Secrets Manager. Plain functions over the cached objects, indexed by what a pod refers to.

use std::collections::HashMap;
use std::sync::Arc;

use kube::ResourceExt;
use kube::api::DynamicObject;
use serde::Deserialize;
use serde_json::Value;

/// A Secrets Manager secret named by a Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretReference {
    /// The region the object names (or the secret's ARN); `None` means the policy's region.
    pub region: Option<String>,
    /// A secret name or ARN.
    pub id: String,
}

/// The cached integration objects (each list empty when its CRD is absent).
#[derive(Clone, Debug, Default)]
pub struct SecretSources {
    pub provider_classes: Vec<Arc<DynamicObject>>,
    pub external_secrets: Vec<Arc<DynamicObject>>,
    pub secret_stores: Vec<Arc<DynamicObject>>,
    pub cluster_secret_stores: Vec<Arc<DynamicObject>>,
}

/// The references, keyed by what a pod uses: a SecretProviderClass by namespace and name, the
/// Kubernetes Secret an ExternalSecret writes by namespace and secret name.
#[derive(Clone, Debug, Default)]
pub struct SecretIndex {
    by_provider_class: HashMap<String, HashMap<String, Vec<SecretReference>>>,
    by_kubernetes_secret: HashMap<String, HashMap<String, Vec<SecretReference>>>,
}

impl SecretIndex {
    pub fn new(sources: &SecretSources) -> Self {
        let mut index = SecretIndex::default();
        for class in &sources.provider_classes {
            let references = provider_class_references(class);
            if let (Some(namespace), false) = (class.namespace(), references.is_empty()) {
                index
                    .by_provider_class
                    .entry(namespace)
                    .or_default()
                    .insert(class.name_any(), references);
            }
        }
        for external in &sources.external_secrets {
            let references = external_secret_references(external, sources);
            if let (Some(namespace), false) = (external.namespace(), references.is_empty()) {
                index
                    .by_kubernetes_secret
                    .entry(namespace)
                    .or_default()
                    .entry(target_secret_name(external))
                    .or_default()
                    .extend(references);
            }
        }
        index
    }

    /// The secrets the SecretProviderClass `name` in `namespace` lists.
    pub fn provider_class(&self, namespace: &str, name: &str) -> &[SecretReference] {
        lookup(&self.by_provider_class, namespace, name)
    }

    /// The secrets ExternalSecrets write into the Kubernetes Secret `name` in `namespace`.
    pub fn kubernetes_secret(&self, namespace: &str, name: &str) -> &[SecretReference] {
        lookup(&self.by_kubernetes_secret, namespace, name)
    }
}

fn lookup<'a>(
    map: &'a HashMap<String, HashMap<String, Vec<SecretReference>>>,
    namespace: &str,
    name: &str,
) -> &'a [SecretReference] {
    map.get(namespace)
        .and_then(|names| names.get(name))
        .map_or(&[], Vec::as_slice)
}

/// One entry of a SecretProviderClass's `parameters.objects`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderObject {
    object_name: String,
    #[serde(default)]
    object_type: Option<String>,
}

/// The Secrets Manager secrets an AWS SecretProviderClass lists; none for other providers or
/// unreadable parameters.
pub fn provider_class_references(class: &DynamicObject) -> Vec<SecretReference> {
    let spec = class.data.get("spec");
    if spec.and_then(|s| s.get("provider")).and_then(Value::as_str) != Some("aws") {
        return Vec::new();
    }
    let parameters = spec.and_then(|s| s.get("parameters"));
    let parameter = |name: &str| parameters.and_then(|p| p.get(name)).and_then(Value::as_str);
    let Some(objects) = parameter("objects") else {
        return Vec::new();
    };
    let objects: Vec<ProviderObject> = match yaml_serde::from_str(objects) {
        Ok(objects) => objects,
        Err(error) => {
            tracing::debug!(class = %class.name_any(), error = %hipaa_controls::redact::Redacted(&error), "unreadable SecretProviderClass objects");
            return Vec::new();
        }
    };
    let class_region = parameter("region").filter(|r| !r.is_empty());
    objects
        .into_iter()
        .filter(|object| match object.object_type.as_deref() {
            Some(kind) => kind.eq_ignore_ascii_case("secretsmanager"),
            None => is_secrets_manager_arn(&object.object_name),
        })
        .map(|object| SecretReference {
            region: arn_region(&object.object_name)
                .or(class_region)
                .map(str::to_string),
            id: object.object_name,
        })
        .collect()
}

/// The Secrets Manager secrets an ExternalSecret reads through AWS Secrets Manager stores.
pub fn external_secret_references(
    external: &DynamicObject,
    sources: &SecretSources,
) -> Vec<SecretReference> {
    let spec = external.data.get("spec");
    let namespace = external.namespace().unwrap_or_default();
    let default_store = spec.and_then(|s| s.get("secretStoreRef"));
    let mut references = Vec::new();
    let mut add = |entry: &Value, key: Option<&str>| {
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return;
        };
        let store_ref = entry
            .get("sourceRef")
            .and_then(|s| s.get("storeRef"))
            .or(default_store);
        if let Some(store_region) =
            store_ref.and_then(|r| secrets_manager_store(r, &namespace, sources))
        {
            references.push(SecretReference {
                region: arn_region(key)
                    .or(store_region.as_deref())
                    .map(str::to_string),
                id: key.to_string(),
            });
        }
    };
    let entries = |field: &str| {
        spec.and_then(|s| s.get(field))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for entry in entries("data") {
        let key = entry
            .get("remoteRef")
            .and_then(|r| r.get("key"))
            .and_then(Value::as_str);
        add(&entry, key);
    }
    for entry in entries("dataFrom") {
        let key = entry
            .get("extract")
            .and_then(|e| e.get("key"))
            .and_then(Value::as_str);
        add(&entry, key);
    }
    references
}

/// The Kubernetes Secret an ExternalSecret writes: `spec.target.name`, else its own name.
fn target_secret_name(external: &DynamicObject) -> String {
    external
        .data
        .get("spec")
        .and_then(|s| s.get("target"))
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .map_or_else(|| external.name_any(), str::to_string)
}

/// `Some(region)` when the store `store_ref` names is an AWS Secrets Manager store (the region
/// may be unset), `None` when it is another provider or does not exist.
fn secrets_manager_store(
    store_ref: &Value,
    namespace: &str,
    sources: &SecretSources,
) -> Option<Option<String>> {
    let name = store_ref.get("name").and_then(Value::as_str)?;
    let kind = store_ref
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("SecretStore");
    let store = if kind == "ClusterSecretStore" {
        sources
            .cluster_secret_stores
            .iter()
            .find(|s| s.name_any() == name)
    } else {
        sources
            .secret_stores
            .iter()
            .find(|s| s.name_any() == name && s.namespace().as_deref() == Some(namespace))
    }?;
    let aws = store.data.get("spec")?.get("provider")?.get("aws")?;
    let service = aws.get("service").and_then(Value::as_str)?;
    if service != "SecretsManager" {
        return None;
    }
    Some(
        aws.get("region")
            .and_then(Value::as_str)
            .map(str::to_string),
    )
}

fn is_secrets_manager_arn(id: &str) -> bool {
    id.starts_with("arn:") && id.split(':').nth(2) == Some("secretsmanager")
}

/// The region of an ARN (`arn:partition:service:region:...`).
pub fn arn_region(id: &str) -> Option<&str> {
    if !id.starts_with("arn:") {
        return None;
    }
    id.split(':').nth(3).filter(|region| !region.is_empty())
}

#[cfg(test)]
mod tests;
