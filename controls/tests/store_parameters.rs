//! The parameters of the data-store and account controls (minRetentionDays, allowSseS3,
//! requireForAll): validated, defaulted per control, and merged strictest first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::catalog::ids;
use hipaa_controls::{EffectivePolicy, PolicyError, validate_policy};
use k8s_openapi::api::core::v1::Namespace;

fn with(name: &str, controls: &str) -> hipaa_controls::HipaaPolicy {
    common::policy(&format!(
        "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: {name}}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: \"true\"}}}}
  controls: {controls}
"
    ))
}

fn phi_namespace() -> Namespace {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "billing", "labels": {"hipaaguard.io/phi": "true"}}
    }))
    .unwrap()
}

#[test]
fn min_retention_days_defaults_per_control() {
    let policy = EffectivePolicy::from_policy(&with("a", "[]")).unwrap();
    let days = |id| policy.setting(id).unwrap().parameters.min_retention_days;
    assert_eq!(days(ids::RDS_BACKUP), 7);
    assert_eq!(days(ids::AWS_LOG_RETENTION), 365);
    let defaults = EffectivePolicy::defaults();
    assert_eq!(
        defaults
            .setting(ids::AWS_LOG_RETENTION)
            .unwrap()
            .parameters
            .min_retention_days,
        365
    );
}

#[test]
fn the_new_parameters_are_validated() {
    let zero = with(
        "z",
        "[{id: HIPAA-RDS-BACKUP, parameters: {minRetentionDays: 0}}]",
    );
    assert!(matches!(
        &validate_policy(&zero.spec).unwrap_err()[0],
        PolicyError::InvalidParameter { message, .. } if message.contains("minRetentionDays")
    ));
    for (id, parameter) in [
        ("HIPAA-S3-TLS", "allowSseS3: true"),
        ("HIPAA-RDS-BACKUP", "requireForAll: true"),
        ("HIPAA-EKS-VERSION", "minRetentionDays: 30"),
    ] {
        let misplaced = with("m", &format!("[{{id: {id}, parameters: {{{parameter}}}}}]"));
        assert!(
            matches!(
                &validate_policy(&misplaced.spec).unwrap_err()[0],
                PolicyError::UnexpectedParameter { .. }
            ),
            "{id} {parameter}"
        );
    }
}

#[test]
fn merging_keeps_the_strictest_value_of_each() {
    let lax = with(
        "a",
        "[{id: HIPAA-S3-ENCRYPTION, parameters: {allowSseS3: true}},
          {id: HIPAA-AWS-LOG-RETENTION, parameters: {minRetentionDays: 90}}]",
    );
    let strict = with(
        "b",
        "[{id: HIPAA-RDS-BACKUP, parameters: {minRetentionDays: 35}},
          {id: HIPAA-RDS-MULTI-AZ, parameters: {requireForAll: true}}]",
    );
    let merged = EffectivePolicy::for_namespace([&lax, &strict], &phi_namespace()).unwrap();
    let parameters = |id| merged.setting(id).unwrap().parameters.clone();
    assert!(
        !parameters(ids::S3_ENCRYPTION).allow_sse_s3,
        "only if all allow"
    );
    assert!(
        parameters(ids::RDS_MULTI_AZ).require_for_all,
        "if any requires"
    );
    assert_eq!(parameters(ids::RDS_BACKUP).min_retention_days, 35);
    // b keeps the default 365, stricter than a's 90.
    assert_eq!(parameters(ids::AWS_LOG_RETENTION).min_retention_days, 365);
}
