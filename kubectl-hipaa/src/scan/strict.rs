//! `--strict`'s check of the judged kinds' fields: an object is read again into Kubernetes' own
//! type for its kind (k8s-openapi's, which skips unknown fields silently, as the engine's lean
//! types skip every field no control reads) through `serde_ignored`, which reports each field
//! the type skipped, with its path: a misspelt `securityContex` would leave the container's real
//! securityContext unset and go unnoticed. Only under `--strict`: it costs a second parse.
//!
//! A value the full type refuses where the engine's parse accepted it (a file mode such as
//! `0440`, which YAML 1.2 reads as a string) ends the read: the fields after it are not checked.

use hipaa_controls::Object;
use hipaa_controls::object::ObjectKind;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use serde::Deserializer;
use serde::de::DeserializeOwned;

use crate::input::InputError;

/// Refuses `object` (read from `deserializer`, at `file:line`) when it has unknown fields.
pub fn check_object<'de, D: Deserializer<'de>>(
    object: &Object,
    deserializer: D,
    file: &str,
    line: usize,
) -> Result<(), InputError> {
    let fields = unknown_fields(object.object_kind(), deserializer);
    if fields.is_empty() {
        return Ok(());
    }
    let text = message(object.kind(), object.namespace(), object.name(), &fields);
    Err(InputError::invalid(file, line, text))
}

/// The paths of the fields of an object of `kind` that Kubernetes' type for it does not know,
/// in document order (`spec.template.spec.containers[0].securityContex`).
pub fn unknown_fields<'de, D: Deserializer<'de>>(kind: ObjectKind, deserializer: D) -> Vec<String> {
    fn read<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Vec<String> {
        let mut paths = Vec::new();
        // The paths found before a refused value are kept (see the module's comment).
        let _ = serde_ignored::deserialize::<_, _, T>(deserializer, |path| {
            paths.push(path_text(&path));
        });
        paths
    }
    match kind {
        ObjectKind::Pod => read::<Pod, _>(deserializer),
        ObjectKind::Deployment => read::<Deployment, _>(deserializer),
        ObjectKind::StatefulSet => read::<StatefulSet, _>(deserializer),
        ObjectKind::DaemonSet => read::<DaemonSet, _>(deserializer),
        ObjectKind::ReplicaSet => read::<ReplicaSet, _>(deserializer),
        ObjectKind::Job => read::<Job, _>(deserializer),
        ObjectKind::CronJob => read::<CronJob, _>(deserializer),
        ObjectKind::Service => read::<Service, _>(deserializer),
        ObjectKind::Ingress => read::<Ingress, _>(deserializer),
        ObjectKind::PersistentVolumeClaim => read::<PersistentVolumeClaim, _>(deserializer),
        ObjectKind::Namespace => read::<Namespace, _>(deserializer),
        ObjectKind::NetworkPolicy => read::<NetworkPolicy, _>(deserializer),
    }
}

/// The message for an object with unknown fields: `Deployment billing/api: unknown field
/// spec.replica` (the first few, and how many more).
pub fn message(kind: &str, namespace: Option<&str>, name: &str, fields: &[String]) -> String {
    const SHOWN: usize = 5;
    let object = match namespace {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    };
    let noun = if fields.len() == 1 { "field" } else { "fields" };
    let mut listed: Vec<&str> = fields.iter().take(SHOWN).map(String::as_str).collect();
    let more = fields.len().saturating_sub(SHOWN);
    let more_text = format!("and {more} more");
    if more > 0 {
        listed.push(&more_text);
    }
    format!("{object}: unknown {noun} {}", listed.join(", "))
}

/// `spec.containers[0].securityContex`: keys joined with dots, sequence indexes in brackets.
fn path_text(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", path_text(parent)),
        Path::Map { parent, key } => {
            let parent = path_text(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => path_text(parent),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: billing\n  labels: {app: api}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers:\n        - name: api\n          image: nginx\n          resources: {limits: {cpu: 1}}\n          ports: [{containerPort: 8080}]\n          securityContext: {allowPrivilegeEscalation: false}\n";

    fn from_yaml(kind: ObjectKind, text: &str) -> Vec<String> {
        unknown_fields(kind, yaml_serde::Deserializer::from_str(text))
    }

    #[test]
    fn a_valid_object_has_no_unknown_field() {
        assert!(from_yaml(ObjectKind::Deployment, DEPLOYMENT).is_empty());
        let value: serde_json::Value = yaml_serde::from_str(DEPLOYMENT).unwrap();
        assert!(unknown_fields(ObjectKind::Deployment, &value).is_empty());
        // `status` is a known field, whatever a manifest should carry.
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\nstatus: {phase: Active}\n";
        assert!(from_yaml(ObjectKind::Namespace, ns).is_empty());
    }

    #[test]
    fn misspelt_fields_are_found_with_their_paths() {
        let typo = DEPLOYMENT
            .replace("securityContext:", "securityContex:")
            .replace("  replicas: 2", "  replica: 2");
        assert_eq!(
            from_yaml(ObjectKind::Deployment, &typo),
            [
                "spec.replica",
                "spec.template.spec.containers[0].securityContex"
            ]
        );
        let value: serde_json::Value = yaml_serde::from_str(&typo).unwrap();
        let from_json = unknown_fields(ObjectKind::Deployment, &value);
        assert_eq!(from_json.len(), 2, "{from_json:?}");
        let top = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspecs: {}\n";
        assert_eq!(from_yaml(ObjectKind::Service, top), ["specs"]);
    }

    #[test]
    fn the_message_names_the_object_and_the_fields() {
        let fields = vec!["spec.replica".to_string()];
        assert_eq!(
            message("Deployment", Some("billing"), "api", &fields),
            "Deployment billing/api: unknown field spec.replica"
        );
        let many: Vec<String> = (0..7).map(|i| format!("f{i}")).collect();
        assert_eq!(
            message("Namespace", None, "b", &many),
            "Namespace b: unknown fields f0, f1, f2, f3, f4, and 2 more"
        );
    }
}
