//! Serde for the `ResourceRef` lists in snapshots (the workloads that use an image, a secret or a
//! key), so that snapshots read from and write to JSON fixtures and caches.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::ResourceRef;

#[derive(Serialize, Deserialize)]
struct RefForm {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
}

pub(crate) fn serialize<S: Serializer>(
    refs: &[ResourceRef],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let forms: Vec<RefForm> = refs
        .iter()
        .map(|r| RefForm {
            kind: r.kind.clone(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        })
        .collect();
    forms.serialize(serializer)
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ResourceRef>, D::Error> {
    let forms = Vec::<RefForm>::deserialize(deserializer)?;
    Ok(forms
        .into_iter()
        .map(|f| ResourceRef {
            kind: f.kind,
            namespace: f.namespace,
            name: f.name,
        })
        .collect())
}
