//! The reports' pure steps on a hand-made audit: partition and summary and the content hash (what
//! decides a write) here, the rendered bodies of both APIs in [`render`], the plan of writes and
//! deletes and the names in [`plan`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hipaa_controls::engine::Evaluation;
use hipaa_controls::model::{ExceptionRef, Finding, Outcome, ResourceRef};
use hipaa_controls::tally::ResourceEvaluation;
use hipaa_crds::Enforcement;

use super::build::{ReportOwner, ReportPart, partition, render};
use super::plan::{ReportMemory, ReportPlan, plan};
use super::*;

pub(super) const OWNER: ReportOwner<'static> = ReportOwner {
    policy: "phi",
    uid: "0b7c-uid",
};

pub(super) fn control(id: &str) -> &'static hipaa_controls::model::Control {
    hipaa_controls::control(id).unwrap()
}

fn finding(id: &str, outcome: Outcome, resource: &ResourceRef, message: &str) -> Finding {
    Finding {
        control: control(id),
        outcome,
        resource: resource.clone(),
        message: message.to_owned(),
        enforcement: Enforcement::Enforce,
        exception: (outcome == Outcome::Excepted).then(|| ExceptionRef {
            policy: "phi".to_owned(),
            index: 0,
        }),
    }
}

pub(super) fn evaluated(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    checked: &[&str],
    failed: &[(&str, Outcome, &str)],
) -> Arc<ResourceEvaluation> {
    let resource = ResourceRef::new(kind, namespace, name);
    let findings = failed
        .iter()
        .map(|(id, outcome, message)| finding(id, *outcome, &resource, message))
        .collect();
    let checked = checked.iter().map(|id| control(id)).collect();
    Arc::new(ResourceEvaluation::new(
        resource,
        Evaluation { findings, checked },
    ))
}

/// billing/api, checked by three controls, failing PRIVILEGED with `privileged` as its message.
fn billing_api(privileged: Option<&str>) -> Arc<ResourceEvaluation> {
    let failed: Vec<(&str, Outcome, &str)> = privileged
        .map(|message| ("HIPAA-K8S-PRIVILEGED", Outcome::Fail, message))
        .into_iter()
        .collect();
    evaluated(
        "Deployment",
        Some("billing"),
        "api",
        &[
            "HIPAA-K8S-PRIVILEGED",
            "HIPAA-K8S-HA",
            "HIPAA-K8S-SECRETS-IN-ENV",
        ],
        &failed,
    )
}

/// Two namespaces with findings, a third clean one, a Namespace and an EKS cluster.
pub(super) fn audit() -> Vec<Arc<ResourceEvaluation>> {
    vec![
        evaluated(
            "Namespace",
            None,
            "billing",
            &["HIPAA-K8S-NETPOL"],
            &[(
                "HIPAA-K8S-NETPOL",
                Outcome::Fail,
                "Namespace billing has no default-deny NetworkPolicy",
            )],
        ),
        billing_api(Some("Deployment billing/api runs privileged")),
        evaluated(
            "Service",
            Some("billing"),
            "web",
            &["HIPAA-K8S-TLS-LB"],
            &[],
        ),
        evaluated(
            "Deployment",
            Some("claims"),
            "worker",
            &["HIPAA-K8S-SECRETS-IN-ENV"],
            &[(
                "HIPAA-K8S-SECRETS-IN-ENV",
                Outcome::Excepted,
                "Deployment claims/worker has a secret in env",
            )],
        ),
        evaluated(
            "EKSCluster",
            None,
            "arn:aws:eks:us-east-1:111122223333:cluster/prod",
            &["HIPAA-EKS-AUDIT-LOGGING"],
            &[(
                "HIPAA-EKS-AUDIT-LOGGING",
                Outcome::Error,
                "DescribeCluster was denied",
            )],
        ),
    ]
}

pub(super) fn scope(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

pub(super) fn namespace(name: &str) -> ReportKey {
    ReportKey::Namespace(name.to_owned())
}

fn hashes(parts: &BTreeMap<ReportKey, ReportPart<'_>>) -> BTreeMap<ReportKey, u64> {
    parts.iter().map(|(k, p)| (k.clone(), p.hash)).collect()
}

mod plan;
mod render;

#[test]
fn every_namespace_in_scope_has_a_report_and_the_cluster_one_more() {
    let evaluations = audit();
    let parts = partition(OWNER, &evaluations, &scope(&["billing", "claims", "quiet"]));
    let keys: Vec<&ReportKey> = parts.keys().collect();
    assert_eq!(
        keys,
        [
            &namespace("billing"),
            &namespace("claims"),
            &namespace("quiet"),
            &ReportKey::Cluster
        ]
    );
    let billing = &parts[&namespace("billing")].summary;
    // api passes HA and SECRETS-IN-ENV, web passes TLS-LB; api fails PRIVILEGED.
    assert_eq!(
        (billing.pass, billing.fail, billing.error, billing.skip),
        (3, 1, 0, 0)
    );
    let claims = &parts[&namespace("claims")].summary;
    assert_eq!((claims.pass, claims.fail, claims.skip), (0, 0, 1));
    let quiet = &parts[&namespace("quiet")];
    assert_eq!(quiet.summary, Default::default());
    assert!(quiet.evaluations.is_empty());
    let cluster = &parts[&ReportKey::Cluster].summary;
    assert_eq!((cluster.fail, cluster.error), (1, 1));
    // Only evaluations with findings are kept for rendering.
    assert_eq!(parts[&namespace("billing")].evaluations.len(), 1);
}

#[test]
fn the_hash_follows_the_content_and_nothing_else() {
    let evaluations = audit();
    let all = scope(&["billing", "claims", "quiet"]);
    let before = hashes(&partition(OWNER, &evaluations, &all));
    // Order does not matter.
    let mut reversed = evaluations.clone();
    reversed.reverse();
    assert_eq!(hashes(&partition(OWNER, &reversed, &all)), before);
    // A changed message in billing changes billing's report only.
    let mut changed = evaluations.clone();
    changed[1] = billing_api(Some("Deployment billing/api runs privileged (sidecar)"));
    let after = hashes(&partition(OWNER, &changed, &all));
    let differing: Vec<&ReportKey> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(differing, [&namespace("billing")]);
    // A resolved failure changes the report too (it moves into the pass count).
    changed[1] = billing_api(None);
    assert_ne!(
        hashes(&partition(OWNER, &changed, &all))[&namespace("billing")],
        before[&namespace("billing")]
    );
    // Two empty namespaces differ, and a policy re-created under the same name (a new UID)
    // writes every report again.
    assert_ne!(
        before[&namespace("quiet")],
        hashes(&partition(OWNER, &evaluations, &scope(&["other"])))[&namespace("other")]
    );
    let recreated = ReportOwner {
        policy: "phi",
        uid: "new-uid",
    };
    let again = hashes(&partition(recreated, &evaluations, &all));
    assert!(before.keys().all(|k| before[k] != again[k]));
}
