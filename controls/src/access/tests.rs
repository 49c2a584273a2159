//! The access model on a fixture cluster (fixtures/rbac.yaml): who can do what in each PHI
//! namespace, through which path, and what the model cannot know.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::Deserialize;

use super::*;

#[derive(Default)]
struct Fixture {
    roles: Vec<Role>,
    cluster_roles: Vec<ClusterRole>,
    role_bindings: Vec<RoleBinding>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
}

fn fixture() -> Fixture {
    let mut fixture = Fixture::default();
    for document in yaml_serde::Deserializer::from_str(include_str!("fixtures/rbac.yaml")) {
        let value = serde_json::Value::deserialize(document).unwrap();
        let kind = value["kind"].as_str().unwrap().to_owned();
        match kind.as_str() {
            "Role" => fixture.roles.push(serde_json::from_value(value).unwrap()),
            "ClusterRole" => fixture
                .cluster_roles
                .push(serde_json::from_value(value).unwrap()),
            "RoleBinding" => fixture
                .role_bindings
                .push(serde_json::from_value(value).unwrap()),
            "ClusterRoleBinding" => {
                fixture
                    .cluster_role_bindings
                    .push(serde_json::from_value(value).unwrap());
            }
            other => panic!("unexpected kind {other}"),
        }
    }
    fixture
}

fn model(fixture: &Fixture) -> AccessModel {
    AccessModel::build(&RbacObjects {
        roles: fixture.roles.iter().collect(),
        cluster_roles: fixture.cluster_roles.iter().collect(),
        role_bindings: fixture.role_bindings.iter().collect(),
        cluster_role_bindings: fixture.cluster_role_bindings.iter().collect(),
        service_accounts: Vec::new(),
    })
}

/// `subject access path` lines, for whole-answer comparisons.
fn lines(grants: &[Grant]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            let names = g
                .names
                .as_ref()
                .map(|n| format!(" only {}", n.join(",")))
                .unwrap_or_default();
            format!(
                "{} {} [{}]{names} via {}",
                g.subject,
                g.access,
                g.verbs.join(","),
                g.path()
            )
        })
        .collect()
}

#[test]
fn every_access_in_billing_with_its_path() {
    let fixture = fixture();
    let grants = model(&fixture).grants_in("billing");
    let cluster_admin = "via ClusterRoleBinding cluster-admin → ClusterRole cluster-admin, rule 0";
    let mut expected = vec![
        format!("Group system:masters read-secrets [get,list,watch] {cluster_admin}"),
        format!("Group system:masters exec [create,get] {cluster_admin}"),
        format!("Group system:masters attach [create,get] {cluster_admin}"),
        format!("Group system:masters port-forward [create,get] {cluster_admin}"),
        format!("Group system:masters debug [patch,update] {cluster_admin}"),
        format!("Group system:masters write-workloads [create,patch,update] {cluster_admin}"),
        "ServiceAccount billing/api read-secrets [get] only db-password via RoleBinding billing/api-reads-its-secret → Role billing/one-secret, rule 0".to_owned(),
        "ServiceAccount billing/backup read-secrets [get,list] via RoleBinding billing/auditors-read-secrets → Role billing/secret-reader, rule 0".to_owned(),
        "User alice read-secrets [get,list] via RoleBinding billing/auditors-read-secrets → Role billing/secret-reader, rule 0".to_owned(),
    ];
    expected.sort();
    let mut got = lines(&grants);
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn an_aggregated_cluster_role_bound_in_one_namespace_grants_there_only() {
    let fixture = fixture();
    let model = model(&fixture);
    let oncall: Vec<Grant> = model
        .grants_in("claims")
        .into_iter()
        .filter(|g| g.subject.qualified_name() == "oncall")
        .collect();
    let got: Vec<(Access, Option<String>, Vec<String>)> = oncall
        .iter()
        .map(|g| (g.access, g.aggregated_from.clone(), g.resources.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Access::Exec,
                Some("debugger".into()),
                vec!["pods/exec".into()]
            ),
            (
                Access::Attach,
                Some("debugger".into()),
                vec!["pods/attach".into()]
            ),
            (
                Access::Debug,
                Some("debugger".into()),
                vec!["pods/ephemeralcontainers".into()]
            ),
            (
                Access::WriteWorkloads,
                Some("deployer".into()),
                vec!["deployments.apps".into()]
            ),
        ]
    );
    assert!(
        oncall[0]
            .path()
            .contains("rule 0 of ClusterRole debugger (aggregated)")
    );
    assert!(
        model
            .grants_in("billing")
            .iter()
            .all(|g| g.subject.qualified_name() != "oncall")
    );
}

#[test]
fn allows_answers_as_rbac_does_for_users_groups_and_service_accounts() {
    let fixture = fixture();
    let model = model(&fixture);
    let get_secret = PROBES
        .iter()
        .find(|p| p.verb == "get" && p.resource == "secrets")
        .unwrap();
    let list_secrets = PROBES
        .iter()
        .find(|p| p.verb == "list" && p.resource == "secrets")
        .unwrap();
    let alice = Identity::user("alice", &[]);
    assert!(model.allows(&alice, "billing", list_secrets, ""));
    assert!(!model.allows(&alice, "claims", list_secrets, ""));
    let api = Identity::service_account("billing", "api");
    assert!(model.allows(&api, "billing", get_secret, "db-password"));
    assert!(!model.allows(&api, "billing", get_secret, "other"));
    assert!(!model.allows(&api, "billing", list_secrets, ""));
    // The RoleBinding's ServiceAccount without a namespace is billing's.
    assert!(model.allows(
        &Identity::service_account("billing", "backup"),
        "billing",
        get_secret,
        "x"
    ));
    assert!(!model.allows(
        &Identity::service_account("claims", "backup"),
        "billing",
        get_secret,
        "x"
    ));
    let admin = Identity::user("root", &["system:masters"]);
    assert!(
        PROBES
            .iter()
            .all(|p| model.allows(&admin, "anywhere", p, ""))
    );
}

#[test]
fn a_binding_to_a_missing_role_is_a_problem_not_an_absence_of_access() {
    let fixture = fixture();
    let model = model(&fixture);
    let problems = model.problems_in("claims");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].binding.to_string(), "RoleBinding claims/legacy");
    assert!(
        problems[0]
            .message
            .contains("Role claims/gone, which does not exist"),
        "{problems:?}"
    );
    assert!(model.problems_in("billing").is_empty());
    assert!(
        model
            .grants_in("claims")
            .iter()
            .all(|g| g.subject.qualified_name() != "bob")
    );
}

#[test]
fn no_rbac_objects_no_access() {
    let model = AccessModel::build(&RbacObjects::default());
    assert!(model.grants_in("billing").is_empty());
    assert!(model.problems_in("billing").is_empty());
    assert_eq!(model.binding_count(), 0);
}

#[test]
fn first_paths_name_each_subject_and_access_once_with_its_least_path() {
    let model = model(&fixture());
    for namespace in ["billing", "claims", "sandbox"] {
        let grants = model.grants_in(namespace);
        let first = model.first_paths(namespace, &Access::ALL, |_| true);
        type Least = (ObjectRef, ObjectRef, usize, Option<String>);
        let mut expected: std::collections::BTreeMap<(Subject, Access), Least> =
            std::collections::BTreeMap::new();
        for g in &grants {
            let candidate = (
                g.binding.clone(),
                g.role.clone(),
                g.rule,
                g.aggregated_from.clone(),
            );
            let entry = expected
                .entry((g.subject.clone(), g.access))
                .or_insert_with(|| candidate.clone());
            if candidate < *entry {
                *entry = candidate;
            }
        }
        assert_eq!(
            first.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{namespace}"
        );
        for (key, path) in &first {
            let least = grants
                .iter()
                .filter(|g| (&g.subject, g.access) == (&key.0, key.1))
                .find(|g| {
                    (
                        g.binding.clone(),
                        g.role.clone(),
                        g.rule,
                        g.aggregated_from.clone(),
                    ) == expected[key]
                })
                .unwrap();
            assert_eq!(path, &least.path(), "{namespace} {key:?}");
        }
        assert_eq!(model.accesses_in(namespace), first, "{namespace}");
        // `keep` leaves subjects out entirely.
        let none = model.first_paths(namespace, &Access::ALL, |_| false);
        assert!(none.is_empty());
    }
}
