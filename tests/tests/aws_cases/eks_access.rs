//! Who administers the EKS cluster: access entries (served by the fault proxy, which moto 5.2.5
//! lacks, with moto's DescribeCluster given an authentication mode) judged by
//! HIPAA-EKS-ACCESS-ADMIN and HIPAA-EKS-AUTH-MODE; a missing permission is an Error; and
//! `hipaa-operator` on the real control plane, reading aws-auth from kube-system, writes both
//! controls and the principals into the HipaaPolicy status, where `kubectl hipaa report` finds them.

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use hipaa_crds::ControlResult;
use hipaa_testkit::{
    apply_yaml, cargo_bin, control_plane, fresh_namespace, moto, run_with_timeout,
};

use crate::aws_support::*;
use crate::operator_support::{Operator, control_result, governed, policy_yaml, unique_case};

const CLUSTER_ADMIN: &str = "AmazonEKSClusterAdminPolicy";

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// A cluster every other EKS control passes, with `access` served for it behind a new proxy.
async fn cluster_with_access(
    prefix: &str,
    mode: &str,
    entries: Vec<Entry>,
) -> (String, FaultProxy, hipaa_operator::aws::AwsCollector) {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (_, key_arn) = seed.key(true).await;
    let name = unique(prefix);
    seed.cluster(&name, ClusterSpec::hardened(&key_arn)).await;
    let (proxy, collector) = proxied_collector().await;
    proxy.serve_eks_access(EksAccess {
        cluster: name.clone(),
        mode: mode.to_string(),
        entries,
    });
    (name, proxy, collector)
}

#[tokio::test]
async fn an_access_entry_with_the_cluster_admin_policy_for_an_unlisted_role_fails_its_control() {
    let unlisted = role(&unique("contractor"));
    let allowed = role("platform-admin");
    let mut scoped = Entry::standard(&role("billing-deployer"), &[]);
    scoped.policies = vec![(CLUSTER_ADMIN.to_string(), vec!["billing".to_string()])];
    let entries = vec![
        Entry::standard(&allowed, &[CLUSTER_ADMIN]),
        Entry::standard(&unlisted, &[CLUSTER_ADMIN, "AmazonEKSViewPolicy"]),
        scoped,
    ];
    let (name, proxy, collector) = cluster_with_access("eks-admins", "API", entries).await;
    let controls = "[{id: HIPAA-EKS-ACCESS-ADMIN, parameters: {allowedPrincipals: ['arn:aws:iam::*:role/platform-*']}}]";
    let policy = policy(
        &format!("{{region: {REGION}, eksClusterName: {name}}}"),
        controls,
    );
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-EKS-ACCESS-ADMIN"),
        [format!(
            "EKS cluster {name} gives cluster-admin-equivalent access to IAM principals outside allowedPrincipals: {unlisted} (access entry with {CLUSTER_ADMIN} (cluster scope))"
        )]
    );
    assert_eq!(result(&audit, "HIPAA-EKS-AUTH-MODE"), ControlResult::Pass);
    let violation = audit
        .status
        .violations
        .iter()
        .find(|v| v.control == "HIPAA-EKS-ACCESS-ADMIN")
        .unwrap_or_else(|| panic!("{:#?}", audit.status.violations));
    assert_eq!(
        (violation.severity.as_str(), violation.kind.as_str()),
        ("CRITICAL", "EKSCluster")
    );
    // The status names the principal behind every entry, with its policies and their scope.
    let access = audit.status.eks_access.as_ref().unwrap();
    assert_eq!(access.authentication_mode.as_deref(), Some("API"));
    assert_eq!(access.access_entries.len(), 3, "{access:#?}");
    let entry = access
        .access_entries
        .iter()
        .find(|e| e.principal_arn == unlisted)
        .unwrap();
    assert_eq!(entry.entry_type.as_deref(), Some("STANDARD"));
    let policies: Vec<(&str, &str)> = entry
        .access_policies
        .iter()
        .map(|p| (p.policy.as_str(), p.scope.as_str()))
        .collect();
    assert_eq!(
        policies,
        [
            (CLUSTER_ADMIN, "cluster"),
            ("AmazonEKSViewPolicy", "cluster")
        ]
    );
    // One entry per page: three pages, then one describe and one policy listing per entry.
    assert_eq!(proxy.count("ListAccessEntries", &name), 3);
    assert_eq!(proxy.count("DescribeAccessEntry", &name), 3);
    assert_eq!(proxy.count("ListAssociatedAccessPolicies", &name), 3);

    // Listing the role too (after the access review) passes.
    let controls = format!(
        "[{{id: HIPAA-EKS-ACCESS-ADMIN, parameters: {{allowedPrincipals: ['arn:aws:iam::*:role/platform-*', '{unlisted}']}}}}]"
    );
    let reviewed = policy_with_controls(&name, &controls);
    let audit = collect_and_audit(&collector, &reviewed, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        result(&audit, "HIPAA-EKS-ACCESS-ADMIN"),
        ControlResult::Pass,
        "{:?}",
        findings(&audit, "HIPAA-EKS-ACCESS-ADMIN")
    );
    assert_eq!(audit.status.summary.as_ref().unwrap().score, 100);
}

fn policy_with_controls(cluster: &str, controls: &str) -> hipaa_crds::HipaaPolicy {
    policy(
        &format!("{{region: {REGION}, eksClusterName: {cluster}}}"),
        controls,
    )
}

#[tokio::test]
async fn access_entries_that_cannot_be_listed_are_an_error_never_a_pass() {
    let (name, proxy, collector) = cluster_with_access("eks-denied", "API", vec![]).await;
    proxy.fail("ListAccessEntries", FaultKind::AccessDenied, 1);
    let policy = policy_with_controls(&name, "");
    let now = Utc::now();
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), now).await;
    assert_eq!(
        result(&audit, "HIPAA-EKS-ACCESS-ADMIN"),
        ControlResult::Error
    );
    let errors = errors(&audit, "HIPAA-EKS-ACCESS-ADMIN");
    assert!(
        errors[0].ends_with("(missing IAM permission eks:ListAccessEntries)"),
        "{errors:?}"
    );
    // The other EKS controls still pass: DescribeCluster succeeded.
    assert_eq!(result(&audit, "HIPAA-EKS-AUTH-MODE"), ControlResult::Pass);
    let access = audit.status.eks_access.as_ref().unwrap();
    assert!(
        access
            .access_entries_error
            .as_deref()
            .is_some_and(|e| e.starts_with("AccessDeniedException")),
        "{access:?}"
    );
    // Tried again at the first audit 30 s later, as a failed DescribeCluster is.
    let later = now + chrono::Duration::seconds(31);
    let retried = collect_and_audit(&collector, &policy, &observation(vec![]), later).await;
    assert_eq!(
        result(&retried, "HIPAA-EKS-ACCESS-ADMIN"),
        ControlResult::Pass,
        "{:?}",
        findings(&retried, "HIPAA-EKS-ACCESS-ADMIN")
    );
    assert_eq!(proxy.count("ListAccessEntries", &name), 2);
}

#[tokio::test]
async fn the_authentication_mode_is_judged() {
    for (mode, controls, expected) in [
        ("CONFIG_MAP", "", ControlResult::Fail),
        ("API_AND_CONFIG_MAP", "", ControlResult::Fail),
        (
            "API_AND_CONFIG_MAP",
            "[{id: HIPAA-EKS-AUTH-MODE, parameters: {allowConfigMap: true}}]",
            ControlResult::Pass,
        ),
    ] {
        let (name, _proxy, collector) = cluster_with_access("eks-mode", mode, vec![]).await;
        let policy = policy_with_controls(&name, controls);
        let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
        assert_eq!(
            result(&audit, "HIPAA-EKS-AUTH-MODE"),
            expected,
            "{mode} {controls}: {:?}",
            findings(&audit, "HIPAA-EKS-AUTH-MODE")
        );
        // This collector has no Kubernetes client: aws-auth, which these modes use, is unread.
        assert_eq!(
            result(&audit, "HIPAA-EKS-ACCESS-ADMIN"),
            ControlResult::Error,
            "{mode}"
        );
    }
}

#[tokio::test]
async fn the_operator_reads_aws_auth_and_writes_the_principals_into_the_policy_status() {
    let plane = control_plane().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let admin = role(&unique("ops-admin"));
    let (name, proxy, _) = cluster_with_access(
        "eks-operator",
        "API_AND_CONFIG_MAP",
        vec![Entry::standard(&admin, &[CLUSTER_ADMIN])],
    )
    .await;
    let masters_user = format!("arn:aws:iam::{ACCOUNT}:user/{}", unique("alice"));
    apply_yaml(
        &client,
        &format!(
            "apiVersion: v1
kind: ConfigMap
metadata: {{name: aws-auth, namespace: kube-system}}
data:
  mapRoles: |
    - rolearn: arn:aws:iam::{ACCOUNT}:role/nodes
      username: system:node:{{{{EC2PrivateDNSName}}}}
      groups: [system:bootstrappers, system:nodes]
  mapUsers: |
    - userarn: {masters_user}
      username: alice
      groups: [system:masters]
"
        ),
    )
    .await
    .unwrap();
    let case = unique_case("eksaccess");
    fresh_namespace(&client, "eks-access", &governed(&case))
        .await
        .unwrap();
    let moto = moto().await.unwrap();
    let operator = Operator::start_with(plane, &case, "operator-eks-access", &[], |cmd| {
        moto.configure(cmd);
        cmd.env("AWS_ENDPOINT_URL", proxy.endpoint());
    })
    .await
    .unwrap();
    let policy_name = format!("{case}-policy");
    apply_yaml(
        &client,
        &policy_yaml(
            &policy_name,
            &case,
            &format!("  aws: {{region: {REGION}, eksClusterName: {name}}}\n"),
        ),
    )
    .await
    .unwrap();
    let policy = operator
        .wait_policy(
            &client,
            &policy_name,
            "failing HIPAA-EKS-ACCESS-ADMIN",
            Duration::from_secs(60),
            |p| control_result(p, "HIPAA-EKS-ACCESS-ADMIN") == Some(ControlResult::Fail),
        )
        .await
        .unwrap();
    let status = policy.status.clone().unwrap();
    assert_eq!(
        control_result(&policy, "HIPAA-EKS-AUTH-MODE"),
        Some(ControlResult::Fail)
    );
    let violation = status
        .violations
        .iter()
        .find(|v| v.control == "HIPAA-EKS-ACCESS-ADMIN")
        .unwrap();
    assert!(
        violation.message.contains(&format!(
            "{admin} (access entry with {CLUSTER_ADMIN} (cluster scope))"
        )) && violation.message.contains(&format!(
            "{masters_user} (aws-auth mapUsers in the group system:masters)"
        )),
        "{}",
        violation.message
    );
    assert!(
        !violation.message.contains("role/nodes"),
        "{}",
        violation.message
    );
    let access = status.eks_access.as_ref().unwrap();
    assert_eq!(access.access_entries[0].principal_arn, admin);
    assert_eq!(access.aws_auth.len(), 2, "{access:#?}");

    // The report's access review names the principal behind the access entry.
    let mut cmd = Command::new(cargo_bin("kubectl-hipaa"));
    cmd.args(["report", "--policy", &policy_name])
        .env("KUBECONFIG", plane.kubeconfig());
    let out = run_with_timeout(&mut cmd, None, Duration::from_secs(60)).unwrap();
    assert_eq!(out.status, 0, "{out}");
    assert!(
        out.stdout
            .contains(&format!("| {admin} | access entry (STANDARD) |"))
            && out.stdout.contains(&format!(
                "| {masters_user} | aws-auth mapUsers | alice | system:masters |"
            )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "### EKS cluster {name} (authentication mode API_AND_CONFIG_MAP; HipaaPolicy {policy_name})"
        )),
        "{}",
        out.stdout
    );
}
