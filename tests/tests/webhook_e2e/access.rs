//! RBAC changes at admission, on the real API server with real kubectl: binding an outside user to
//! a Role that reads Secrets is denied in a governed namespace (naming the control, the subject,
//! the access and the path) and admitted in an ungoverned one; a ClusterRoleBinding to
//! cluster-admin is denied under HIPAA-K8S-CLUSTER-ADMIN; Warn admits with a warning; a policy
//! that opts in HIPAA-K8S-SA-TOKEN denies a Deployment running as the default ServiceAccount and
//! admits one with a read-only ServiceAccount of its own (the webhook's access model at work on
//! pod templates).

use hipaa_testkit::{apply_yaml, control_plane, expect_allowed, expect_denied, fresh_namespace};

use super::support::*;
use crate::{DEFAULT_DENY, IMAGE, deployment, enforced_namespace};

/// `kubectl create role read-secrets` in `ns`: a Role alone grants nobody, so it is admitted.
async fn secret_reader_role(ns: &str) {
    let create = [
        "create",
        "role",
        "read-secrets",
        "--verb=get,list",
        "--resource=secrets",
        "-n",
        ns,
    ];
    expect_allowed(&kubectl(&create, None).await);
}

fn bind_mallory(ns: &str) -> [&str; 7] {
    [
        "create",
        "rolebinding",
        "mallory-reads",
        "--role=read-secrets",
        "--user=mallory",
        "-n",
        ns,
    ]
}

async fn binding_exists(ns: &str) -> bool {
    let get = [
        "get",
        "rolebinding",
        "mallory-reads",
        "-n",
        ns,
        "--ignore-not-found",
        "-o",
        "name",
    ];
    !kubectl(&get, None).await.stdout.trim().is_empty()
}

#[tokio::test]
async fn binding_an_outside_user_to_a_secret_reader_is_denied_only_where_phi_is() {
    webhook().await;
    let governed = enforced_namespace("wh-rbac", false).await;
    secret_reader_role(&governed).await;
    // The webhook waits for its caches to show the Role (and the new namespace) before judging.
    let bind = bind_mallory(&governed);
    let out = kubectl_until(&bind, None, "the webhook denies the binding", |o| {
        o.stderr.contains("HIPAA-K8S-ACCESS-SECRETS")
    })
    .await;
    expect_denied(
        &out,
        &[
            &format!("HIPAA Guard denied RoleBinding {governed}/mallory-reads:"),
            "[HIPAA-K8S-ACCESS-SECRETS] 164.312(a)(1):",
            &format!(
                "User mallory can read-secrets through RoleBinding {governed}/mallory-reads → Role {governed}/read-secrets"
            ),
            &format!("in namespace {governed}"),
            "HipaaPolicy e2e-enforce",
        ],
    );
    assert!(!binding_exists(&governed).await);

    let client = control_plane().await.unwrap().client().await.unwrap();
    let free = fresh_namespace(&client, "wh-rbac-free", &[]).await.unwrap();
    secret_reader_role(&free).await;
    let out = kubectl(&bind_mallory(&free), None).await;
    expect_allowed(&out);
    assert!(!out.stderr.contains("Warning:"), "{out}");
    assert!(binding_exists(&free).await);
}

#[tokio::test]
async fn a_cluster_admin_binding_is_denied_and_warn_mode_admits_with_a_warning() {
    webhook().await;
    let governed = enforced_namespace("wh-rbac-admin", false).await;
    let bind = [
        "create",
        "clusterrolebinding",
        "wh-e2e-eve-admin",
        "--clusterrole=cluster-admin",
        "--user=eve",
    ];
    let out = kubectl_until(&bind, None, "the webhook denies the binding", |o| {
        o.stderr.contains(&format!("in namespace {governed}"))
    })
    .await;
    expect_denied(
        &out,
        &[
            "HIPAA Guard denied ClusterRoleBinding wh-e2e-eve-admin:",
            "[HIPAA-K8S-CLUSTER-ADMIN] 164.308(a)(3)(ii)(B):",
            "User eve is an administrator through ClusterRoleBinding wh-e2e-eve-admin → ClusterRole cluster-admin",
        ],
    );

    let client = control_plane().await.unwrap().client().await.unwrap();
    let warned = fresh_namespace(&client, "wh-rbac-warn", &[PHI, WARN])
        .await
        .unwrap();
    secret_reader_role(&warned).await;
    let out = kubectl_until(&bind_mallory(&warned), None, "the webhook warns", |o| {
        o.success()
    })
    .await;
    expect_allowed(&out);
    assert!(
        out.stderr.contains(&format!(
            "Warning: [HIPAA-K8S-ACCESS-SECRETS] 164.312(a)(1): RoleBinding {warned}/mallory-reads would grant access outside allowedSubjects: User mallory can read-secrets"
        )),
        "{out}"
    );
    assert!(binding_exists(&warned).await);
}

/// A policy that opts in HIPAA-K8S-SA-TOKEN, for namespaces labelled `hipaa-e2e/mode: sa-token`.
const SA_TOKEN_POLICY: &str = r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: e2e-sa-token}
spec:
  enforcement: Enforce
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true", hipaa-e2e/mode: sa-token}}
  controls:
    - id: HIPAA-K8S-SA-TOKEN
"#;

/// A ServiceAccount that may only read pods, bound by a Role of its namespace.
const READER_ACCOUNT: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: api-reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-pods}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: api-reader-reads-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-pods}
subjects: [{kind: ServiceAccount, name: api-reader}]
"#;

#[tokio::test]
async fn an_sa_token_policy_denies_the_default_service_account_and_admits_a_read_only_one() {
    webhook().await;
    let client = control_plane().await.unwrap().client().await.unwrap();
    apply_yaml(&client, SA_TOKEN_POLICY).await.unwrap();
    let ns = fresh_namespace(
        &client,
        "wh-sa-token",
        &[PHI, ("hipaa-e2e/mode", "sa-token")],
    )
    .await
    .unwrap();
    let apply = ["apply", "-n", &ns, "-f", "-"];
    expect_allowed(&kubectl(&apply, Some(DEFAULT_DENY)).await);
    let manifest = deployment("api", IMAGE);
    let out = kubectl_until(&apply, Some(&manifest), "the webhook denies", |o| {
        o.stderr.contains("HIPAA-K8S-SA-TOKEN")
    })
    .await;
    expect_denied(
        &out,
        &[&format!(
            "[HIPAA-K8S-SA-TOKEN] 164.312(a)(1): Deployment {ns}/api: its pods run as the default ServiceAccount"
        )],
    );
    // Binding the account to a pod reader is judged too, and adds no PHI access.
    expect_allowed(&kubectl_until(&apply, Some(READER_ACCOUNT), "admitted", |o| o.success()).await);
    let own_account = manifest.replace(
        "    spec:\n      securityContext",
        "    spec:\n      serviceAccountName: api-reader\n      securityContext",
    );
    assert_ne!(own_account, manifest);
    let out = kubectl(&apply, Some(&own_account)).await;
    expect_allowed(&out);
    assert!(!out.stderr.contains("Warning:"), "{out}");
}
