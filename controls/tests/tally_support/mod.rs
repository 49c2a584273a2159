//! Findings, evaluations and exceptions built by hand for the tally tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use chrono::Duration;
use hipaa_controls::catalog::ids;
use hipaa_controls::engine::Evaluation;
use hipaa_controls::model::{ExceptionRef, Finding, Outcome, ResourceRef};
use hipaa_controls::policy::{EffectivePolicy, ScopedException};
use hipaa_controls::tally::ResourceEvaluation;
use hipaa_crds::{Enforcement, ExceptionMatch, PolicyException};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::common::aws::now;

pub fn deployment(name: &str) -> ResourceRef {
    ResourceRef::new("Deployment", Some("billing"), name)
}

pub fn finding(id: &str, outcome: Outcome, resource: &ResourceRef) -> Finding {
    Finding {
        control: hipaa_controls::control(id).unwrap(),
        outcome,
        resource: resource.clone(),
        message: format!("{id} on {resource}"),
        enforcement: Enforcement::Enforce,
        exception: None,
    }
}

pub fn evaluated(
    resource: &ResourceRef,
    checked: &[&str],
    findings: Vec<Finding>,
) -> ResourceEvaluation {
    let checked = checked
        .iter()
        .map(|id| hipaa_controls::control(id).unwrap())
        .collect();
    ResourceEvaluation::new(resource.clone(), Evaluation { findings, checked })
}

pub fn exception(index: usize, expires_in: Duration) -> ScopedException {
    let expires = now() + expires_in;
    ScopedException {
        policy: "production-phi".into(),
        index,
        exception: PolicyException {
            controls: vec![ids::K8S_IMAGE_REGISTRY.into()],
            match_: ExceptionMatch::default(),
            justification: "vendor image".into(),
            approved_by: "security@example.com".into(),
            expires: Time(Timestamp::from_second(expires.timestamp()).unwrap()),
        },
    }
}

/// Two Deployments and the EKS cluster under the default policy minus HIPAA-K8S-HA.
pub fn mixed_scope() -> (EffectivePolicy, Vec<ResourceEvaluation>) {
    let mut policy = EffectivePolicy::defaults();
    policy.controls.remove(ids::K8S_HA);
    policy.exceptions.push(exception(0, Duration::days(123)));
    let checked = [
        ids::K8S_SECRETS_IN_ENV,
        ids::K8S_NETPOL,
        ids::K8S_PRIVILEGED,
        ids::K8S_IMAGE_REGISTRY,
    ];
    let api = deployment("api");
    let web = deployment("web");
    let mut excepted = finding(ids::K8S_IMAGE_REGISTRY, Outcome::Excepted, &web);
    excepted.exception = Some(ExceptionRef {
        policy: "production-phi".into(),
        index: 0,
    });
    let cluster = ResourceRef::new("EKSCluster", None, "prod");
    let evaluations = vec![
        evaluated(
            &api,
            &checked,
            vec![finding(ids::K8S_NETPOL, Outcome::Fail, &api)],
        ),
        evaluated(&web, &checked, vec![excepted]),
        evaluated(
            &cluster,
            &[ids::EKS_VERSION],
            vec![finding(ids::EKS_VERSION, Outcome::Error, &cluster)],
        ),
    ];
    (policy, evaluations)
}
