//! The deployment against the engine's kind table (`hipaa_controls::object::KINDS`): the webhook
//! configuration the operator registers asks for exactly the requests the table says are judged,
//! and each component's ClusterRole reads exactly the kinds the table says it watches (or, for the
//! webhook, counts). Read from deploy/webhook-configuration.yaml (the operator's builder keeps it
//! current: operator/src/admission/build_tests.rs) and the rendered manifests in deploy/
//! (`helm_e2e` keeps them in sync with the chart); no cluster needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use hipaa_controls::object::{KINDS, KindInfo, READ_VERBS};
use serde::Deserialize;
use serde_json::Value;

const MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/hipaa-guard.yaml");
const REGISTERED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/webhook-configuration.yaml"
);

/// Groups the kind table does not describe: our own CRD and reports, Events, leader election, and admission
/// registration (the operator's rules on its webhook configuration and its own ClusterRole, which
/// helm_e2e's admission checks hold to exactly). The webhook's RBAC reads are the table's: it
/// watches the RBAC kinds for its access model.
const NOT_KINDS: [&str; 7] = [
    "hipaaguard.io",
    // The operator's own reports, written, not watched (helm_e2e's least-privilege check).
    "wgpolicyk8s.io",
    "openreports.io",
    "events.k8s.io",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
    "rbac.authorization.k8s.io",
];

/// What the operator lists for AWS data linking (issue 19), outside the kind table: the
/// PersistentVolumes (a claim's EFS file system) and the ACK and Crossplane kinds that declare S3
/// buckets and RDS databases.
const DATA_LINKING_LISTS: [(&str, &str); 10] = [
    ("", "persistentvolumes"),
    ("s3.services.k8s.aws", "buckets"),
    ("rds.services.k8s.aws", "dbinstances"),
    ("rds.services.k8s.aws", "dbclusters"),
    ("s3.aws.upbound.io", "buckets"),
    ("s3.aws.m.upbound.io", "buckets"),
    ("rds.aws.upbound.io", "instances"),
    ("rds.aws.upbound.io", "clusters"),
    ("rds.aws.m.upbound.io", "instances"),
    ("rds.aws.m.upbound.io", "clusters"),
];

/// The groups left out of the webhook's role: its RBAC reads are the kind table's.
const NOT_WEBHOOK_KINDS: [&str; 4] = [
    "hipaaguard.io",
    "events.k8s.io",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
];

fn documents() -> Vec<Value> {
    documents_of(MANIFESTS)
}

fn documents_of(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_serde::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|document| !document.is_null())
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn of_kind<'d>(documents: &'d [Value], kind: &str, component: &str) -> &'d Value {
    documents
        .iter()
        .find(|d| {
            d["kind"] == kind
                && (component.is_empty()
                    || d["metadata"]["labels"]["app.kubernetes.io/component"] == component)
        })
        .unwrap_or_else(|| panic!("no {kind} {component} in {MANIFESTS}"))
}

/// (group, resource, verb) of a ClusterRole's rules, without the groups `not_kinds` (those the
/// table does not describe) and core Events.
fn granted(role: &Value, not_kinds: &[&str]) -> BTreeSet<(String, String, String)> {
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                if not_kinds.contains(&group.as_str()) || resource == "events" {
                    continue;
                }
                for verb in strings(&rule["verbs"]) {
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    granted
}

fn reads(rows: impl Iterator<Item = &'static KindInfo>) -> BTreeSet<(String, String, String)> {
    rows.flat_map(|row| {
        READ_VERBS.iter().map(move |verb| {
            (
                row.group().to_owned(),
                row.plural.to_owned(),
                (*verb).to_owned(),
            )
        })
    })
    .collect()
}

/// A request the API server may send: (group, version, resource, operation, scope).
type Request = (String, String, String, String, String);

/// The requests an entry's rules ask for.
fn asked(entry: &Value) -> BTreeSet<Request> {
    let mut asked = BTreeSet::new();
    for rule in entry["rules"].as_array().unwrap() {
        let scope = rule["scope"].as_str().unwrap_or("*").to_owned();
        for group in strings(&rule["apiGroups"]) {
            for version in strings(&rule["apiVersions"]) {
                for resource in strings(&rule["resources"]) {
                    for operation in strings(&rule["operations"]) {
                        asked.insert((
                            group.clone(),
                            version.clone(),
                            resource.clone(),
                            operation,
                            scope.clone(),
                        ));
                    }
                }
            }
        }
    }
    asked
}

/// The requests the table judges for the rows `select` picks: every version read, the resource
/// and its judged subresources, the judged operations.
fn judged(select: impl Fn(&KindInfo) -> bool) -> BTreeSet<Request> {
    let mut judged = BTreeSet::new();
    for row in KINDS.iter().filter(|row| select(row)) {
        let scope = if row.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        };
        let resources = std::iter::once(row.plural.to_owned()).chain(
            row.admission
                .subresources
                .iter()
                .map(|sub| format!("{}/{sub}", row.plural)),
        );
        for resource in resources {
            for version in row.versions() {
                for operation in row.admission.operations {
                    judged.insert((
                        row.group().to_owned(),
                        version.to_owned(),
                        resource.clone(),
                        operation.as_str().to_owned(),
                        scope.to_owned(),
                    ));
                }
            }
        }
    }
    judged
}

#[test]
fn the_webhook_rules_ask_for_what_the_table_judges() {
    let documents = documents_of(REGISTERED);
    let configuration = of_kind(&documents, "ValidatingWebhookConfiguration", "");
    // Each policy has an entry for the namespaced kinds and one for Namespaces; one entry covers
    // the cluster-scoped RBAC kinds, one the other cluster-scoped kinds. Each asks for exactly its
    // rows' requests.
    let objects = judged(|row| row.namespaced);
    let namespaces = judged(|row| row.kind == "Namespace");
    let cluster_rbac = judged(|row| !row.namespaced && row.is_rbac());
    let cluster = judged(|row| !row.namespaced && row.kind != "Namespace" && !row.is_rbac());
    let mut all = BTreeSet::new();
    for entry in configuration["webhooks"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let expected = if name.ends_with(".objects.validate.hipaaguard.io") {
            &objects
        } else if name.ends_with(".namespaces.validate.hipaaguard.io") {
            &namespaces
        } else if name == "cluster.validate.hipaaguard.io" {
            &cluster
        } else if name == "rbac.validate.hipaaguard.io" {
            &cluster_rbac
        } else {
            panic!("an entry of no known kind: {name}")
        };
        let asked = asked(entry);
        assert_eq!(&asked, expected, "{name}");
        all.extend(asked);
    }
    // Together they ask for every judged request: an entry kind the table needs is there.
    assert_eq!(all, judged(|_| true));
}

#[test]
fn the_webhook_role_reads_what_the_table_says_it_watches() {
    let documents = documents();
    let role = of_kind(&documents, "ClusterRole", "webhook");
    assert_eq!(
        granted(role, &NOT_WEBHOOK_KINDS),
        reads(
            KINDS
                .iter()
                .filter(|r| r.webhook_watches || r.webhook_counts)
        )
    );
}

#[test]
fn the_operator_role_reads_what_the_table_says_it_watches() {
    let documents = documents();
    let role = of_kind(&documents, "ClusterRole", "operator");
    // The access model's reads (the RBAC kinds and ServiceAccounts) are list and watch only, no
    // get: helm_e2e's operator_reads_rbac holds them exactly.
    let access_model = |row: &KindInfo| row.is_rbac() || row.kind == "ServiceAccount";
    let mut granted = granted(role, &NOT_KINDS);
    granted.retain(|(_, plural, _)| plural != "serviceaccounts");
    // AWS data linking lists these once per refresh cycle (list only, no watch).
    let linking = |(group, plural, _): &(String, String, String)| {
        DATA_LINKING_LISTS.contains(&(group.as_str(), plural.as_str()))
    };
    let lists: BTreeSet<_> = granted.iter().filter(|g| linking(g)).cloned().collect();
    let expected_lists: BTreeSet<_> = DATA_LINKING_LISTS
        .iter()
        .map(|(group, plural)| (group.to_string(), plural.to_string(), "list".to_string()))
        .collect();
    assert_eq!(
        lists, expected_lists,
        "the data linking's reads are list only"
    );
    granted.retain(|g| !linking(g));
    assert_eq!(
        granted,
        reads(
            KINDS
                .iter()
                .filter(|r| r.operator_watches() && !access_model(r))
        )
    );
    assert!(
        KINDS
            .iter()
            .filter(|r| access_model(r))
            .all(KindInfo::operator_watches),
        "the table says the operator reads every kind of the access model"
    );
}
