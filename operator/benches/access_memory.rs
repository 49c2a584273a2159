//! The operator's memory for the access controls at the scale: 2,000 roles (1,000 Roles
//! in 100 namespaces, 1,000 ClusterRoles, 20 of them aggregated), 5,000 bindings (4,000
//! RoleBindings, 1,000 ClusterRoleBindings), 2,000 ServiceAccounts, generated as
//! controls/benches/access.rs does. Prints the RSS the RBAC caches add (objects trimmed as the
//! operator's watch caches trim them), the RSS the shared access model adds, the model's build
//! time through the operator's path (`RbacCaches::evidence`), and that a second audit reuses it.
//! `cargo bench -p hipaa-operator --bench access_memory`. Figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Instant;

use hipaa_controls::access::AccessEvidence;
use hipaa_operator::observe::access::AccessCached;
use hipaa_operator::observe::rbac::RbacCaches;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde_json::{Value, json};

use common::memory_mib;

const NAMESPACES: usize = 100;
const ROLES_PER_NAMESPACE: usize = 10;
const CLUSTER_ROLES: usize = 1_000;
const AGGREGATED: usize = 20;
const BINDINGS_PER_NAMESPACE: usize = 40;
const CLUSTER_ROLE_BINDINGS: usize = 1_000;
const ACCOUNTS_PER_NAMESPACE: usize = 20;

const RESOURCES: [&str; 8] = [
    "secrets",
    "pods",
    "pods/exec",
    "*/attach",
    "deployments",
    "configmaps",
    "*",
    "cronjobs",
];
const VERBS: [&str; 6] = ["get", "list", "create", "patch", "*", "delete"];

fn rules(i: usize) -> Value {
    let rules: Vec<Value> = (0..4)
        .map(|r| {
            let mut rule = json!({
                "verbs": [VERBS[(i + r) % VERBS.len()], VERBS[(i * 7 + r) % VERBS.len()]],
                "apiGroups": if (i + r).is_multiple_of(3) { json!(["", "apps", "batch"]) } else { json!([""]) },
                "resources": [RESOURCES[(i + r) % RESOURCES.len()], RESOURCES[(i * 3 + r) % RESOURCES.len()]],
            });
            if (i + r).is_multiple_of(11) {
                rule["resourceNames"] = json!(["db-password"]);
            }
            rule
        })
        .collect();
    Value::Array(rules)
}

fn subjects(i: usize) -> Value {
    json!([
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": format!("user-{}", i % 500)},
        {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": format!("group-{}", i % 50)},
        {"kind": "ServiceAccount", "name": format!("sa-{}", i % ACCOUNTS_PER_NAMESPACE), "namespace": format!("ns-{}", i % NAMESPACES)},
    ])
}

/// What the API server sends besides the fields the model reads (the caches drop it).
fn metadata(name: String, namespace: Option<String>, version: usize) -> Value {
    json!({"name": name, "namespace": namespace, "uid": format!("00000000-0000-0000-0000-{version:012}"),
        "resourceVersion": version.to_string(), "creationTimestamp": "2026-12-01T00:00:00Z",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x".repeat(400)},
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]})
}

/// Feeds one object to a cache writer as a watch's initial list would, trimmed as the cache is.
fn cache<K: AccessCached + Clone + serde::de::DeserializeOwned>(
    writer: &mut Writer<K>,
    value: Value,
) {
    let mut object: K = serde_json::from_value(value).unwrap();
    object.trim();
    writer.apply_watcher_event(&Event::InitApply(object));
}

fn main() {
    let (_, rss_start) = memory_mib();
    let mut roles: Writer<Role> = Writer::default();
    let mut cluster_roles: Writer<ClusterRole> = Writer::default();
    let mut role_bindings: Writer<RoleBinding> = Writer::default();
    let mut cluster_role_bindings: Writer<ClusterRoleBinding> = Writer::default();
    let mut accounts: Writer<ServiceAccount> = Writer::default();
    let mut version = 0;
    let mut next = || {
        version += 1;
        version
    };
    for i in 0..CLUSTER_ROLES - AGGREGATED {
        let mut meta = metadata(format!("cluster-role-{i}"), None, next());
        meta["labels"] = json!({"aggregate-to": format!("agg-{}", i % AGGREGATED)});
        cache(
            &mut cluster_roles,
            json!({"metadata": meta, "rules": rules(i)}),
        );
    }
    for i in 0..AGGREGATED {
        cache(
            &mut cluster_roles,
            json!({"metadata": metadata(format!("agg-{i}"), None, next()),
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate-to": format!("agg-{i}")}}]}}),
        );
    }
    for i in 0..NAMESPACES * ROLES_PER_NAMESPACE {
        let meta = metadata(
            format!("role-{}", i % ROLES_PER_NAMESPACE),
            Some(format!("ns-{}", i / ROLES_PER_NAMESPACE)),
            next(),
        );
        cache(&mut roles, json!({"metadata": meta, "rules": rules(i + 5)}));
    }
    for i in 0..NAMESPACES * BINDINGS_PER_NAMESPACE {
        let role_ref = match i % 4 {
            0 | 1 => json!({"kind": "Role", "name": format!("role-{}", i % ROLES_PER_NAMESPACE)}),
            2 => json!({"kind": "ClusterRole", "name": format!("cluster-role-{}", i % 900)}),
            _ => json!({"kind": "ClusterRole", "name": format!("agg-{}", i % AGGREGATED)}),
        };
        let mut binding = json!({"metadata": metadata(format!("binding-{i}"),
            Some(format!("ns-{}", i / BINDINGS_PER_NAMESPACE)), next()),
            "roleRef": role_ref, "subjects": subjects(i)});
        binding["roleRef"]["apiGroup"] = json!("rbac.authorization.k8s.io");
        cache(&mut role_bindings, binding);
    }
    for i in 0..CLUSTER_ROLE_BINDINGS {
        cache(
            &mut cluster_role_bindings,
            json!({"metadata": metadata(format!("cluster-binding-{i}"), None, next()),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": format!("cluster-role-{}", i * 7 % 980)},
            "subjects": subjects(i * 13)}),
        );
    }
    for i in 0..NAMESPACES * ACCOUNTS_PER_NAMESPACE {
        cache(
            &mut accounts,
            json!({"metadata": metadata(format!("sa-{}", i % ACCOUNTS_PER_NAMESPACE),
            Some(format!("ns-{}", i / ACCOUNTS_PER_NAMESPACE)), next()),
            "secrets": [{"name": format!("sa-{i}-token")}], "automountServiceAccountToken": i % 2 == 0}),
        );
    }
    for writer in [
        &mut roles as &mut dyn Done,
        &mut cluster_roles,
        &mut role_bindings,
        &mut cluster_role_bindings,
        &mut accounts,
    ] {
        writer.done();
    }
    let caches = RbacCaches::detached(
        roles.as_reader(),
        cluster_roles.as_reader(),
        role_bindings.as_reader(),
        cluster_role_bindings.as_reader(),
        accounts.as_reader(),
    );
    let (_, rss_cached) = memory_mib();

    let started = Instant::now();
    let set = caches.set();
    let (evidence, _) = caches.evidence(&set);
    let built = started.elapsed();
    let AccessEvidence::Known(model) = &evidence else {
        panic!("{evidence:?}");
    };
    assert_eq!(model.binding_count(), 5_000);
    let (hwm_model, rss_model) = memory_mib();

    // The next audit with RBAC unchanged: the version only, the same model.
    let started = Instant::now();
    let (again, _) = caches.evidence(&caches.set());
    let reused = started.elapsed();
    let AccessEvidence::Known(same) = &again else {
        panic!("{again:?}");
    };
    assert!(std::sync::Arc::ptr_eq(model, same), "the model is shared");
    let review = model.grants_in("ns-7");
    assert!(review.len() > 1_000, "a vacuous model: {}", review.len());

    println!("access memory: 2,000 roles, 5,000 bindings, 2,000 ServiceAccounts");
    println!(
        "  RBAC caches (trimmed):         {:>7.1} MiB RSS",
        rss_cached - rss_start
    );
    println!(
        "  access model (shared):         {:>7.1} MiB RSS",
        rss_model - rss_cached
    );
    println!("  peak RSS (VmHWM):              {hwm_model:>7.1} MiB");
    println!(
        "  model built (operator path):   {:>7.1} ms",
        built.as_secs_f64() * 1e3
    );
    println!(
        "  next audit, RBAC unchanged:    {:>7.2} ms (version only, model reused)",
        reused.as_secs_f64() * 1e3
    );
    println!("  grants in one namespace:       {:>7}", review.len());
}

/// Ends a writer's initial list (its buffer is swapped in).
trait Done {
    fn done(&mut self);
}

impl<K: kube::Resource<DynamicType = ()> + Clone> Done for Writer<K> {
    fn done(&mut self) {
        self.apply_watcher_event(&Event::InitDone);
    }
}
