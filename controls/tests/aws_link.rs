//! Parsing workload images into ECR references, as the operator's linker does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hipaa_controls::aws::{EcrImageRef, parse_ecr_image};

const DIGEST: &str = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

fn image(
    account: &str,
    region: &str,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> EcrImageRef {
    EcrImageRef {
        account: account.into(),
        region: region.into(),
        repository: repository.into(),
        tag: tag.map(Into::into),
        digest: digest.map(Into::into),
    }
}

#[test]
fn a_tagged_image_in_a_nested_repository() {
    assert_eq!(
        parse_ecr_image("111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api/v2:1.4.0"),
        Some(image(
            "111122223333",
            "us-east-1",
            "payments/api/v2",
            Some("1.4.0"),
            None
        ))
    );
}

#[test]
fn an_image_without_tag_or_digest_is_latest() {
    let parsed = parse_ecr_image("111122223333.dkr.ecr.eu-west-1.amazonaws.com/web").unwrap();
    assert_eq!(parsed.tag.as_deref(), Some("latest"));
    assert_eq!(parsed.reference(), "latest");
}

#[test]
fn digests_with_and_without_a_tag() {
    let pinned = parse_ecr_image(&format!(
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/web@{DIGEST}"
    ))
    .unwrap();
    assert_eq!(
        pinned,
        image("111122223333", "us-east-1", "web", None, Some(DIGEST))
    );
    assert_eq!(pinned.reference(), DIGEST);
    let both = parse_ecr_image(&format!(
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/web:v1@{DIGEST}"
    ))
    .unwrap();
    assert_eq!(
        both,
        image("111122223333", "us-east-1", "web", Some("v1"), Some(DIGEST))
    );
    assert_eq!(both.reference(), DIGEST);
}

#[test]
fn fips_china_and_port_hosts() {
    let expected = |region: &str| Some(image("111122223333", region, "api", Some("v1"), None));
    assert_eq!(
        parse_ecr_image("111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com/api:v1"),
        expected("us-gov-west-1")
    );
    assert_eq!(
        parse_ecr_image("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/api:v1"),
        expected("cn-north-1")
    );
    assert_eq!(
        parse_ecr_image("111122223333.dkr.ecr.us-east-1.amazonaws.com:443/api:v1"),
        expected("us-east-1")
    );
}

#[test]
fn other_registries_and_malformed_references_are_not_ecr() {
    for text in [
        "nginx:1.27",
        "docker.io/library/nginx:1.27",
        "public.ecr.aws/nginx/nginx:1.27",
        "registry.example.com:5000/team/app:v1",
        "11112222333.dkr.ecr.us-east-1.amazonaws.com/api:v1",
        "111122223333.dkr.ecr.us-east-1.example.com/api:v1",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/API:v1",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/api:",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/api@sha256:xyz",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com//api",
        "",
    ] {
        assert_eq!(parse_ecr_image(text), None, "{text}");
    }
}
