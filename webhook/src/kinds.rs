//! What a review names ([`Judged`]: an engine kind, an RBAC kind, or a HipaaPolicy) and the typed
//! parse of a reviewed object into the engine's `Object` (or an RBAC object): one parse, straight
//! from the request body's bytes.
//! Which kinds and operations are judged is the engine's kind table
//! (`hipaa_controls::object::KINDS`).

use std::sync::Arc;

use hipaa_controls::access::RbacObject;
use hipaa_controls::object::{HIPAA_POLICY, KindInfo, Object, ObjectKind, admitted_row};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserializer;
use serde_json::value::RawValue;

/// A kind the webhook judges some operation on: one the engine judges, an RBAC kind (judged on
/// the access it adds), or HipaaPolicy (whose writes are validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    Object(ObjectKind),
    /// Role, ClusterRole, RoleBinding or ClusterRoleBinding: its row of the kind table.
    Rbac(&'static KindInfo),
    Policy,
}

impl Judged {
    /// The kind an admission request's group, version and kind name, when some operation on it is
    /// judged (its row of the kind table asks for admission).
    pub fn admitted(group: &str, version: &str, kind: &str) -> Option<Judged> {
        let row = admitted_row(group, version, kind)?;
        match row.object {
            Some(kind) => Some(Judged::Object(kind)),
            None if row.is_rbac() => Some(Judged::Rbac(row)),
            None => (*row == HIPAA_POLICY).then_some(Judged::Policy),
        }
    }

    /// Its row of the kind table.
    pub fn info(self) -> &'static KindInfo {
        match self {
            Judged::Object(kind) => kind.info(),
            Judged::Rbac(row) => row,
            Judged::Policy => &HIPAA_POLICY,
        }
    }

    /// The kind's name, e.g. `Deployment`, `HipaaPolicy`.
    pub fn as_str(self) -> &'static str {
        self.info().kind
    }
}

/// Parses `raw` as `kind`. The namespace and name the API server put on the request fill in what
/// the object's metadata leaves out (e.g. a Pod that only has `generateName`).
pub fn parse(
    kind: ObjectKind,
    raw: &RawValue,
    namespace: &str,
    name: &str,
) -> Result<Object, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw.get());
    let mut object = parse_from(kind, &mut deserializer)
        .and_then(|object| deserializer.end().map(|()| object))
        .map_err(|source| ParseError {
            kind: kind.as_str(),
            source,
        })?;
    fill_metadata(&mut object, namespace, name);
    Ok(object)
}

/// Parses `kind` from any deserializer (e.g. in the middle of the review) with the engine's
/// parse. The kinds that run pods are read into the engine's lean workload, which skips what no
/// control reads; the others into k8s-openapi types, skipping `metadata.managedFields` on the
/// way. The caller fills in the namespace and name (`fill_metadata`).
pub fn parse_from<'de, D: Deserializer<'de>>(
    kind: ObjectKind,
    deserializer: D,
) -> Result<Object, D::Error> {
    if kind.runs_pods() {
        kind.deserialize(deserializer)
    } else {
        kind.deserialize(crate::skip::Skip(deserializer))
    }
}

/// Parses `raw` as a NetworkPolicy (the old object of an UPDATE or DELETE).
pub fn parse_network_policy(
    raw: &RawValue,
    namespace: &str,
    name: &str,
) -> Result<Box<NetworkPolicy>, ParseError> {
    let error = |source| ParseError {
        kind: ObjectKind::NetworkPolicy.as_str(),
        source,
    };
    let mut policy: Box<NetworkPolicy> = crate::skip::from_str(raw.get()).map_err(error)?;
    fill(&mut policy.metadata, namespace, name);
    Ok(policy)
}
/// Parses `raw` as the RBAC kind of `row` (skipping `metadata.managedFields`); the namespace and
/// name of the request fill in what its metadata leaves out.
pub fn parse_rbac(
    row: &'static KindInfo,
    raw: &RawValue,
    namespace: &str,
    name: &str,
) -> Result<RbacObject, ParseError> {
    fn typed<T: serde::de::DeserializeOwned>(raw: &RawValue) -> Result<T, serde_json::Error> {
        crate::skip::from_str(raw.get())
    }
    let error = |source| ParseError {
        kind: row.kind,
        source,
    };
    let mut object = match row.kind {
        "Role" => RbacObject::Role(Arc::new(typed(raw).map_err(error)?)),
        "ClusterRole" => RbacObject::ClusterRole(Arc::new(typed(raw).map_err(error)?)),
        "RoleBinding" => RbacObject::RoleBinding(Arc::new(typed(raw).map_err(error)?)),
        _ => RbacObject::ClusterRoleBinding(Arc::new(typed(raw).map_err(error)?)),
    };
    let namespace = if object.namespaced() { namespace } else { "" };
    match &mut object {
        RbacObject::Role(o) => fill(&mut Arc::make_mut(o).metadata, namespace, name),
        RbacObject::ClusterRole(o) => fill(&mut Arc::make_mut(o).metadata, namespace, name),
        RbacObject::RoleBinding(o) => fill(&mut Arc::make_mut(o).metadata, namespace, name),
        RbacObject::ClusterRoleBinding(o) => fill(&mut Arc::make_mut(o).metadata, namespace, name),
    }
    Ok(object)
}

/// Parses `raw` as an `autoscaling/v1` `Scale` (the object of a `scale` subresource write) and
/// returns the replica count it asks for (`spec.replicas`, omitted when 0).
pub fn parse_scale_replicas(raw: &RawValue) -> Result<i32, ParseError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Scale {
        spec: ScaleSpec,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct ScaleSpec {
        replicas: i32,
    }
    serde_json::from_str::<Scale>(raw.get())
        .map(|scale| scale.spec.replicas)
        .map_err(|source| ParseError {
            kind: "Scale",
            source,
        })
}

/// The object in a review does not parse as the kind the review names.
#[derive(Debug, thiserror::Error)]
#[error("the object does not parse as {kind}: {}", hipaa_controls::redact::Redacted(.source))]
pub struct ParseError {
    pub kind: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// Fills in what the object's metadata leaves out from the namespace and name the API server put
/// on the request (e.g. a Pod that only has `generateName`).
pub fn fill_metadata(object: &mut Object, namespace: &str, name: &str) {
    fill(object.metadata_mut(), namespace, name);
}

fn fill(meta: &mut ObjectMeta, namespace: &str, name: &str) {
    if meta.namespace.as_deref().is_none_or(str::is_empty) && !namespace.is_empty() {
        meta.namespace = Some(namespace.to_owned());
    }
    if meta.name.as_deref().is_none_or(str::is_empty) {
        let fallback = if name.is_empty() {
            meta.generate_name.clone()
        } else {
            Some(name.to_owned())
        };
        meta.name = fallback;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn reviews_name_engine_kinds_and_policies() {
        assert_eq!(
            Judged::admitted("", "v1", "Namespace"),
            Some(Judged::Object(ObjectKind::Namespace))
        );
        assert_eq!(
            Judged::admitted("hipaaguard.io", "v1alpha1", "HipaaPolicy"),
            Some(Judged::Policy)
        );
        assert_eq!(Judged::Policy.as_str(), "HipaaPolicy");
        let binding = Judged::admitted("rbac.authorization.k8s.io", "v1", "RoleBinding").unwrap();
        assert!(matches!(binding, Judged::Rbac(row) if row.kind == "RoleBinding"));
        assert_eq!(binding.as_str(), "RoleBinding");
        assert_eq!(
            Judged::admitted("rbac.authorization.k8s.io", "v1beta1", "Role"),
            None
        );
        assert_eq!(Judged::admitted("", "v1", "ConfigMap"), None);
        assert_eq!(
            Judged::admitted("storage.k8s.io", "v1", "StorageClass"),
            None
        );
    }

    #[test]
    fn parses_an_rbac_object_and_fills_its_namespace() {
        let Some(Judged::Rbac(row)) =
            Judged::admitted("rbac.authorization.k8s.io", "v1", "RoleBinding")
        else {
            panic!("not an RBAC kind")
        };
        let binding = raw(
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"readers","managedFields":[{"manager":"kubectl"}]},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"secret-reader"},"subjects":[{"kind":"User","name":"mallory"}]}"#,
        );
        let object = parse_rbac(row, &binding, "billing", "readers").unwrap();
        assert_eq!(object.kind(), "RoleBinding");
        assert_eq!(object.metadata().namespace.as_deref(), Some("billing"));
        assert!(object.metadata().managed_fields.is_none());
        let bad = raw(r#"{"roleRef":"cluster-admin"}"#);
        assert_eq!(
            parse_rbac(row, &bad, "billing", "x").unwrap_err().kind,
            "RoleBinding"
        );
    }

    #[test]
    fn fills_namespace_and_generated_name() {
        let pod = raw(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"},"spec":{"containers":[]}}"#,
        );
        let Object::Pod(pod) = parse(ObjectKind::Pod, &pod, "billing", "").unwrap() else {
            panic!("not a pod")
        };
        assert_eq!(pod.metadata.namespace.as_deref(), Some("billing"));
        assert_eq!(pod.metadata.name.as_deref(), Some("web-"));
    }

    #[test]
    fn reads_the_replicas_a_scale_asks_for() {
        let scale = raw(
            r#"{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"api"},"spec":{"replicas":1},"status":{"replicas":3,"selector":"app=api"}}"#,
        );
        assert_eq!(parse_scale_replicas(&scale).unwrap(), 1);
        let to_zero = raw(r#"{"apiVersion":"autoscaling/v1","kind":"Scale","spec":{}}"#);
        assert_eq!(parse_scale_replicas(&to_zero).unwrap(), 0);
        let bad = raw(r#"{"spec":{"replicas":"three"}}"#);
        assert_eq!(parse_scale_replicas(&bad).unwrap_err().kind, "Scale");
    }

    #[test]
    fn rejects_an_object_of_another_shape() {
        let bad =
            raw(r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":"three"}}"#);
        let err = parse(ObjectKind::Deployment, &bad, "ns", "x").unwrap_err();
        assert_eq!(err.kind, "Deployment");
        assert!(
            err.to_string()
                .starts_with("the object does not parse as Deployment")
        );
    }

    #[test]
    fn a_parse_error_names_the_types_but_not_the_value() {
        // env written as one string: serde's message would quote the password in the denial.
        let bad = raw(
            r#"{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a","env":"DB_PASSWORD=canary-51f0"}]}}"#,
        );
        let message = parse(ObjectKind::Pod, &bad, "ns", "x")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("canary-51f0"), "{message}");
        assert!(
            message.starts_with("the object does not parse as Pod: invalid type: string, expected"),
            "{message}"
        );
    }
}
