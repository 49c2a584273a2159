//! The access review on a fixture cluster (tests/fixtures/access/cluster.yaml): which namespaces
//! are reviewed, the subject filter, problems, and the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde::Deserialize;

use super::*;

/// The fixture cluster (the report's tests use it too).
pub(crate) struct Cluster {
    pub policies: Vec<HipaaPolicy>,
    pub namespaces: Vec<Namespace>,
    pub rbac: RbacSet,
}

pub(crate) fn cluster() -> Cluster {
    let text = include_str!("../../tests/fixtures/access/cluster.yaml");
    let mut cluster = Cluster {
        policies: Vec::new(),
        namespaces: Vec::new(),
        rbac: RbacSet::default(),
    };
    for document in yaml_serde::Deserializer::from_str(text) {
        let value = serde_json::Value::deserialize(document).unwrap();
        let rbac = &mut cluster.rbac;
        match value["kind"].as_str().unwrap() {
            "HipaaPolicy" => cluster
                .policies
                .push(serde_json::from_value(value).unwrap()),
            "Namespace" => cluster
                .namespaces
                .push(serde_json::from_value(value).unwrap()),
            _ if rbac.push_value(value.clone()).unwrap() => {}
            other => panic!("unexpected kind {other}"),
        }
    }
    cluster
}

fn review(namespace: Option<&str>, subject: Option<&str>) -> AccessDocument {
    let c = cluster();
    access_document(&c.policies, &c.namespaces, &c.rbac, namespace, subject).unwrap()
}

#[test]
fn the_phi_namespaces_are_reviewed_and_the_others_are_not() {
    let document = review(None, None);
    let names: Vec<&str> = document
        .namespaces
        .iter()
        .map(|n| n.namespace.as_str())
        .collect();
    assert_eq!(names, ["billing", "claims"]);
    let billing: Vec<String> = document.namespaces[0]
        .grants
        .iter()
        .map(|g| format!("{} {}", g.grant.subject, g.grant.access))
        .collect();
    // Users, then groups, then ServiceAccounts.
    assert_eq!(
        billing,
        [
            "User alice read-secrets",
            "Group oncall exec",
            "ServiceAccount billing/backup read-secrets"
        ]
    );
    assert_eq!(document.namespaces[0].policies, ["production-phi"]);
    assert!(document.namespaces[0].problems.is_empty());
    let claims = &document.namespaces[1];
    assert_eq!(claims.problems.len(), 1);
    assert!(claims.problems[0].message.contains("does not exist"));
}

#[test]
fn a_subject_filter_and_an_unselected_namespace_asked_for_by_name() {
    let document = review(None, Some("billing/backup"));
    assert_eq!(document.namespaces[0].grants.len(), 1);
    assert!(document.namespaces[1].grants.is_empty());
    let tools = review(Some("tools"), None);
    assert_eq!(tools.namespaces.len(), 1);
    assert!(tools.namespaces[0].policies.is_empty());
    let subjects: Vec<String> = tools.namespaces[0]
        .grants
        .iter()
        .map(|g| g.grant.subject.to_string())
        .collect();
    assert_eq!(subjects, ["User carol", "Group oncall"]);
    let c = cluster();
    let missing = access_document(&c.policies, &c.namespaces, &c.rbac, Some("nope"), None);
    assert_eq!(missing.unwrap_err().to_string(), "namespace nope not found");
}

#[test]
fn the_table_names_each_path_and_what_is_incomplete() {
    let mut out = Vec::new();
    table::write(&review(None, None), Style::plain(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE  SUBJECT"), "{text}");
    assert!(
        text.contains(
            "billing    Group oncall                   exec          NO       create,get  pods/exec  \
             ClusterRoleBinding oncall-exec → ClusterRole exec-anywhere, rule 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("billing    User alice                     read-secrets  yes      get,list"),
        "{text}"
    );
    assert!(
        text.contains("incomplete in claims: RoleBinding claims/legacy: it names Role claims/gone, which does not exist"),
        "{text}"
    );
    let mut out = Vec::new();
    table::write(
        &AccessDocument { namespaces: vec![] },
        Style::plain(),
        &mut out,
    )
    .unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("No HipaaPolicy selects any namespace")
    );
}

#[test]
fn each_grant_says_which_control_judges_it_and_whether_its_allow_list_allows_the_subject() {
    let document = review(Some("billing"), None);
    let json = serde_json::to_value(&document).unwrap();
    let grants = json["namespaces"][0]["grants"].as_array().unwrap();
    let find = |name: &str, access: &str| {
        grants
            .iter()
            .find(|g| g["subject"]["name"] == name && g["access"] == access)
            .unwrap_or_else(|| panic!("no {name} {access} in {grants:?}"))
    };
    let alice = find("alice", "read-secrets");
    assert_eq!(alice["judgedBy"], "HIPAA-K8S-ACCESS-SECRETS");
    assert_eq!(alice["allowed"], true);
    let backup = find("backup", "read-secrets");
    assert_eq!(backup["allowed"], false);
    let oncall = find("oncall", "exec");
    assert_eq!(oncall["judgedBy"], "HIPAA-K8S-ACCESS-EXEC");
    assert_eq!(oncall["allowed"], false);
    // The grant's own fields stay at the top level of each row.
    assert_eq!(alice["binding"]["name"], "auditors");
    // Out of HIPAA scope nothing judges: the fields are absent.
    let c = cluster();
    let tools = access_document(&c.policies, &c.namespaces, &c.rbac, Some("tools"), None).unwrap();
    let tools = serde_json::to_value(&tools).unwrap();
    let tools_grants = tools["namespaces"][0]["grants"].as_array().unwrap();
    assert!(!tools_grants.is_empty(), "a vacuous check: {tools}");
    for grant in tools_grants {
        assert!(grant.get("allowed").is_none() && grant.get("judgedBy").is_none());
    }
}
