//! The fast way from a document to a judged object: when a document's top-level `apiVersion`
//! and `kind` name a kind the engine judges, yaml_serde deserializes it straight into the
//! engine's object with the engine's own parse, without the intermediate JSON value (about a
//! fifth of a scan's time).
//! Anything else, and any document this way refuses, takes the general way (JSON value, List
//! expansion, the engine's `Object::from_value` and its errors).
//!
//! One difference remains: yaml_serde reads a plain number or boolean as a string where the
//! type wants a string (`value: 8080` in an env var), which kubectl refuses and the general way
//! reports as invalid input. Such an object is judged rather than refused.

use hipaa_controls::Object;
use hipaa_controls::object::ObjectKind;

/// The object `text` holds, typed, with `default_namespace` where it names none; None when the
/// document is not a plain object of a judged kind or does not deserialize this way.
pub fn typed_object(text: &str, default_namespace: &str) -> Option<Object> {
    let (api_version, kind) = sniff_kind(text)?;
    let kind = ObjectKind::of(api_version, kind)?;
    let mut object = kind
        .deserialize(yaml_serde::Deserializer::from_str(text))
        .ok()?;
    if kind != ObjectKind::Namespace {
        let metadata = object.metadata_mut();
        if metadata.namespace.as_deref().is_none_or(str::is_empty) {
            metadata.namespace = Some(default_namespace.to_string());
        }
    }
    Some(object)
}

/// Whether the first pass (the context) must parse this document: false only when its top-level
/// `apiVersion` and `kind` lines name a kind that is neither context nor a List, which the
/// second pass parses and judges (or skips) on its own.
pub fn may_hold_context(text: &str) -> bool {
    let Some((api_version, kind)) = sniff_kind(text) else {
        return true;
    };
    kind.ends_with("List")
        || matches!(
            (api_version, kind),
            (
                "v1",
                "Namespace" | "PersistentVolumeClaim" | "ServiceAccount"
            ) | ("networking.k8s.io/v1", "NetworkPolicy")
                | (
                    "rbac.authorization.k8s.io/v1",
                    "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding"
                )
                | ("storage.k8s.io/v1", "StorageClass")
                | (
                    "autoscaling/v1" | "autoscaling/v2",
                    "HorizontalPodAutoscaler"
                )
                | ("velero.io/v1", "Schedule")
        )
}

/// Whether the document's top-level `apiVersion:` and `kind:` lines name a kind, read without
/// parsing (a document that then does not parse is a broken manifest, not someone's other YAML).
pub fn names_a_kind(text: &str) -> bool {
    sniff_kind(text).is_some()
}

/// The values of the top-level `apiVersion:` and `kind:` lines of a block-style document; None
/// unless each appears exactly once, as a plain or quoted scalar.
fn sniff_kind(text: &str) -> Option<(&str, &str)> {
    let (mut api_version, mut kind) = (None, None);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("apiVersion:") {
            if api_version.replace(scalar(rest)?).is_some() {
                return None;
            }
        } else if let Some(rest) = line.strip_prefix("kind:")
            && kind.replace(scalar(rest)?).is_some()
        {
            return None;
        }
    }
    Some((api_version?, kind?))
}

/// ` apps/v1  # comment` -> `apps/v1`; quotes are removed; None for anything else.
fn scalar(rest: &str) -> Option<&str> {
    let value = rest.split(" #").next().unwrap_or("").trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    let plain = !unquoted.is_empty()
        && unquoted
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/' || b == b'-');
    plain.then_some(unquoted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn sniffs_top_level_kind_lines_only() {
        assert_eq!(
            sniff_kind("apiVersion: apps/v1\nkind: Deployment # x\n"),
            Some(("apps/v1", "Deployment"))
        );
        assert_eq!(
            sniff_kind("apiVersion: \"v1\"\nkind: 'Pod'\n"),
            Some(("v1", "Pod"))
        );
        assert_eq!(
            sniff_kind("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n"),
            Some(("v1", "List"))
        );
        assert_eq!(
            sniff_kind("apiVersion: v1\nkind: Pod\nkind: Service\n"),
            None
        );
        assert_eq!(sniff_kind("{apiVersion: v1, kind: Pod}\n"), None);
        assert_eq!(sniff_kind("apiVersion: v1\nkind: &k Pod\n"), None);
    }

    #[test]
    fn only_documents_that_may_hold_context_are_parsed_in_the_first_pass() {
        assert!(!may_hold_context("apiVersion: apps/v1\nkind: Deployment\n"));
        assert!(!may_hold_context("apiVersion: v1\nkind: ConfigMap\n"));
        assert!(may_hold_context("apiVersion: v1\nkind: Namespace\n"));
        assert!(may_hold_context(
            "apiVersion: velero.io/v1\nkind: Schedule\n"
        ));
        assert!(may_hold_context("apiVersion: v1\nkind: List\nitems: []\n"));
        assert!(may_hold_context(
            "{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}\n"
        ));
    }

    #[test]
    fn gives_the_same_object_as_the_general_way() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: a, image: nginx}]\n";
        let fast = typed_object(text, "billing").unwrap();
        let general =
            Object::from_value(yaml_serde::from_str(text).unwrap(), Some("billing")).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        assert_eq!(fast.namespace(), Some("billing"));
        let ns = typed_object(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing}\n",
            "default",
        )
        .unwrap();
        assert_eq!(ns.namespace(), None);
    }

    #[test]
    fn leaves_the_rest_to_the_general_way() {
        // Unknown kinds and type errors take the general way; a field no control reads (an
        // octal file mode, a string to YAML 1.2) is skipped, as the general way skips it.
        let octal = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n  volumes: [{name: s, secret: {defaultMode: 0440}}]\n";
        assert_eq!(
            typed_object(octal, "d"),
            Object::from_value(yaml_serde::from_str(octal).unwrap(), Some("d")).ok()
        );
        assert!(
            typed_object(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                "d"
            )
            .is_none()
        );
        assert!(
            typed_object(
                "apiVersion: apps/v1\nkind: Deployment\nspec: {replicas: two}\n",
                "d"
            )
            .is_none()
        );
    }
}
