//! HIPAA-EKS-ACCESS-ADMIN and HIPAA-EKS-AUTH-MODE over snapshot fixtures: cluster-admin access
//! entries and aws-auth system:masters mappings inside and outside allowedPrincipals, sources
//! that could not be read, and each authentication mode; and the status evidence of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, evaluate, seen, snapshot};
use hipaa_controls::aws::{
    AccessEntry, AuthenticationMode, AwsSnapshot, EksCluster, LookupError, eks_access_status,
};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;

const PLATFORM_ADMIN: &str = "arn:aws:iam::111122223333:role/platform-admin";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

fn cluster_mut(snapshot: &mut AwsSnapshot) -> &mut EksCluster {
    snapshot.eks.as_mut().unwrap().result.as_mut().unwrap()
}

/// A policy whose controls are `controls` (a YAML flow sequence).
fn policy(controls: &str) -> EffectivePolicy {
    let policy: HipaaPolicy = yaml_serde::from_str(&format!(
        "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: access}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: \"true\"}}}}
  controls: {controls}
"
    ))
    .unwrap();
    EffectivePolicy::from_policy(&policy).unwrap()
}

fn admin_verdict(snapshot: &AwsSnapshot, policy: &EffectivePolicy) -> Seen {
    seen(&evaluate(snapshot, policy), "prod", ids::EKS_ACCESS_ADMIN)
}

#[test]
fn every_cluster_admin_outside_the_empty_default_list_fails_with_how_it_is_granted() {
    let verdict = admin_verdict(&snapshot("eks-access"), &EffectivePolicy::defaults());
    let Seen::Fail(message) = &verdict else {
        panic!("{verdict:?}")
    };
    assert!(
        message.contains(&format!(
            "{PLATFORM_ADMIN} (access entry with AmazonEKSClusterAdminPolicy (cluster scope))"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "{ALICE} (aws-auth mapUsers in the group system:masters)"
        )),
        "{message}"
    );
    // Cluster-admin scoped to a namespace, a view policy and node groups are not cluster-admin.
    assert!(!message.contains("billing-deployer"), "{message}");
    assert!(!message.contains("prod-nodes"), "{message}");
}

#[test]
fn listed_principals_and_globs_pass() {
    let allowed = policy(
        "[{id: HIPAA-EKS-ACCESS-ADMIN, parameters: {allowedPrincipals: ['arn:aws:iam::111122223333:role/platform-*', 'arn:aws:iam::111122223333:user/alice']}}]",
    );
    assert_eq!(admin_verdict(&snapshot("eks-access"), &allowed), Seen::Pass);
    let only_platform = policy(
        "[{id: HIPAA-EKS-ACCESS-ADMIN, parameters: {allowedPrincipals: ['arn:aws:iam::111122223333:role/platform-*']}}]",
    );
    let verdict = admin_verdict(&snapshot("eks-access"), &only_platform);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains(ALICE) && !m.contains(PLATFORM_ADMIN)),
        "{verdict:?}"
    );
}

#[test]
fn an_access_entry_in_system_masters_fails() {
    let mut snapshot = snapshot("eks-access");
    let cluster = cluster_mut(&mut snapshot);
    cluster.authentication_mode = Some(AuthenticationMode::Api);
    cluster.access_entries = Some(Ok(vec![AccessEntry {
        principal_arn: "arn:aws:iam::111122223333:role/break-glass".to_string(),
        kubernetes_groups: vec!["system:masters".to_string()],
        ..AccessEntry::default()
    }]));
    let verdict = admin_verdict(&snapshot, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("role/break-glass (access entry in the Kubernetes group system:masters)")),
        "{verdict:?}"
    );
}

#[test]
fn the_mode_decides_which_sources_count() {
    // API only: the aws-auth mapping of alice is ignored by EKS, and so here.
    let mut api_only = snapshot("eks-access");
    cluster_mut(&mut api_only).authentication_mode = Some(AuthenticationMode::Api);
    let verdict = admin_verdict(&api_only, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains(PLATFORM_ADMIN) && !m.contains(ALICE)),
        "{verdict:?}"
    );
    // CONFIG_MAP only: the access entries are ignored.
    let mut config_map = snapshot("eks-access");
    cluster_mut(&mut config_map).authentication_mode = Some(AuthenticationMode::ConfigMap);
    let verdict = admin_verdict(&config_map, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains(ALICE) && !m.contains(PLATFORM_ADMIN)),
        "{verdict:?}"
    );
}

#[test]
fn sources_that_cannot_be_read_are_errors_never_passes() {
    let denied = LookupError::new("AccessDeniedException", "not authorized")
        .with_action("eks:ListAccessEntries");
    let mut snapshot = snapshot("eks-access");
    let cluster = cluster_mut(&mut snapshot);
    cluster.authentication_mode = Some(AuthenticationMode::Api);
    cluster.access_entries = Some(Err(denied.clone()));
    let verdict = admin_verdict(&snapshot, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("missing IAM permission eks:ListAccessEntries")),
        "{verdict:?}"
    );
    // Not looked up at all is no better.
    cluster_mut(&mut snapshot).access_entries = None;
    let verdict = admin_verdict(&snapshot, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("were not looked up")),
        "{verdict:?}"
    );
    // aws-auth unreadable under CONFIG_MAP.
    let cluster = cluster_mut(&mut snapshot);
    cluster.authentication_mode = Some(AuthenticationMode::ConfigMap);
    cluster.aws_auth = Some(Err(LookupError::new(
        "Forbidden",
        "configmaps \"aws-auth\" is forbidden",
    )));
    let verdict = admin_verdict(&snapshot, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("aws-auth") && m.contains("forbidden")),
        "{verdict:?}"
    );
    // A failure found in one source still fails when the other cannot be read.
    let mut mixed = self::snapshot("eks-access");
    cluster_mut(&mut mixed).aws_auth = Some(Err(LookupError::new("Forbidden", "no")));
    let verdict = admin_verdict(&mixed, &EffectivePolicy::defaults());
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains(PLATFORM_ADMIN) && m.contains("cannot tell for the aws-auth mappings")),
        "{verdict:?}"
    );
    // No mode reported, or one this version does not know.
    for mode in [None, Some(AuthenticationMode::from_aws("SOMETHING_NEW"))] {
        let mut unknown = self::snapshot("eks-access");
        cluster_mut(&mut unknown).authentication_mode = mode.clone();
        for control in [ids::EKS_ACCESS_ADMIN, ids::EKS_AUTH_MODE] {
            let verdict = seen(
                &evaluate(&unknown, &EffectivePolicy::defaults()),
                "prod",
                control,
            );
            assert!(
                matches!(verdict, Seen::Error(_)),
                "{mode:?} {control}: {verdict:?}"
            );
        }
    }
}

#[test]
fn a_failed_cluster_lookup_is_an_error_for_both_controls() {
    let verdicts = evaluate(&snapshot("eks-access-denied"), &EffectivePolicy::defaults());
    for control in [ids::EKS_ACCESS_ADMIN, ids::EKS_AUTH_MODE] {
        let name = &verdicts[0].resource.name;
        assert!(
            matches!(seen(&verdicts, name, control), Seen::Error(_)),
            "{control}"
        );
    }
}

#[test]
fn the_authentication_mode_passes_only_with_access_entries() {
    let mode_verdict = |mode: AuthenticationMode, policy: &EffectivePolicy| {
        let mut snapshot = snapshot("eks-access");
        cluster_mut(&mut snapshot).authentication_mode = Some(mode);
        seen(&evaluate(&snapshot, policy), "prod", ids::EKS_AUTH_MODE)
    };
    let defaults = EffectivePolicy::defaults();
    assert_eq!(mode_verdict(AuthenticationMode::Api, &defaults), Seen::Pass);
    let verdict = mode_verdict(AuthenticationMode::ApiAndConfigMap, &defaults);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("API_AND_CONFIG_MAP")),
        "{verdict:?}"
    );
    let verdict = mode_verdict(AuthenticationMode::ConfigMap, &defaults);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("only through the aws-auth ConfigMap")),
        "{verdict:?}"
    );
    let migrating = policy("[{id: HIPAA-EKS-AUTH-MODE, parameters: {allowConfigMap: true}}]");
    assert_eq!(
        mode_verdict(AuthenticationMode::ApiAndConfigMap, &migrating),
        Seen::Pass
    );
    assert!(matches!(
        mode_verdict(AuthenticationMode::ConfigMap, &migrating),
        Seen::Fail(_)
    ));
}

#[test]
fn the_status_names_the_principal_behind_each_access_entry() {
    let status = eks_access_status(&snapshot("eks-access")).unwrap();
    assert_eq!(status.cluster, "prod");
    assert_eq!(
        status.authentication_mode.as_deref(),
        Some("API_AND_CONFIG_MAP")
    );
    let principals: Vec<&str> = status
        .access_entries
        .iter()
        .map(|e| e.principal_arn.as_str())
        .collect();
    assert_eq!(
        principals,
        [
            "arn:aws:iam::111122223333:role/billing-deployer",
            PLATFORM_ADMIN,
            "arn:aws:iam::111122223333:role/prod-nodes",
        ]
    );
    let admin = &status.access_entries[1];
    assert_eq!(admin.entry_type.as_deref(), Some("STANDARD"));
    assert_eq!(
        admin.access_policies[0].policy,
        "AmazonEKSClusterAdminPolicy"
    );
    assert_eq!(admin.access_policies[0].scope, "cluster");
    let deployer = &status.access_entries[0];
    assert_eq!(deployer.access_policies[0].namespaces, ["billing"]);
    assert_eq!(status.aws_auth.len(), 2);
    assert!(!status.truncated);
    let mut denied = snapshot("eks-access");
    cluster_mut(&mut denied).access_entries =
        Some(Err(LookupError::new("AccessDeniedException", "denied")));
    let status = eks_access_status(&denied).unwrap();
    assert!(status.access_entries.is_empty());
    assert!(
        status
            .access_entries_error
            .as_deref()
            .is_some_and(|e| e.starts_with("AccessDeniedException")),
        "{status:?}"
    );
}
