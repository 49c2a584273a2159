//! HIPAA-K8S-HA on writes of the `scale` subresource (`kubectl scale`): below minReplicas in a
//! production namespace fails, unless a HorizontalPodAutoscaler scales the workload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::catalog::ids;
use hipaa_controls::object::ObjectKind;
use hipaa_controls::{ClusterContext, EffectivePolicy, Outcome, evaluate_scale};

const PRODUCTION: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing, labels: {hipaaguard.io/environment: production}}";
const STAGING: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing, labels: {hipaaguard.io/environment: staging}}";
const HPA: &str = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api, namespace: billing}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}, minReplicas: 1, maxReplicas: 5}";

/// The HA finding (outcome, message), None when it passed; panics when HA was not checked.
fn scale(kind: ObjectKind, replicas: i32, ctx: &ClusterContext) -> Option<(Outcome, String)> {
    scale_under(kind, replicas, ctx, &EffectivePolicy::defaults())
}

fn scale_under(
    kind: ObjectKind,
    replicas: i32,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
) -> Option<(Outcome, String)> {
    let eval = evaluate_scale(kind, "billing", "api", replicas, ctx, policy, common::now());
    assert!(eval.checked.iter().any(|c| c.id == ids::K8S_HA), "{eval:?}");
    eval.findings
        .iter()
        .find(|f| f.control.id == ids::K8S_HA)
        .map(|f| (f.outcome, f.message.clone()))
}

#[test]
fn scaling_below_the_minimum_in_production_fails() {
    let ctx = common::context(PRODUCTION);
    let (outcome, message) = scale(ObjectKind::Deployment, 1, &ctx).unwrap();
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        message,
        "scaling Deployment billing/api to 1 replica(s) leaves fewer than 2; scale it to at least 2 or let a HorizontalPodAutoscaler scale it"
    );
    assert!(scale(ObjectKind::StatefulSet, 0, &ctx).is_some());
    assert_eq!(scale(ObjectKind::Deployment, 2, &ctx), None);
    let three = common::defaults_with(ids::K8S_HA, |p| p.min_replicas = 3);
    assert!(scale_under(ObjectKind::Deployment, 2, &ctx, &three).is_some());
}

#[test]
fn a_workload_an_autoscaler_scales_may_be_scaled() {
    let ctx = common::context(&format!("{PRODUCTION}\n---\n{HPA}"));
    assert_eq!(scale(ObjectKind::Deployment, 1, &ctx), None);
    // The autoscaler names the Deployment only, not a StatefulSet of the same name.
    assert!(scale(ObjectKind::StatefulSet, 1, &ctx).is_some());
    // An autoscaler of another API group's `Deployment` names another workload.
    let other_group = HPA.replace("apiVersion: apps/v1", "apiVersion: example.com/v1");
    let ctx = common::context(&format!("{PRODUCTION}\n---\n{other_group}"));
    assert!(scale(ObjectKind::Deployment, 1, &ctx).is_some());
}

#[test]
fn outside_production_or_without_namespace_labels_scale_is_not_judged_or_an_error() {
    let eval = evaluate_scale(
        ObjectKind::Deployment,
        "billing",
        "api",
        1,
        &common::context(STAGING),
        &EffectivePolicy::defaults(),
        common::now(),
    );
    assert!(eval.checked.is_empty() && eval.findings.is_empty());
    let mut unknown = ClusterContext::new();
    unknown.completeness.namespaces = false;
    let (outcome, message) = scale(ObjectKind::Deployment, 5, &unknown).unwrap();
    assert_eq!(outcome, Outcome::Error);
    assert!(
        message.contains("labels of namespace billing are not known"),
        "{message}"
    );
    // Other kinds have no scale judgement.
    let eval = evaluate_scale(
        ObjectKind::ReplicaSet,
        "billing",
        "api",
        0,
        &common::context(PRODUCTION),
        &EffectivePolicy::defaults(),
        common::now(),
    );
    assert!(eval.checked.is_empty());
}
