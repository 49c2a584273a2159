//! The webhook parses objects its own way (straight from the body, skipping managedFields); the
//! engine's judgement must be exactly what it is on the engine's own parse of the same object.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::object::ObjectKind;
use hipaa_controls::{Mode, Object, evaluate};
use hipaa_webhook::snapshot::Scope;
use hipaa_webhook::{Snapshot, kinds};
use serde_json::value::RawValue;

#[test]
fn every_fixture_object_is_judged_the_same_as_the_engine_parses_it() {
    let snapshot = Snapshot::from_state(&common::cluster_state());
    let now = chrono::Utc::now();
    let mut compared = 0;
    for entry in std::fs::read_dir(common::fixture_path("reviews")).unwrap() {
        let path = entry.unwrap().path();
        let review: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let request = &review["request"];
        let gvk = &request["kind"];
        let Some(kind) = ObjectKind::admitted(
            gvk["group"].as_str().unwrap(),
            gvk["version"].as_str().unwrap(),
            gvk["kind"].as_str().unwrap(),
        ) else {
            continue;
        };
        let object = if request["object"].is_null() {
            &request["oldObject"]
        } else {
            &request["object"]
        };
        if object.is_null() || request["subResource"].is_string() {
            continue;
        }
        let namespace = request["namespace"].as_str().unwrap();
        let Scope::Selected(policy) = snapshot.scope(namespace) else {
            continue;
        };
        let raw = RawValue::from_string(object.to_string()).unwrap();
        let ours = kinds::parse(kind, &raw, namespace, request["name"].as_str().unwrap()).unwrap();
        let engines = Object::from_value(object.clone(), Some(namespace)).unwrap();
        let judged =
            |object: &Object| evaluate(object, &snapshot.context, policy, Mode::Admission, now);
        assert_eq!(judged(&ours), judged(&engines), "{}", path.display());
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} fixtures compared");
}
