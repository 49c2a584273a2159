//! HIPAA-IAM-DATA-WILDCARD-ACTION and -RESOURCE over policy fixtures: pass, fail with the role,
//! policy and statement named, and Error when a policy cannot be read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::aws::LookupError;
use crate::aws::identity::PolicyDocument;

fn role(documents: &[(&str, &str)]) -> IamRole {
    IamRole {
        arn: "arn:aws:iam::111122223333:role/app".into(),
        name: "app".into(),
        policies: documents
            .iter()
            .map(|(name, json)| RolePolicy {
                name: (*name).into(),
                arn: Some(format!("arn:aws:iam::111122223333:policy/{name}")),
                version: Some("v1".into()),
                document: PolicyDocument::parse(json)
                    .map_err(|e| LookupError::new("Malformed", e.to_string())),
            })
            .collect(),
        policies_error: None,
        used_by: Vec::new(),
    }
}

fn statement(body: &str) -> String {
    format!(r#"{{"Statement":[{{"Effect":"Allow",{body}}}]}}"#)
}

fn fails(verdict: &Verdict, needles: &[&str]) -> bool {
    matches!(verdict, Verdict::Fail(message) if needles.iter().all(|n| message.contains(n)))
}

#[test]
fn every_role_of_the_snapshot_is_judged_as_its_own_resource() {
    let now = Utc::now();
    let mut snapshot = crate::aws::AwsSnapshot::empty(now);
    snapshot.roles = vec![
        LookedUp::found("arn:aws:iam::111122223333:role/app", role(&[])),
        LookedUp::failed(
            "arn:aws:iam::111122223333:role/gone",
            LookupError::new("NoSuchEntity", "gone"),
        ),
    ];
    let resources =
        crate::aws::evaluate_aws_resources(&snapshot, &EffectivePolicy::defaults(), now);
    let names: Vec<(&str, &str)> = resources
        .iter()
        .map(|r| (r.resource.kind.as_str(), r.resource.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            (KIND_IAM_ROLE, "arn:aws:iam::111122223333:role/app"),
            (KIND_IAM_ROLE, "arn:aws:iam::111122223333:role/gone"),
        ]
    );
}

#[test]
fn least_privilege_passes_both() {
    let role = role(&[(
        "reports",
        &statement(
            r#""Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::phi","arn:aws:s3:::phi/*"]"#,
        ),
    )]);
    assert_eq!(wildcard_action(&role), Verdict::Pass);
    assert_eq!(wildcard_resource(&role), Verdict::Pass);
}

#[test]
fn wildcard_actions_on_data_services_fail() {
    let s3_star = role(&[(
        "broad",
        &statement(r#""Sid":"All","Action":"s3:*","Resource":"arn:aws:s3:::phi/*""#),
    )]);
    assert!(fails(
        &wildcard_action(&s3_star),
        &["IAM role app", "policy broad", "statement All", "s3:*"]
    ));
    let star = role(&[("admin", &statement(r#""Action":"*","Resource":"*""#))]);
    assert!(fails(
        &wildcard_action(&star),
        &["statement #1", "allows *"]
    ));
    let conditional = role(&[(
        "c",
        &statement(
            r#""Action":"dynamodb:*","Resource":"arn:aws:dynamodb:*:*:table/t","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
        ),
    )]);
    assert!(fails(
        &wildcard_action(&conditional),
        &["dynamodb:*", "under a Condition, not evaluated"]
    ));
    let kms = role(&[(
        "k",
        &statement(r#""Action":"KMS:*","Resource":"arn:aws:kms:*:*:key/x""#),
    )]);
    assert!(fails(&wildcard_action(&kms), &["KMS:*"]));
    let not_action = role(&[("n", &statement(r#""NotAction":"iam:*","Resource":"*""#))]);
    assert!(fails(&wildcard_action(&not_action), &["NotAction [iam:*]"]));
    // A wildcard on a service that holds no data, or a narrower wildcard, passes.
    let logs = role(&[(
        "l",
        &statement(r#""Action":["logs:*","s3:Get*"],"Resource":"arn:aws:s3:::phi/*""#),
    )]);
    assert_eq!(wildcard_action(&logs), Verdict::Pass);
    // Deny statements grant nothing.
    let deny = role(&[(
        "d",
        r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#,
    )]);
    assert_eq!(wildcard_action(&deny), Verdict::Pass);
    assert_eq!(wildcard_resource(&deny), Verdict::Pass);
}

#[test]
fn star_resources_and_not_resource_on_data_services_fail() {
    let star = role(&[(
        "read",
        &statement(r#""Sid":"Read","Action":"dynamodb:GetItem","Resource":"*""#),
    )]);
    assert!(fails(
        &wildcard_resource(&star),
        &[
            "policy read",
            "statement Read",
            "dynamodb",
            "Resource \"*\""
        ]
    ));
    let not_resource = role(&[(
        "nr",
        &statement(r#""Action":"s3:GetObject","NotResource":"arn:aws:s3:::private/*""#),
    )]);
    assert!(fails(
        &wildcard_resource(&not_resource),
        &["NotResource [arn:aws:s3:::private/*]"]
    ));
    let every_action = role(&[("all", &statement(r#""Action":"*","Resource":"*""#))]);
    assert!(fails(
        &wildcard_resource(&every_action),
        &["s3, rds-data, dynamodb, kms, secretsmanager"]
    ));
    let not_action = role(&[(
        "na",
        &statement(r#""NotAction":["s3:*","kms:*"],"Resource":"*""#),
    )]);
    assert!(fails(
        &wildcard_resource(&not_action),
        &["rds-data, dynamodb, secretsmanager"]
    ));
    // `Resource: *` is fine for actions that hold no data (and for rds control-plane reads).
    let describe = role(&[(
        "d",
        &statement(r#""Action":["ec2:Describe*","rds:DescribeDBInstances"],"Resource":"*""#),
    )]);
    assert_eq!(wildcard_resource(&describe), Verdict::Pass);
}

#[test]
fn unreadable_policies_are_errors_unless_a_readable_one_fails() {
    let broken = role(&[
        (
            "good",
            &statement(r#""Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*""#),
        ),
        ("bad", "not json"),
    ]);
    for verdict in [wildcard_action(&broken), wildcard_resource(&broken)] {
        assert!(
            matches!(&verdict, Verdict::Error(m) if m.contains("policy bad (arn:aws:iam::111122223333:policy/bad) could not be read")),
            "{verdict:?}"
        );
    }
    let mut unlisted = role(&[]);
    unlisted.policies_error =
        Some(LookupError::new("AccessDenied", "no").with_action("iam:ListAttachedRolePolicies"));
    assert!(
        matches!(wildcard_action(&unlisted), Verdict::Error(m) if m.contains("iam:ListAttachedRolePolicies"))
    );
    assert!(matches!(wildcard_resource(&unlisted), Verdict::Error(_)));
    let failing = role(&[
        ("star", &statement(r#""Action":"s3:*","Resource":"*""#)),
        ("bad", "not json"),
    ]);
    assert!(fails(&wildcard_action(&failing), &["s3:*", "policy bad"]));
}
