//! The engine parses workloads into its own lean types (`object::pod_spec`, `object::workload`)
//! rather than k8s-openapi's. These tests hold that parse to k8s-openapi's: every field the lean
//! types read is a real field of the Kubernetes type under that name (a round trip through
//! k8s-openapi keeps it), the fixture sets every one of them (so none is silently never read),
//! and every control fixture is judged the same whichever way its object was parsed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::object::{ObjectKind, Workload};
use hipaa_controls::{EffectivePolicy, Mode, Object, evaluate};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn every_field() -> Value {
    let path = common::fixtures_dir().join("lean/every-field.yaml");
    common::documents(&std::fs::read_to_string(path).unwrap()).remove(0)
}

/// The fixture's StatefulSet recast as `kind`, with its pod template where that kind has it.
fn as_kind(kind: ObjectKind) -> Value {
    let set = every_field();
    let template = set["spec"]["template"].clone();
    let spec = match kind {
        ObjectKind::StatefulSet => set["spec"].clone(),
        ObjectKind::Pod => template["spec"].clone(),
        ObjectKind::CronJob => {
            json!({"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}})
        }
        ObjectKind::Deployment | ObjectKind::ReplicaSet => {
            json!({"replicas": 3, "selector": set["spec"]["selector"], "template": template})
        }
        _ => json!({"selector": set["spec"]["selector"], "template": template}),
    };
    json!({"apiVersion": kind.api_version(), "kind": kind.as_str(), "metadata": set["metadata"], "spec": spec})
}

/// The object as k8s-openapi parses and prints it: fields it does not know are gone.
fn through_k8s_openapi(kind: ObjectKind, value: &Value) -> Value {
    fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
        let typed: T = serde_json::from_value(value.clone()).unwrap();
        serde_json::to_value(typed).unwrap()
    }
    match kind {
        ObjectKind::Pod => round_trip::<Pod>(value),
        ObjectKind::Deployment => round_trip::<Deployment>(value),
        ObjectKind::StatefulSet => round_trip::<StatefulSet>(value),
        ObjectKind::DaemonSet => round_trip::<DaemonSet>(value),
        ObjectKind::ReplicaSet => round_trip::<ReplicaSet>(value),
        ObjectKind::Job => round_trip::<Job>(value),
        ObjectKind::CronJob => round_trip::<CronJob>(value),
        other => panic!("{other:?} is not a workload"),
    }
}

fn workload(object: &Object) -> &Workload {
    object.workload().unwrap()
}

#[test]
fn the_fixture_sets_every_field_the_engine_reads() {
    let object = Object::from_value(every_field(), None).unwrap();
    let set = workload(&object);
    let read = format!(
        "{:?}",
        (set.replicas, &set.template, &set.volume_claim_templates)
    );
    assert!(
        !read.contains("None") && !read.contains("\"\""),
        "a field the engine reads is not set in lean/every-field.yaml, or is not read under the \
         name Kubernetes gives it: {read}"
    );
    let meta = &set.metadata;
    assert!(meta.name.is_some() && meta.generate_name.is_some() && meta.namespace.is_some());
    assert!(meta.labels.is_some() && meta.annotations.is_some());
    assert!(
        meta.uid.is_none() && meta.managed_fields.is_none() && meta.owner_references.is_none(),
        "only what the engine reads is kept"
    );
}

#[test]
fn every_workload_kind_reads_what_k8s_openapi_reads() {
    for kind in ObjectKind::ALL.into_iter().filter(|k| k.runs_pods()) {
        let original = as_kind(kind);
        let ours = Object::from_value(original.clone(), None).unwrap();
        let theirs = Object::from_value(through_k8s_openapi(kind, &original), None).unwrap();
        assert_eq!(ours, theirs, "{kind:?}");
        let template = ours.pod_template().unwrap();
        assert!(
            template.spec.is_some_and(|s| s.volumes.is_some()),
            "{kind:?}"
        );
        let replicated = matches!(
            kind,
            ObjectKind::Deployment | ObjectKind::StatefulSet | ObjectKind::ReplicaSet
        );
        assert_eq!(workload(&ours).replicas.is_some(), replicated, "{kind:?}");
    }
}

#[test]
fn every_control_fixture_is_judged_the_same_after_a_k8s_openapi_round_trip() {
    let policy = EffectivePolicy::defaults();
    let mut compared = 0;
    for dir in std::fs::read_dir(common::fixtures_dir().join("k8s")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let fixture = common::load_fixture(&file.unwrap().path());
            let kind = fixture.object.object_kind();
            if !kind.runs_pods() {
                continue;
            }
            let first = common::documents(&fixture.text).remove(0);
            let trip = Object::from_value(through_k8s_openapi(kind, &first), Some("default"))
                .unwrap_or_else(|e| panic!("{}: {e}", fixture.path.display()));
            let judged = |object: &Object| {
                evaluate(object, &fixture.ctx, &policy, Mode::Audit, common::now())
            };
            assert_eq!(
                judged(&fixture.object),
                judged(&trip),
                "{}",
                fixture.path.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} workload fixtures compared");
}
