//! Image references split as the container runtime reads them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hipaa_controls::ImageReference;
use hipaa_controls::image_ref::ecr_registry;

fn parts(image: &str) -> (&str, &str, Option<&str>, Option<&str>) {
    let r = ImageReference::parse(image);
    (r.registry, r.repository, r.tag, r.digest)
}

#[test]
fn references_split_into_registry_repository_tag_and_digest() {
    assert_eq!(parts("nginx"), ("docker.io", "nginx", None, None));
    assert_eq!(
        parts("nginx:1.27"),
        ("docker.io", "nginx", Some("1.27"), None)
    );
    assert_eq!(
        parts("library/nginx:1.27"),
        ("docker.io", "library/nginx", Some("1.27"), None)
    );
    assert_eq!(
        parts("registry.local:5000/app"),
        ("registry.local:5000", "app", None, None)
    );
    assert_eq!(
        parts("registry.local:5000/team/app:2.0"),
        ("registry.local:5000", "team/app", Some("2.0"), None)
    );
    assert_eq!(
        parts("localhost/app:dev"),
        ("localhost", "app", Some("dev"), None)
    );
    assert_eq!(
        parts("123456789012.dkr.ecr.us-east-1.amazonaws.com/payments/api@sha256:abc"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "payments/api",
            None,
            Some("sha256:abc")
        )
    );
    assert_eq!(
        parts("ghcr.io/org/app:1.0@sha256:abc"),
        ("ghcr.io", "org/app", Some("1.0"), Some("sha256:abc"))
    );
    assert_eq!(parts(""), ("docker.io", "", None, None));
    assert_eq!(parts("app:"), ("docker.io", "app", None, None));
    assert_eq!(parts("@"), ("docker.io", "", None, None));
}

#[test]
fn pinning_needs_a_digest_or_a_tag_other_than_latest() {
    let pinned = |image: &str| ImageReference::parse(image).is_pinned();
    assert!(pinned("app@sha256:abc"));
    assert!(pinned("app:1.2.3"));
    assert!(pinned("registry.local:5000/app:1.0"));
    assert!(!pinned("app"));
    assert!(!pinned("app:latest"));
    assert!(!pinned("registry.local:5000/app"), "the port is not a tag");
    assert_eq!(ImageReference::parse("app").effective_tag(), Some("latest"));
    assert_eq!(
        ImageReference::parse("app@sha256:abc").effective_tag(),
        None
    );
}

#[test]
fn only_private_ecr_hosts_are_ecr() {
    assert_eq!(
        ecr_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        Some(("123456789012", "us-east-1"))
    );
    assert_eq!(
        ecr_registry("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"),
        Some(("123456789012", "us-gov-west-1"))
    );
    assert_eq!(
        ecr_registry("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
        Some(("123456789012", "cn-north-1"))
    );
    assert_eq!(
        ecr_registry("123456789012.dkr-ecr.eu-west-1.on.aws"),
        Some(("123456789012", "eu-west-1"))
    );
    assert_eq!(ecr_registry("123456789012.dkr-ecr.on.aws"), None);
    assert_eq!(ecr_registry("123456789012.evil.eu-west-1.on.aws"), None);
    assert_eq!(ecr_registry("public.ecr.aws"), None);
    assert_eq!(ecr_registry("12345.dkr.ecr.us-east-1.amazonaws.com"), None);
    assert_eq!(
        ecr_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example"),
        None
    );
    assert_eq!(
        ecr_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com:443"),
        None
    );
}
