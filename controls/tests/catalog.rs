//! The catalog holds every control of the design's table, completely described.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use hipaa_controls::catalog::{
    DEFAULT_ALLOWED_SUBJECTS, DEFAULT_MAX_AGE_DAYS, DEFAULT_MIN_REPLICAS, DEFAULT_MIN_VERSION, ids,
    index_of,
};
use hipaa_controls::policy::parse_minor_version;
use hipaa_controls::{Parameters, Scope, Severity, catalog, control};

/// The IDs of the design's control table (draft v1), in its order, and HIPAA-K8S-PHI-SCOPE (issue
/// 15: namespace label changes judged at admission) and the access controls (issue 17) after the
/// other Kubernetes controls, the EKS access controls (issue 17) after the other EKS ones, then
/// (issue 19) the workload roles' grants, the data stores they reach, the edge and the account.
const DESIGN_IDS: [&str; 47] = [
    "HIPAA-K8S-TLS-INGRESS",
    "HIPAA-K8S-TLS-LB",
    "HIPAA-K8S-TLS-WORKLOAD",
    "HIPAA-K8S-NETPOL",
    "HIPAA-K8S-VOLUME-ENCRYPTION",
    "HIPAA-K8S-SECRETS-IN-ENV",
    "HIPAA-K8S-PRIVILEGED",
    "HIPAA-K8S-IMAGE-REGISTRY",
    "HIPAA-K8S-HA",
    "HIPAA-K8S-DEV-PHI",
    "HIPAA-K8S-BACKUP",
    "HIPAA-K8S-PHI-SCOPE",
    "HIPAA-K8S-ACCESS-SECRETS",
    "HIPAA-K8S-ACCESS-EXEC",
    "HIPAA-K8S-CLUSTER-ADMIN",
    "HIPAA-K8S-SA-TOKEN",
    "HIPAA-EKS-SECRETS-KMS",
    "HIPAA-EKS-AUDIT-LOGGING",
    "HIPAA-EKS-ENDPOINT",
    "HIPAA-EKS-VERSION",
    "HIPAA-EKS-ACCESS-ADMIN",
    "HIPAA-EKS-AUTH-MODE",
    "HIPAA-ECR-SCAN",
    "HIPAA-ECR-IMMUTABLE-TAGS",
    "HIPAA-ECR-KMS",
    "HIPAA-SM-KMS",
    "HIPAA-SM-ROTATION",
    "HIPAA-KMS-ROTATION",
    "HIPAA-IAM-DATA-WILDCARD-ACTION",
    "HIPAA-IAM-DATA-WILDCARD-RESOURCE",
    "HIPAA-S3-ENCRYPTION",
    "HIPAA-S3-TLS",
    "HIPAA-S3-PUBLIC",
    "HIPAA-S3-VERSIONING",
    "HIPAA-RDS-ENCRYPTION",
    "HIPAA-RDS-BACKUP",
    "HIPAA-RDS-MULTI-AZ",
    "HIPAA-RDS-TLS",
    "HIPAA-RDS-PUBLIC",
    "HIPAA-DYNAMODB-KMS",
    "HIPAA-DYNAMODB-PITR",
    "HIPAA-ALB-TLS",
    "HIPAA-EFS-ENCRYPTION",
    "HIPAA-AWS-CLOUDTRAIL",
    "HIPAA-AWS-LOG-RETENTION",
    "HIPAA-AWS-GUARDDUTY",
    "HIPAA-AWS-EBS-DEFAULT-ENCRYPTION",
];

#[test]
fn the_catalog_is_the_design_table() {
    let ids: Vec<&str> = catalog().iter().map(|c| c.id).collect();
    assert_eq!(ids, DESIGN_IDS);
    for (i, id) in DESIGN_IDS.iter().enumerate() {
        assert_eq!(control(id).unwrap().id, *id);
        assert_eq!(index_of(id), Some(i));
    }
    assert!(control("HIPAA-K8S-NOPE").is_none());
}

#[test]
fn every_control_is_fully_described() {
    for c in catalog() {
        assert!(!c.title.is_empty() && !c.description.is_empty(), "{}", c.id);
        assert!(!c.sections.is_empty(), "{}", c.id);
        for section in c.sections {
            assert!(
                section.starts_with("164.3") && section.ends_with(')'),
                "{}: {section}",
                c.id
            );
        }
        let unique: BTreeSet<_> = c.sections.iter().collect();
        assert_eq!(unique.len(), c.sections.len(), "{}", c.id);
        // Remediation is an imperative sentence that reads after "; ".
        let first = c.remediation.chars().next().unwrap();
        assert!(first.is_ascii_uppercase(), "{}", c.id);
        assert!(!c.remediation.ends_with('.'), "{}", c.id);
        assert!(!c.targets.is_empty(), "{}", c.id);
        let expected_scope = if c.id.starts_with("HIPAA-K8S-") {
            Scope::Kubernetes
        } else {
            Scope::Aws
        };
        let expected_scope = match c.id {
            ids::K8S_BACKUP
            | ids::K8S_ACCESS_SECRETS
            | ids::K8S_ACCESS_EXEC
            | ids::K8S_CLUSTER_ADMIN => Scope::KubernetesAudit,
            ids::K8S_PHI_SCOPE => Scope::KubernetesAdmission,
            _ => expected_scope,
        };
        assert_eq!(c.scope, expected_scope, "{}", c.id);
    }
}

#[test]
fn only_the_sa_token_control_is_opt_in() {
    let opt_in: Vec<&str> = catalog()
        .iter()
        .filter(|c| c.opt_in)
        .map(|c| c.id)
        .collect();
    assert_eq!(opt_in, [ids::K8S_SA_TOKEN]);
}

#[test]
fn the_netpol_denial_cites_transmission_security_first() {
    assert_eq!(
        control(ids::K8S_NETPOL).unwrap().sections,
        ["164.312(e)(1)", "164.312(a)(1)"]
    );
}

#[test]
fn severities_rank_encryption_and_privilege_above_availability() {
    let sev = |id: &str| control(id).unwrap().severity;
    for id in [
        ids::K8S_PRIVILEGED,
        ids::K8S_SECRETS_IN_ENV,
        ids::K8S_TLS_INGRESS,
        ids::K8S_TLS_LB,
        ids::K8S_TLS_WORKLOAD,
        ids::K8S_VOLUME_ENCRYPTION,
        ids::EKS_SECRETS_KMS,
    ] {
        assert!(sev(id) >= Severity::High, "{id}");
    }
    assert_eq!(sev(ids::K8S_HA), Severity::Medium);
}

#[test]
fn documented_parameter_defaults_are_the_applied_defaults() {
    let mut seen = BTreeSet::new();
    for c in catalog() {
        let defaults = Parameters::for_control(c.id);
        for p in c.parameters {
            seen.insert(p.name);
            match p.name {
                "allowedRegistries" => assert_eq!(defaults.allowed_registries, None),
                "allowedSubjects" => {
                    assert!(defaults.allowed_subject_lists.is_empty());
                    for entry in DEFAULT_ALLOWED_SUBJECTS {
                        assert!(p.default.contains(entry), "{}: {entry}", c.id);
                    }
                }
                "requireEgress" => {
                    assert_eq!(p.default.parse::<bool>().unwrap(), defaults.require_egress)
                }
                "minReplicas" => {
                    assert_eq!(p.default.parse::<i32>().unwrap(), DEFAULT_MIN_REPLICAS)
                }
                "minVersion" => {
                    assert_eq!(parse_minor_version(p.default), Some(DEFAULT_MIN_VERSION))
                }
                "failOn" => assert_eq!(Severity::parse(p.default), Some(defaults.fail_on)),
                "maxAgeDays" => assert_eq!(p.default.parse::<i64>().unwrap(), DEFAULT_MAX_AGE_DAYS),
                "allowedPrincipals" => {
                    assert_eq!(p.default, "none");
                    assert_eq!(defaults.allowed_principals, None)
                }
                "allowConfigMap" => {
                    assert_eq!(
                        p.default.parse::<bool>().unwrap(),
                        defaults.allow_config_map
                    )
                }
                "valueEntropyThreshold" => {
                    assert_eq!(
                        p.default.parse::<f64>().unwrap(),
                        defaults.value_entropy_threshold
                    )
                }
                "minRetentionDays" => {
                    assert_eq!(
                        p.default.parse::<i64>().unwrap(),
                        defaults.min_retention_days,
                        "{}",
                        c.id
                    )
                }
                "allowSseS3" => {
                    assert_eq!(p.default.parse::<bool>().unwrap(), defaults.allow_sse_s3)
                }
                "requireForAll" => {
                    assert_eq!(p.default.parse::<bool>().unwrap(), defaults.require_for_all)
                }
                other => panic!("{}: undocumented parameter {other}", c.id),
            }
        }
    }
    assert_eq!(
        seen.len(),
        13,
        "every typed parameter of the CRD belongs to a control"
    );
}
