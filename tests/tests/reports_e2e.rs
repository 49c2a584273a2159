//! PolicyReports and OpenReports on the real API server, with the published CRDs installed (the
//! chart's `crds/` and, for OpenReports, the pinned copies beside this file): a report per
//! governed namespace lists its violations and loses them when they are fixed, a change in one
//! namespace rewrites that namespace's report only, a namespace leaving the scope loses its
//! report, and a restarted operator rewrites no report that is current.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::path::Path;
use std::time::Duration;

use hipaa_testkit::{apply_yaml, apply_yaml_in, fresh_namespace, wait_for};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use operator_support::*;

const POLICY_REPORT_CRDS: [&str; 2] = [
    "../charts/hipaa-guard/crds/wgpolicyk8s.io_policyreports.yaml",
    "../charts/hipaa-guard/crds/wgpolicyk8s.io_clusterpolicyreports.yaml",
];
const OPENREPORTS_CRDS: [&str; 2] = [
    "tests/reports_e2e/openreports.io_reports.yaml",
    "tests/reports_e2e/openreports.io_clusterreports.yaml",
];

/// Installs both report APIs, once per test process, and waits until they are served.
async fn install_report_crds(client: &Client) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in POLICY_REPORT_CRDS.iter().chain(&OPENREPORTS_CRDS) {
        let yaml = std::fs::read_to_string(root.join(file)).unwrap();
        apply_yaml(client, &yaml).await.unwrap();
    }
    for (group, version, kind) in [
        ("wgpolicyk8s.io", "v1alpha2", "PolicyReport"),
        ("wgpolicyk8s.io", "v1alpha2", "ClusterPolicyReport"),
        ("openreports.io", "v1alpha1", "Report"),
        ("openreports.io", "v1alpha1", "ClusterReport"),
    ] {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        wait_for(
            &format!("{kind} to be served"),
            Duration::from_secs(30),
            || {
                let api = api.clone();
                async move { Ok(api.list(&Default::default()).await.ok().map(|_| ())) }
            },
        )
        .await
        .unwrap();
    }
}

fn reports(
    client: &Client,
    group: &str,
    version: &str,
    kind: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

fn policy_reports(client: &Client, ns: &str) -> Api<DynamicObject> {
    reports(
        client,
        "wgpolicyk8s.io",
        "v1alpha2",
        "PolicyReport",
        Some(ns),
    )
}

fn open_reports(client: &Client, ns: &str) -> Api<DynamicObject> {
    reports(client, "openreports.io", "v1alpha1", "Report", Some(ns))
}

/// `(rule, result, kind/name)` of every result, sorted.
fn results(report: &DynamicObject) -> Vec<(String, String, String)> {
    let mut found: Vec<(String, String, String)> = report.data["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let object = &r["resources"][0];
            (
                r["rule"].as_str().unwrap_or_default().to_owned(),
                r["result"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{}/{}",
                    object["kind"].as_str().unwrap_or_default(),
                    object["name"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect();
    found.sort();
    found
}

/// Waits until the report `name` satisfies `check`; returns it.
async fn wait_report(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    operator: &Operator,
    check: impl Fn(&DynamicObject) -> bool,
) -> DynamicObject {
    let check = &check;
    wait_for(what, Duration::from_secs(30), || async move {
        Ok(api.get_opt(name).await?.filter(|report| check(report)))
    })
    .await
    .unwrap_or_else(|error| panic!("{error:#}\noperator log:\n{}", operator.guard.log_tail(40)))
}

fn fails(report: &DynamicObject) -> u64 {
    report.data["summary"]["fail"].as_u64().unwrap_or(0)
}

const WORKER_FAILS: [(&str, &str, &str); 3] = [
    ("HIPAA-K8S-IMAGE-REGISTRY", "fail", "Deployment/worker"),
    ("HIPAA-K8S-PRIVILEGED", "fail", "Deployment/worker"),
    ("HIPAA-K8S-SECRETS-IN-ENV", "fail", "Deployment/worker"),
];

fn owned(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect()
}

#[tokio::test]
async fn reports_follow_the_violations_namespace_by_namespace() {
    let case = Case::governed("reports", "rep-a").await.unwrap();
    let client = &case.client;
    install_report_crds(client).await;
    let (a, label) = (&case.ns, &case.label);
    let b = fresh_namespace(client, "rep-b", &governed(label))
        .await
        .unwrap();
    apply_yaml_in(client, &b, DEFAULT_DENY).await.unwrap();
    case.apply(&non_compliant_deployment("worker"))
        .await
        .unwrap();
    apply_yaml_in(client, &b, &privileged_deployment("api"))
        .await
        .unwrap();

    let operator = case.start_operator("operator-reports", &[]).await.unwrap();
    let (policy_name, policy) = case
        .apply_policy_until("", "audited", Duration::from_secs(30), audited)
        .await
        .unwrap();
    let name = format!("hipaa-guard-{policy_name}");

    // Namespace a: the worker's three violations, in both APIs; the checks that pass counted.
    let report_a = wait_report(
        &policy_reports(client, a),
        &name,
        "a's PolicyReport",
        &operator,
        |r| fails(r) == 3,
    )
    .await;
    assert_eq!(results(&report_a), owned(&WORKER_FAILS));
    assert!(
        report_a.data["summary"]["pass"].as_u64().unwrap() > 0,
        "{:?}",
        report_a.data
    );
    let first = &report_a.data["results"][0];
    assert_eq!(first["source"], "hipaa-guard");
    assert_eq!(first["policy"], policy_name.as_str());
    assert!(
        first["category"].as_str().unwrap().starts_with("164."),
        "{first}"
    );
    assert_eq!(first["resources"][0]["apiVersion"], "apps/v1");
    let owner = &report_a.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("HipaaPolicy", policy.uid().unwrap().as_str())
    );
    let open_a = wait_report(
        &open_reports(client, a),
        &name,
        "a's OpenReports Report",
        &operator,
        |r| fails(r) == 3,
    )
    .await;
    assert_eq!(results(&open_a), owned(&WORKER_FAILS));
    assert_eq!(open_a.data["source"], "hipaa-guard");
    // Namespace b: its own report; and the cluster's report exists for the Namespaces.
    let report_b = wait_report(
        &policy_reports(client, &b),
        &name,
        "b's PolicyReport",
        &operator,
        |r| fails(r) == 1,
    )
    .await;
    assert_eq!(
        results(&report_b),
        owned(&[("HIPAA-K8S-PRIVILEGED", "fail", "Deployment/api")])
    );
    let cluster = reports(
        client,
        "wgpolicyk8s.io",
        "v1alpha2",
        "ClusterPolicyReport",
        None,
    );
    wait_report(
        &cluster,
        &name,
        "the ClusterPolicyReport",
        &operator,
        |_| true,
    )
    .await;
    let open_b = open_reports(client, &b).get(&name).await.unwrap();

    // Fixing a's worker empties a's report; b's reports are not written again.
    case.apply(&compliant_deployment("worker")).await.unwrap();
    let fixed = wait_report(
        &policy_reports(client, a),
        &name,
        "a's report without the fixed violations",
        &operator,
        |r| fails(r) == 0,
    )
    .await;
    assert_eq!(results(&fixed), vec![]);
    assert!(fixed.data["summary"]["pass"].as_u64() > report_a.data["summary"]["pass"].as_u64());
    wait_report(
        &open_reports(client, a),
        &name,
        "a's OpenReports Report emptied",
        &operator,
        |r| fails(r) == 0,
    )
    .await;
    let b_now = policy_reports(client, &b).get(&name).await.unwrap();
    assert_eq!(
        b_now.resource_version(),
        report_b.resource_version(),
        "b's report was rewritten"
    );
    let open_b_now = open_reports(client, &b).get(&name).await.unwrap();
    assert_eq!(open_b_now.resource_version(), open_b.resource_version());

    // b leaves the scope: its reports go.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let unlabel = serde_json::json!({"metadata": {"labels": {"hipaaguard.io/phi": null}}});
    namespaces
        .patch(&b, &PatchParams::default(), &Patch::Merge(&unlabel))
        .await
        .unwrap();
    for api in [policy_reports(client, &b), open_reports(client, &b)] {
        wait_for("b's reports to be deleted", Duration::from_secs(30), || {
            let (api, name) = (api.clone(), name.clone());
            async move { Ok(api.get_opt(&name).await?.is_none().then_some(())) }
        })
        .await
        .unwrap();
    }
    let applied = operator
        .metric("hipaaguard_operator_report_writes_total{api=\"policyreport\",operation=\"apply\",result=\"ok\"}")
        .await
        .unwrap();
    let deleted = operator
        .metric("hipaaguard_operator_report_writes_total{api=\"policyreport\",operation=\"delete\",result=\"ok\"}")
        .await
        .unwrap();
    // a twice, b once, the cluster's at least once; b deleted once.
    assert!(applied >= 4.0, "{applied}");
    assert_eq!(deleted, 1.0);
}

#[tokio::test]
async fn a_new_leader_rewrites_no_current_report() {
    let case = Case::governed("reports-restart", "rep-restart")
        .await
        .unwrap();
    let client = &case.client;
    install_report_crds(client).await;
    case.apply(&privileged_deployment("api")).await.unwrap();
    let mut operator = case
        .start_operator("operator-reports-first", &[])
        .await
        .unwrap();
    let (policy_name, _) = case
        .apply_policy_until("", "audited", Duration::from_secs(30), audited)
        .await
        .unwrap();
    let name = format!("hipaa-guard-{policy_name}");
    let written = wait_report(
        &policy_reports(client, &case.ns),
        &name,
        "the report",
        &operator,
        |r| fails(r) == 1,
    )
    .await;
    let hash = written.annotations()["hipaaguard.io/report-hash"].clone();
    operator.guard.kill();

    let second = case
        .start_operator("operator-reports-second", &[])
        .await
        .unwrap();
    // The new operator audits the policy once (its first reconcile) and reads the reports back.
    wait_for(
        "the new operator's first reconcile",
        Duration::from_secs(30),
        || {
            let second = &second;
            async move {
                let count = second
                    .metric("hipaaguard_operator_reconcile_duration_seconds_count")
                    .await?;
                Ok((count >= 1.0).then_some(()))
            }
        },
    )
    .await
    .unwrap();
    let after = policy_reports(client, &case.ns).get(&name).await.unwrap();
    assert_eq!(
        after.resource_version(),
        written.resource_version(),
        "rewritten by the new operator"
    );
    assert_eq!(after.annotations()["hipaaguard.io/report-hash"], hash);
    assert_eq!(
        second
            .metric("hipaaguard_operator_report_writes_total{api=\"policyreport\",operation=\"apply\",result=\"ok\"}")
            .await
            .unwrap(),
        0.0
    );
}
