//! What every watch cache of both binaries drops from the objects it keeps: the parts of an
//! object no control reads and that can be as large as the object itself.

use kube::{Resource, ResourceExt};

/// The annotation `kubectl apply` writes: a full copy of the applied object. Neither the webhook
/// nor the operator reads it (the webhook judges the object in the review, never this copy).
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Clears `metadata.managedFields` and removes the last-applied annotation, to keep the caches
/// small. Meant for `watcher(...).modify(trim_for_cache)`.
pub fn trim_for_cache<K: Resource>(object: &mut K) {
    object.managed_fields_mut().clear();
    object.annotations_mut().remove(LAST_APPLIED_ANNOTATION);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    #[test]
    fn drops_managed_fields_and_the_applied_copy_and_keeps_the_rest() {
        let annotations = [
            (LAST_APPLIED_ANNOTATION, "{\"kind\":\"ConfigMap\"}"),
            ("hipaaguard.io/owner", "billing"),
        ];
        let mut object = ConfigMap {
            metadata: ObjectMeta {
                name: Some("settings".into()),
                labels: Some([("app".to_owned(), "api".to_owned())].into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                        .collect(),
                ),
                managed_fields: Some(vec![ManagedFieldsEntry {
                    manager: Some("kubectl".into()),
                    ..ManagedFieldsEntry::default()
                }]),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        trim_for_cache(&mut object);
        let meta = &object.metadata;
        assert_eq!(meta.managed_fields.as_deref().unwrap_or_default(), []);
        let annotations = meta.annotations.clone().unwrap();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            ["hipaaguard.io/owner"]
        );
        assert_eq!(meta.labels.clone().unwrap()["app"], "api");
        assert_eq!(meta.name.as_deref(), Some("settings"));
    }
}
