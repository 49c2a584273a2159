//! Fuzz target, structure-aware: a well-formed AdmissionReview for every judged kind, operation and
//! judged subresource (from the kind table, `hipaa_controls::object::KINDS`), in every fixture
//! namespace, whose object and old object are fixture objects edited by the fuzzer's bytes
//! (`hipaa_guard_fuzz::edits`). The envelope is always valid, so every input reaches the object
//! parse and, in a namespace a policy selects, the engine; each must get its 200.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Unstructured;
use hipaa_controls::object::{KINDS, KindInfo, Operation};
use hipaa_guard_fuzz::admission::{Harness, check_answer};
use hipaa_guard_fuzz::edits;
use serde_json::{Value, json};

static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

const UID: &str = "00000000-0000-4000-8000-00000000f022";
const OPERATIONS: [Operation; 4] = [
    Operation::Create,
    Operation::Update,
    Operation::Delete,
    Operation::Connect,
];
/// The webhook's body cap (`hipaa_webhook::handler::DEFAULT_BODY_LIMIT`) and serde_json's nesting
/// limit (128, less the envelope's): beyond them a refusal is the right answer.
const BODY_LIMIT: usize = hipaa_webhook::handler::DEFAULT_BODY_LIMIT;
const DEPTH_LIMIT: usize = 120;

fn judged_kinds() -> Vec<&'static KindInfo> {
    KINDS
        .iter()
        .filter(|info| !info.admission.operations.is_empty())
        .collect()
}

fn base_object(
    info: &KindInfo,
    sub_resource: &str,
    namespace: &str,
    u: &mut Unstructured<'_>,
) -> Value {
    if sub_resource == "scale" {
        let replicas: i32 = u.arbitrary().unwrap_or(1);
        return json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "api", "namespace": namespace}, "spec": {"replicas": replicas}});
    }
    let fixtures = HARNESS
        .objects
        .get(info.kind)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    match u.choose(fixtures) {
        Ok(object) => object.clone(),
        Err(_) => json!({"apiVersion": info.api_version(), "kind": info.kind,
            "metadata": {"name": "fuzzed", "namespace": namespace}}),
    }
}

fn review(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    let kinds = judged_kinds();
    let info = *u.choose(&kinds)?;
    let mut sub_resources = vec![""; 4];
    sub_resources.extend(info.admission.subresources.iter().copied());
    sub_resources.push("status");
    let sub_resource = *u.choose(&sub_resources)?;
    let judged = info.admission.operations_on(sub_resource);
    let operation = if !judged.is_empty() && u.ratio(7, 8)? {
        *u.choose(judged)?
    } else {
        *u.choose(&OPERATIONS)?
    };
    let namespace = if info.namespaced {
        u.choose(&HARNESS.namespaces)?.as_str()
    } else {
        ""
    };
    let base = base_object(info, sub_resource, namespace, u);
    let mut object = base.clone();
    edits::edit(&mut object, u)?;
    let mut old_object = base;
    if u.ratio(1, 2)? {
        edits::edit(&mut old_object, u)?;
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("fuzzed")
        .to_owned();
    let (object, old_object) = match operation {
        Operation::Create | Operation::Connect => (object, Value::Null),
        Operation::Update => (object, old_object),
        Operation::Delete => (Value::Null, old_object),
    };
    let kind = if sub_resource == "scale" {
        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
    } else {
        json!({"group": info.group(), "version": info.version(), "kind": info.kind})
    };
    let mut request = json!({
        "uid": UID,
        "kind": kind,
        "resource": {"group": info.group(), "version": info.version(), "resource": info.plural},
        "name": name,
        "operation": operation.as_str(),
        "userInfo": {"username": "fuzz"},
        "object": object,
        "oldObject": old_object,
        "dryRun": u.arbitrary::<bool>()?,
    });
    if !namespace.is_empty() {
        request["namespace"] = json!(namespace);
    }
    if !sub_resource.is_empty() {
        request["subResource"] = json!(sub_resource);
    }
    Ok(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(review) = review(&mut u) else {
        return;
    };
    // The edits' own bound, checked at every execution: the fuzz process must not be the one that
    // runs out of memory (edits::MAX_WEIGHT).
    assert!(
        edits::weight(&review) <= 3 * edits::MAX_WEIGHT,
        "the edits outgrew their bound"
    );
    let Ok(body) = serde_json::to_vec(&review) else {
        return;
    };
    let answer = HARNESS.answer(&body);
    let well_formed = body.len() <= BODY_LIMIT && edits::depth(&review) <= DEPTH_LIMIT;
    check_answer(&answer, well_formed.then_some(UID));
});
