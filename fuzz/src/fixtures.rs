//! The repository's test fixtures, read once per fuzz process: the fixture cluster the webhook's
//! router tests judge against, and the objects of the fixture reviews, by kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository's root (this crate lives in `fuzz/`).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fixture's text; a missing fixture stops the fuzz process at start, before any input.
pub fn read(relative: &str) -> String {
    let path = repository().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("fixture {}: {err}", path.display()))
}

/// Every document of a multi-document YAML text, as JSON (null documents left out).
pub fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    yaml_serde::Deserializer::from_str(text)
        .filter_map(|document| {
            let value: yaml_serde::Value = serde::Deserialize::deserialize(document).ok()?;
            yaml_serde::from_value::<serde_json::Value>(value).ok()
        })
        .filter(|document| !document.is_null())
        .collect()
}

/// The webhook's fixture cluster: three HipaaPolicies (Enforce, Warn, Audit), the namespaces
/// they select and some they do not, and context objects.
pub fn cluster_documents() -> Vec<serde_json::Value> {
    yaml_documents(&read("webhook/tests/fixtures/cluster.yaml"))
}

/// The names of the fixture cluster's namespaces.
pub fn namespaces(cluster: &[serde_json::Value]) -> Vec<String> {
    cluster
        .iter()
        .filter(|document| document["kind"] == "Namespace")
        .filter_map(|document| document["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// The objects (and old objects) of the webhook's fixture reviews, by `request.kind.kind`.
pub fn review_objects() -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut objects: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let dir = repository().join("webhook/tests/fixtures/reviews");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let Ok(review) = serde_json::from_slice::<serde_json::Value>(&text) else {
            continue;
        };
        let request = &review["request"];
        let Some(kind) = request["kind"]["kind"].as_str() else {
            continue;
        };
        for field in ["object", "oldObject"] {
            if request[field].is_object() {
                objects
                    .entry(kind.to_owned())
                    .or_default()
                    .push(request[field].clone());
            }
        }
    }
    objects
}
