//! Shared by the engine's integration tests: fixture loading, context building, fixed clocks,
//! policies with one parameter changed; `aws` adds what the AWS tests need.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

pub mod aws;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use hipaa_controls::access::{AccessEvidence, RbacSet};
use hipaa_controls::{
    BackupSchedule, ClusterContext, EffectivePolicy, Evaluation, HipaaPolicy, Mode, Object,
    Parameters, evaluate,
};
use serde_json::Value;

/// The clock every test uses: 2026-06-01T00:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every document of a multi-document YAML text, as JSON values (empty documents skipped).
pub fn documents(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| {
            let yaml = yaml_serde::Value::deserialize(doc).unwrap();
            serde_json::to_value(yaml).unwrap()
        })
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

/// Adds one context document (Namespace, NetworkPolicy, StorageClass, PVC,
/// HorizontalPodAutoscaler, Velero Schedule).
pub fn add_to_context(ctx: &mut ClusterContext, doc: &Value) {
    let kind = doc["kind"].as_str().unwrap_or_default();
    match kind {
        "Namespace" => ctx.insert_namespace(Arc::new(serde_json::from_value(doc.clone()).unwrap())),
        "NetworkPolicy" => {
            ctx.insert_network_policy(Arc::new(serde_json::from_value(doc.clone()).unwrap()))
        }
        "StorageClass" => {
            ctx.insert_storage_class(Arc::new(serde_json::from_value(doc.clone()).unwrap()))
        }
        "PersistentVolumeClaim" => {
            ctx.insert_pvc(Arc::new(serde_json::from_value(doc.clone()).unwrap()))
        }
        "HorizontalPodAutoscaler" => {
            ctx.insert_autoscaler(Arc::new(serde_json::from_value(doc.clone()).unwrap()))
        }
        "Schedule" => {
            let names = |key: &str| -> Vec<String> {
                doc["spec"]["template"][key]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            ctx.insert_backup_schedule(BackupSchedule {
                name: doc["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                included_namespaces: names("includedNamespaces"),
                excluded_namespaces: names("excludedNamespaces"),
            });
        }
        other => panic!("fixture context cannot hold a {other}"),
    }
}

/// A fixture: the first document is the object under test, the rest its context. Subjects that
/// are themselves context kinds (Namespace, PVC) are also in the context, as a cache would hold.
pub struct Fixture {
    pub path: PathBuf,
    pub text: String,
    pub object: Object,
    pub ctx: ClusterContext,
}

impl Fixture {
    /// The audit of the fixture's object in its context under `policy`, at the tests' clock.
    pub fn audit(&self, policy: &EffectivePolicy) -> Evaluation {
        evaluate(&self.object, &self.ctx, policy, Mode::Audit, now())
    }
}

pub fn load_fixture(path: &Path) -> Fixture {
    let text = std::fs::read_to_string(path).unwrap();
    let docs = documents(&text);
    let (first, rest) = docs
        .split_first()
        .unwrap_or_else(|| panic!("{} is empty", path.display()));
    let object = Object::from_value(first.clone(), Some("default"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ctx = ClusterContext::new();
    if matches!(
        object,
        Object::Namespace(_) | Object::PersistentVolumeClaim(_)
    ) {
        add_to_context(&mut ctx, first);
    }
    // Roles, bindings and ServiceAccounts make the fixture's RBAC known (its whole truth); a
    // `# access: unreadable` line makes it unreadable, as a 403 would; neither leaves it unobserved.
    let mut rbac = RbacSet::default();
    let mut observed = false;
    for doc in rest {
        if rbac.push_value(doc.clone()).unwrap() {
            observed = true;
        } else {
            add_to_context(&mut ctx, doc);
        }
    }
    if text.contains("# access: unreadable") {
        ctx.set_access(AccessEvidence::Unreadable(
            "not allowed to list rolebindings (403)".into(),
        ));
    } else if observed {
        ctx.set_access(AccessEvidence::of(&rbac));
    }
    Fixture {
        path: path.to_path_buf(),
        text,
        object,
        ctx,
    }
}

/// Parses one object from YAML.
pub fn object(yaml: &str) -> Object {
    Object::from_value(yaml_serde::from_str(yaml).unwrap(), Some("default")).unwrap()
}

/// A context from multi-document YAML.
pub fn context(yaml: &str) -> ClusterContext {
    let mut ctx = ClusterContext::new();
    for doc in documents(yaml) {
        add_to_context(&mut ctx, &doc);
    }
    ctx
}

/// Every control of the catalog, opt-in ones included, enforced with default parameters.
pub fn every_control() -> EffectivePolicy {
    let mut policy = EffectivePolicy::defaults();
    let enforced = policy.controls.values().next().cloned().unwrap();
    for control in hipaa_controls::catalog().iter().filter(|c| c.opt_in) {
        policy.controls.insert(control.id, enforced.clone());
    }
    policy
}

/// A HipaaPolicy from YAML.
pub fn policy(yaml: &str) -> HipaaPolicy {
    yaml_serde::from_str(yaml).unwrap()
}

/// The default policy with the parameters of control `id` changed by `change`: how a test sets
/// the one parameter it is about.
pub fn defaults_with(id: &str, change: impl FnOnce(&mut Parameters)) -> EffectivePolicy {
    let mut policy = EffectivePolicy::defaults();
    change(parameters_mut(&mut policy, id));
    policy
}

/// The parameters of control `id` in `policy`, to change; panics when the control is disabled.
pub fn parameters_mut<'a>(policy: &'a mut EffectivePolicy, id: &str) -> &'a mut Parameters {
    &mut policy
        .controls
        .get_mut(id)
        .unwrap_or_else(|| panic!("{id} is not enabled"))
        .parameters
}
