//! The access model at the scale: 2,000 roles (1,000 Roles in 100 namespaces, 1,000
//! ClusterRoles, 20 of them aggregated) and 5,000 bindings (4,000 RoleBindings, 1,000
//! ClusterRoleBindings), each role with 4 rules mixing wildcards, subresources and resourceNames.
//! Target: the model built in at most 100 ms on one core (`build`); `grants_in` is one
//! namespace's access review; `audit one namespace` runs the three namespace access controls on
//! one governed Namespace, as an audit does; `admission` is what the webhook does for one RBAC
//! review (the model with the change applied, then the access controls in every namespace it
//! reaches). docs/benchmarks.md records the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;

use hipaa_controls::access::{
    AccessEvidence, AccessModel, RbacChange, RbacObject, RbacObjects, RbacSet, Subject,
};
use hipaa_controls::{
    ClusterContext, EffectivePolicy, Mode, Object, evaluate, evaluate_rbac_change_of,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Value, json};

const NAMESPACES: usize = 100;
const ROLES_PER_NAMESPACE: usize = 10;
const CLUSTER_ROLES: usize = 1_000;
const AGGREGATED: usize = 20;
const BINDINGS_PER_NAMESPACE: usize = 40;
const CLUSTER_ROLE_BINDINGS: usize = 1_000;

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
        {"kind": "ServiceAccount", "name": format!("sa-{}", i % 20), "namespace": format!("ns-{}", i % NAMESPACES)},
    ])
}

struct Cluster {
    roles: Vec<Role>,
    cluster_roles: Vec<ClusterRole>,
    role_bindings: Vec<RoleBinding>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
}

fn cluster() -> Cluster {
    let mut cluster_roles: Vec<ClusterRole> = (0..CLUSTER_ROLES - AGGREGATED)
        .map(|i| {
            serde_json::from_value(json!({"metadata": {"name": format!("cluster-role-{i}"),
                "labels": {"aggregate-to": format!("agg-{}", i % AGGREGATED)}},
                "rules": rules(i)}))
            .unwrap()
        })
        .collect();
    cluster_roles.extend((0..AGGREGATED).map(|i| {
        serde_json::from_value::<ClusterRole>(json!({"metadata": {"name": format!("agg-{i}")},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate-to": format!("agg-{i}")}}]}}))
        .unwrap()
    }));
    let roles = (0..NAMESPACES * ROLES_PER_NAMESPACE)
        .map(|i| {
            serde_json::from_value(
                json!({"metadata": {"name": format!("role-{}", i % ROLES_PER_NAMESPACE),
                "namespace": format!("ns-{}", i / ROLES_PER_NAMESPACE)}, "rules": rules(i + 5)}),
            )
            .unwrap()
        })
        .collect();
    let role_bindings = (0..NAMESPACES * BINDINGS_PER_NAMESPACE)
        .map(|i| {
            let role_ref = match i % 4 {
                0 | 1 => {
                    json!({"kind": "Role", "name": format!("role-{}", i % ROLES_PER_NAMESPACE)})
                }
                2 => json!({"kind": "ClusterRole", "name": format!("cluster-role-{}", i % 900)}),
                _ => json!({"kind": "ClusterRole", "name": format!("agg-{}", i % AGGREGATED)}),
            };
            let mut binding = json!({"metadata": {"name": format!("binding-{i}"),
                "namespace": format!("ns-{}", i / BINDINGS_PER_NAMESPACE)},
                "roleRef": role_ref, "subjects": subjects(i)});
            binding["roleRef"]["apiGroup"] = json!("rbac.authorization.k8s.io");
            serde_json::from_value(binding).unwrap()
        })
        .collect();
    let cluster_role_bindings = (0..CLUSTER_ROLE_BINDINGS)
        .map(|i| {
            serde_json::from_value(json!({"metadata": {"name": format!("cluster-binding-{i}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": format!("cluster-role-{}", i * 7 % 980)},
                "subjects": subjects(i * 13)}))
            .unwrap()
        })
        .collect();
    Cluster {
        roles,
        cluster_roles,
        role_bindings,
        cluster_role_bindings,
    }
}

fn bench(c: &mut Criterion) {
    let cluster = cluster();
    let objects = RbacObjects {
        roles: cluster.roles.iter().collect(),
        cluster_roles: cluster.cluster_roles.iter().collect(),
        role_bindings: cluster.role_bindings.iter().collect(),
        cluster_role_bindings: cluster.cluster_role_bindings.iter().collect(),
        service_accounts: Vec::new(),
    };
    let model = AccessModel::build(&objects);
    assert_eq!(model.binding_count(), 5_000);
    let review = model.grants_in("ns-7");
    assert!(
        review.len() > 1_000,
        "a vacuous model: {} grants",
        review.len()
    );
    assert!(review.iter().any(|g| g.aggregated_from.is_some()));
    let mut group = c.benchmark_group("access");
    group.sample_size(20);
    group.bench_function("build 5,000 bindings, 2,000 roles", |b| {
        b.iter(|| AccessModel::build(black_box(&objects)))
    });
    group.bench_function("grants_in one namespace", |b| {
        b.iter(|| model.grants_in(black_box("ns-7")))
    });
    let mut ctx = ClusterContext::new();
    ctx.set_access(AccessEvidence::Known(Arc::new(AccessModel::build(
        &objects,
    ))));
    let namespace = Object::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-7"}}),
        None,
    )
    .unwrap();
    let policy = EffectivePolicy::defaults();
    let now = chrono::Utc::now();
    let audit = evaluate(&namespace, &ctx, &policy, Mode::Audit, now);
    let checked: Vec<&str> = audit.checked.iter().map(|c| c.id).collect();
    for id in [
        "HIPAA-K8S-ACCESS-SECRETS",
        "HIPAA-K8S-ACCESS-EXEC",
        "HIPAA-K8S-CLUSTER-ADMIN",
    ] {
        assert!(checked.contains(&id), "{id} not judged: {checked:?}");
    }
    assert!(!audit.findings.is_empty(), "a vacuous audit");
    group.bench_function("audit one namespace (access controls)", |b| {
        b.iter(|| evaluate(black_box(&namespace), &ctx, &policy, Mode::Audit, now))
    });
    let set = RbacSet {
        roles: cluster.roles.iter().cloned().map(Arc::new).collect(),
        cluster_roles: cluster
            .cluster_roles
            .iter()
            .cloned()
            .map(Arc::new)
            .collect(),
        role_bindings: cluster
            .role_bindings
            .iter()
            .cloned()
            .map(Arc::new)
            .collect(),
        cluster_role_bindings: cluster
            .cluster_role_bindings
            .iter()
            .cloned()
            .map(Arc::new)
            .collect(),
        service_accounts: Vec::new(),
    };
    let policy = EffectivePolicy::defaults();
    let admin: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "new-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-role-6"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "mallory"}]}))
    .unwrap();
    let change = RbacChange::Write(RbacObject::ClusterRoleBinding(Arc::new(admin)));
    let namespaces: Vec<String> = (0..NAMESPACES).map(|n| format!("ns-{n}")).collect();
    // As the webhook judges a binding: only its own subjects' access can change.
    let only = [Subject::User {
        name: "mallory".to_owned(),
    }];
    let review = |namespaces: &[String]| {
        let after = set.with_change(&change).model();
        let mut findings = 0;
        for namespace in namespaces {
            let evaluation = evaluate_rbac_change_of(
                "ClusterRoleBinding",
                None,
                "new-admin",
                (&model, &after),
                Some(&only),
                namespace,
                &policy,
                chrono::Utc::now(),
            );
            findings += evaluation.findings.len();
        }
        findings
    };
    assert!(review(&namespaces[..1]) > 0, "the change adds nothing");
    group.bench_function(
        "admission: a ClusterRoleBinding in 100 governed namespaces",
        |b| b.iter(|| review(black_box(&namespaces))),
    );
    group.bench_function("admission: a binding in 1 governed namespace", |b| {
        b.iter(|| review(black_box(&namespaces[..1])))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
