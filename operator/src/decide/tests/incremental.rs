//! The incremental audit equals a from-scratch audit after every step of random change
//! sequences (fixed seeds): workloads, Services, Namespaces and their labels, NetworkPolicies,
//! PVCs, HorizontalPodAutoscalers, StorageClasses, backup schedules, RBAC (Roles, RoleBindings,
//! ClusterRoleBindings, ServiceAccounts: the access controls and, in some generations,
//! HIPAA-K8S-SA-TOKEN read them), the policy's spec and time passing an exception's expiry. A
//! missed invalidation makes a step differ.
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::decide::reuse::EvaluationCache;
use crate::decide::{Reuse, audit_reusing};

/// xorshift64*: a fixed sequence per seed, no dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

const NAMESPACES: usize = 4;

/// The cluster as the caches hold it: an unchanged object keeps its `Arc`, a changed one gets a
/// new one (and a new resourceVersion), as a watch event would.
struct World {
    inventory: Inventory,
    version: u64,
}

fn key_of(value: &Value) -> (String, String, String) {
    let field = |path: &str| {
        value
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (
        field("/kind"),
        field("/metadata/namespace"),
        field("/metadata/name"),
    )
}

impl World {
    fn new() -> Self {
        let mut world = World {
            inventory: Inventory::default(),
            version: 0,
        };
        world.put(storage_class(true));
        world.put(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "editor"},
            "rules": [{"verbs": ["update", "patch"], "apiGroups": ["apps"], "resources": ["deployments"]}]}));
        for n in 0..NAMESPACES {
            world.put(namespace(n, n % 2 == 0, n % 3 == 0));
            world.put(network_policy(n));
            for app in 0..3 {
                world.put(deployment(n, app, app == 1, 2));
            }
        }
        world
    }

    /// Adds or replaces the object `value` names.
    fn put(&mut self, mut value: Value) {
        self.version += 1;
        value["metadata"]["resourceVersion"] = json!(self.version.to_string());
        self.delete(&key_of(&value));
        self.inventory.insert_manifest(value).unwrap();
        self.inventory.observe_rbac();
    }

    fn delete(&mut self, (kind, namespace, name): &(String, String, String)) {
        let same = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            meta.name.as_deref() == Some(name)
                && meta.namespace.as_deref().unwrap_or("") == namespace
        };
        let context = &mut self.inventory.context;
        match kind.as_str() {
            "Namespace" => context.namespaces.retain(|o| !same(&o.metadata)),
            "NetworkPolicy" => context.network_policies.retain(|o| !same(&o.metadata)),
            "PersistentVolumeClaim" => context.pvcs.retain(|o| !same(&o.metadata)),
            "StorageClass" => context.storage_classes.retain(|o| !same(&o.metadata)),
            "HorizontalPodAutoscaler" => context.autoscalers.retain(|o| !same(&o.metadata)),
            "Schedule" => context.backup_schedules.retain(|s| &s.name != name),
            "Role" => context.rbac.roles.retain(|o| !same(&o.metadata)),
            "RoleBinding" => context.rbac.role_bindings.retain(|o| !same(&o.metadata)),
            "ClusterRoleBinding" => context
                .rbac
                .cluster_role_bindings
                .retain(|o| !same(&o.metadata)),
            "ServiceAccount" => context.rbac.service_accounts.retain(|o| !same(&o.metadata)),
            _ => self.inventory.objects.retain(|o| {
                !(o.kind.as_str() == kind && &o.namespace == namespace && &o.name == name)
            }),
        }
        self.inventory.observe_rbac();
    }

    /// One random change.
    fn change(&mut self, random: &mut Random) {
        let n = random.below(NAMESPACES);
        let app = random.below(4);
        let ns = ns_name(n);
        match random.below(14) {
            0..=2 => self.put(deployment(
                n,
                app,
                random.below(2) == 0,
                1 + random.below(3),
            )),
            3 => self.delete(&("Deployment".into(), ns, format!("app-{app}"))),
            4 => self.put(service(n, app, random.below(2) == 0)),
            5 => self.put(namespace(n, random.below(3) != 0, random.below(2) == 0)),
            6 => match random.below(2) {
                0 => self.put(network_policy(n)),
                _ => self.delete(&("NetworkPolicy".into(), ns, "default-deny".into())),
            },
            7 => self.put(pvc(n, app, random.below(2) == 0)),
            8 => self.put(autoscaler(n, app, 1 + random.below(2))),
            9 => self.put(storage_class(random.below(2) == 0)),
            11 => match random.below(3) {
                0 => self.delete(&("RoleBinding".into(), ns, "readers".into())),
                user => self.put(role_binding(n, user == 1)),
            },
            12 => self.put(role(n, random.below(2) == 0)),
            13 => match random.below(3) {
                0 => self.put(service_account(n, random.below(2) == 0)),
                1 => self.put(writer_binding(&ns)),
                _ => self.delete(&("ClusterRoleBinding".into(), String::new(), "writers".into())),
            },
            _ => match random.below(2) {
                0 => self.put(schedule(&ns)),
                _ => self.delete(&("Schedule".into(), String::new(), "nightly".into())),
            },
        }
    }
}

/// The first namespace is `billing`, which the fixture's exceptions match.
fn ns_name(n: usize) -> String {
    match n {
        0 => "billing".to_string(),
        _ => format!("ns-{n}"),
    }
}

fn namespace(n: usize, phi: bool, production: bool) -> Value {
    let environment = if production {
        "production"
    } else {
        "development"
    };
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns_name(n),
        "labels": {"hipaaguard.io/phi": phi.to_string(), "hipaaguard.io/environment": environment}}})
}

fn network_policy(n: usize) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": ns_name(n)},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
}

fn deployment(n: usize, app: usize, compliant: bool, replicas: usize) -> Value {
    let name = format!("app-{app}");
    let (image, privileged) = if compliant {
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/claims/app:1.0.0",
            false,
        )
    } else {
        ("docker.io/library/app:latest", true)
    };
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns_name(n)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}, "annotations": {"linkerd.io/inject": "enabled"}},
                "spec": {"containers": [{"name": "app", "image": image,
                    "securityContext": {"privileged": privileged},
                    "env": [{"name": "TOKEN", "value": if compliant { "" } else { "literal" }}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{app}")}}]}}}})
}

fn service(n: usize, app: usize, balanced: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("svc-{app}"), "namespace": ns_name(n)},
        "spec": {"type": if balanced { "LoadBalancer" } else { "ClusterIP" },
            "selector": {"app": format!("app-{app}")}, "ports": [{"port": 443}]}})
}

fn pvc(n: usize, app: usize, encrypted: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": format!("data-{app}"), "namespace": ns_name(n)},
        "spec": {"accessModes": ["ReadWriteOnce"],
            "storageClassName": if encrypted { "gp3" } else { "gp2-plain" },
            "resources": {"requests": {"storage": "1Gi"}}}})
}

fn autoscaler(n: usize, app: usize, min: usize) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": format!("app-{app}"), "namespace": ns_name(n)},
        "spec": {"minReplicas": min, "maxReplicas": 5,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("app-{app}")}}})
}

fn storage_class(encrypted: bool) -> Value {
    json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": encrypted.to_string()}})
}

fn schedule(namespace: &str) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 1 * * *", "template": {"includedNamespaces": [namespace]}}})
}

/// `reader` in namespace `n`: reads Secrets, or only ConfigMaps.
fn role(n: usize, secrets: bool) -> Value {
    let resource = if secrets { "secrets" } else { "configmaps" };
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "reader", "namespace": ns_name(n)},
        "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": [resource]}]})
}

/// `readers` in namespace `n`, binding `reader` to a user outside allowedSubjects or to an
/// allowed kube-system ServiceAccount.
fn role_binding(n: usize, outsider: bool) -> Value {
    let subject = if outsider {
        json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "mallory"})
    } else {
        json!({"kind": "ServiceAccount", "name": "backup", "namespace": "kube-system"})
    };
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "readers", "namespace": ns_name(n)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [subject]})
}

/// The pods' `default` ServiceAccount in namespace `n`, its token mounted or not.
fn service_account(n: usize, automount: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": ns_name(n)},
        "automountServiceAccountToken": automount})
}

/// `writers`: the `default` ServiceAccount of `namespace` may edit everything, everywhere.
fn writer_binding(namespace: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "writers"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "editor"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]})
}

/// The policy: generation 3 as in the fixture; odd generations add an exception for the
/// registry control that expires on 2026-12-05; generations divisible by 3 apply the opt-in
/// HIPAA-K8S-SA-TOKEN.
fn policy_at(generation: i64) -> HipaaPolicy {
    let mut extra = String::new();
    if generation % 2 == 1 {
        extra.push_str(super::exceptions::EXCEPTIONS);
    }
    if generation % 3 == 0 {
        extra.push_str("  controls:\n    - id: HIPAA-K8S-SA-TOKEN\n");
    }
    let mut policy = policy_with(&extra);
    policy.metadata.generation = Some(generation);
    policy
}

fn audit_of(
    policy: &HipaaPolicy,
    inventory: &Inventory,
    reuse: Option<&mut EvaluationCache>,
    at: DateTime<Utc>,
) -> Audit {
    let observation = observe(inventory, policy);
    let context = inventory.cluster_context();
    let fingerprints = inventory.fingerprints();
    let input = AuditInput {
        policy,
        context: &context,
        observation: &observation,
        aws: None,
        previous: None,
        now: at,
    };
    audit_reusing(
        input,
        reuse.map(|cache| Reuse {
            fingerprints: &fingerprints,
            cache,
        }),
    )
}

/// The evaluations in a fixed order, for comparing two audits.
fn sorted(audit: &Audit) -> Vec<hipaa_controls::tally::ResourceEvaluation> {
    let mut evaluations: Vec<_> = audit
        .evaluations
        .iter()
        .map(|e| e.as_ref().clone())
        .collect();
    evaluations.sort_by(|a, b| a.resource.cmp(&b.resource));
    evaluations
}

#[test]
fn after_random_changes_the_incremental_audit_equals_a_full_one() {
    let mut reused_total = 0;
    for seed in 1..=40_u64 {
        let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut world = World::new();
        let mut cache = EvaluationCache::default();
        let mut generation = 3;
        let mut at = now();
        for step in 0..30 {
            match random.below(20) {
                0 => generation += 1,
                1 => at += TimeDelta::days(4),
                _ => world.change(&mut random),
            }
            let policy = policy_at(generation);
            let incremental = audit_of(&policy, &world.inventory, Some(&mut cache), at);
            let full = audit_of(&policy, &world.inventory, None, at);
            assert_eq!(incremental.status, full.status, "seed {seed}, step {step}");
            assert_eq!(
                sorted(&incremental),
                sorted(&full),
                "seed {seed}, step {step}"
            );
            reused_total += incremental.reused;
        }
    }
    assert!(
        reused_total > 1_000,
        "the sequences exercise reuse ({reused_total})"
    );
}

#[test]
fn an_unchanged_world_reuses_every_evaluation() {
    let world = World::new();
    let policy = policy_at(3);
    let mut cache = EvaluationCache::default();
    let first = audit_of(&policy, &world.inventory, Some(&mut cache), now());
    let second = audit_of(&policy, &world.inventory, Some(&mut cache), now());
    assert_eq!(second.reused, first.evaluations.len());
    assert!(second.reused > 0);
    assert_eq!(
        Arc::strong_count(&second.evaluations[0]),
        Arc::strong_count(&first.evaluations[0])
    );
}

#[path = "incremental_rbac.rs"]
mod rbac;
