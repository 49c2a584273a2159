//! Compact cache entries: the workloads, Services and Ingresses the audit judges, kept as the
//! JSON the API server would print (without nulls) instead of k8s-openapi structs, whose inline
//! optional fields make a Deployment take 10-20 KB in memory against about 1.5 KB of JSON. The
//! audit decodes them one at a time into the engine's lean objects, reading only the fields the
//! controls judge.

use hipaa_controls::model::ResourceRef;
use hipaa_controls::object::{Object, ObjectKind};
use k8s_openapi::api::core::v1::{ObjectReference, PodSpec};
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::pod_facts::PodFacts;

/// A Kubernetes type kept compact (implemented in `judged.rs`, for the kind table's rows the
/// operator judges and keeps compact).
pub trait CompactResource: Resource<DynamicType = ()> + Serialize + DeserializeOwned {
    /// Its row of the kind table (one whose `operator_compact()` holds; a test checks it).
    const KIND: ObjectKind;
    /// The pod spec the object runs, for the kinds that run pods.
    fn pod_spec(&self) -> Option<&PodSpec>;
}

/// One cached object: its identity in plain fields, its body as compact JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compact {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    /// What AWS linking reads, for the kinds that run pods.
    pub pod: Option<Box<PodFacts>>,
    /// Kept as `str`: decoding then skips UTF-8 validation, already done when encoding.
    json: Box<str>,
}

impl Compact {
    /// Encodes `object`.
    pub fn encode<K: CompactResource>(object: &K) -> Result<Compact, serde_json::Error> {
        let meta = object.meta();
        Ok(Compact {
            kind: K::KIND,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone(),
            pod: object.pod_spec().map(|spec| Box::new(PodFacts::of(spec))),
            json: serde_json::to_string(object)?.into_boxed_str(),
        })
    }

    /// The object in the engine's form.
    pub fn decode(&self) -> Result<Object, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(&self.json);
        let object = self.kind.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(object)
    }

    /// The engine's name for the object, as findings carry it.
    pub fn resource_ref(&self) -> ResourceRef {
        ResourceRef::new(self.kind.as_str(), Some(&self.namespace), self.name.clone())
    }

    /// The reference an Event about the object carries.
    pub fn object_reference(&self) -> ObjectReference {
        ObjectReference {
            api_version: Some(self.kind.api_version().to_string()),
            kind: Some(self.kind.as_str().to_string()),
            namespace: Some(self.namespace.clone()),
            name: Some(self.name.clone()),
            uid: self.uid.clone(),
            ..ObjectReference::default()
        }
    }

    /// Bytes of JSON held.
    pub fn json_len(&self) -> usize {
        self.json.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const DEPLOYMENT: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: billing, uid: 1234, labels: {app: api}}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: 'nginx:1.27', env: [{name: A, value: b}]}]
";

    use k8s_openapi::api::apps::v1::Deployment;

    #[test]
    fn an_object_decodes_as_the_engine_parses_it_and_keeps_its_identity() {
        let deployment: Deployment = yaml_serde::from_str(DEPLOYMENT).unwrap();
        let compact = Compact::encode(&deployment).unwrap();
        assert_eq!(
            compact.resource_ref(),
            ResourceRef::new("Deployment", Some("billing"), "api")
        );
        let reference = compact.object_reference();
        assert_eq!(
            (reference.api_version.as_deref(), reference.uid.as_deref()),
            (Some("apps/v1"), Some("1234"))
        );
        let engines = Object::from_value(yaml_serde::from_str(DEPLOYMENT).unwrap(), None).unwrap();
        assert_eq!(
            compact.decode().unwrap(),
            engines,
            "decodes as the engine parses it"
        );
        assert!(
            compact.json_len() < 400,
            "compact: {} bytes",
            compact.json_len()
        );
        assert_eq!(compact.pod.as_ref().unwrap().images, ["nginx:1.27"]);
    }
}
