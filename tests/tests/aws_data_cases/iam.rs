//! IAM roles: a role with a path, an attached managed policy (`s3:*` on `*`) shared with a second
//! role, and an inline least-privilege policy; the fetcher returns exactly those documents and
//! reads the managed policy's document once for both roles, and again only for a new version.

use hipaa_controls::aws::{Effect, IamRole, PolicyDocument};
use hipaa_operator::aws::fetch::iam::{PolicyCache, role};
use hipaa_operator::aws::wire::services::IAM;

use super::seed::{DataSeed, proxied};
use crate::aws_support::{ACCOUNT, REGION, unique};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
const WIDE: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
const NARROW: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/orders","Condition":{"Bool":{"aws:SecureTransport":"true"}}},{"Effect":"Deny","Action":"dynamodb:DeleteTable","Resource":"*"}]}"#;

async fn create_role(seed: &DataSeed, name: &str) {
    seed.query(
        REGION,
        &IAM,
        "CreateRole",
        &[
            ("RoleName", name),
            ("Path", "/team/"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    )
    .await;
}

fn policies(role: &IamRole) -> Vec<(String, Option<String>, Option<String>, PolicyDocument)> {
    let mut found: Vec<_> = role
        .policies
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.arn.clone(),
                p.version.clone(),
                p.document.clone().unwrap(),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[tokio::test]
async fn roles_come_with_every_policy_document_and_managed_documents_are_read_once_per_version() {
    let seed = DataSeed::new().await;
    let (wide_role, narrow_role) = (unique("wide"), unique("narrow"));
    let policy_name = unique("s3-all");
    create_role(&seed, &wide_role).await;
    create_role(&seed, &narrow_role).await;
    let policy_arn = seed
        .query_text(
            REGION,
            &IAM,
            "CreatePolicy",
            &[("PolicyName", &policy_name), ("PolicyDocument", WIDE)],
            "Arn",
        )
        .await;
    for role in [&wide_role, &narrow_role] {
        seed.query(
            REGION,
            &IAM,
            "AttachRolePolicy",
            &[("RoleName", role), ("PolicyArn", &policy_arn)],
        )
        .await;
    }
    seed.query(
        REGION,
        &IAM,
        "PutRolePolicy",
        &[
            ("RoleName", &narrow_role),
            ("PolicyName", "orders"),
            ("PolicyDocument", NARROW),
        ],
    )
    .await;

    let (proxy, clients) = proxied().await;
    let cache = PolicyCache::new();
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/team/{wide_role}");
    let wide = role(&clients, REGION, &arn, &cache).await.unwrap();
    assert_eq!(wide.arn, arn);
    assert_eq!(wide.name, wide_role);
    assert_eq!(wide.policies_error, None);
    let expected_wide = PolicyDocument::parse(WIDE).unwrap();
    assert_eq!(
        policies(&wide),
        vec![(
            policy_name.clone(),
            Some(policy_arn.clone()),
            Some("v1".to_string()),
            expected_wide.clone()
        )]
    );

    let narrow = role(&clients, REGION, &narrow_role, &cache).await.unwrap();
    let inline = PolicyDocument::parse(NARROW).unwrap();
    assert_eq!(inline.statements[1].effect, Some(Effect::Deny));
    assert_eq!(
        policies(&narrow),
        vec![
            ("orders".to_string(), None, None, inline),
            (
                policy_name.clone(),
                Some(policy_arn.clone()),
                Some("v1".to_string()),
                expected_wide
            ),
        ]
    );
    assert_eq!(
        proxy.count("GetPolicyVersion", &policy_arn),
        1,
        "one read for both roles"
    );
    assert_eq!(
        proxy.count("GetPolicy", &policy_arn),
        1,
        "the default version once per cycle"
    );

    // A new default version is read at the next cycle; the old one stays cached.
    let narrowed = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}"#;
    seed.query(
        REGION,
        &IAM,
        "CreatePolicyVersion",
        &[
            ("PolicyArn", &policy_arn),
            ("PolicyDocument", narrowed),
            ("SetAsDefault", "true"),
        ],
    )
    .await;
    cache.new_cycle();
    let again = role(&clients, REGION, &wide_role, &cache).await.unwrap();
    let [managed] = again.policies.as_slice() else {
        panic!("{again:?}")
    };
    assert_eq!(managed.version.as_deref(), Some("v2"));
    assert_eq!(
        managed.document,
        Ok(PolicyDocument::parse(narrowed).unwrap())
    );
    assert_eq!(proxy.count("GetPolicyVersion", &policy_arn), 2);
    assert_eq!(cache.documents(), 2);
}

#[tokio::test]
async fn a_missing_role_fails_its_lookup_with_the_action() {
    let (_proxy, clients) = proxied().await;
    let error = role(&clients, REGION, &unique("absent"), &PolicyCache::new())
        .await
        .unwrap_err();
    assert_eq!(error.code, "NoSuchEntity");
    assert_eq!(error.action.as_deref(), Some("iam:GetRole"));
}
