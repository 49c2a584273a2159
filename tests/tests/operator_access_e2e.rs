//! `hipaa-operator` auditing access on the real control plane: a user outside allowedSubjects
//! bound to a Role that reads Secrets in a governed namespace fails HIPAA-K8S-ACCESS-SECRETS in
//! the policy's status, with an AccessGranted Event naming the binding; removing the binding
//! passes again, with AccessRevoked. An operator whose identity may not list RBAC (403) reports
//! Error for the access controls, never Pass. Each test runs its own operator, scoped by a label.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::time::Duration;

use hipaa_crds::{ControlResult, HipaaPolicy};
use hipaa_testkit::{apply_yaml, wait_for};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::DeleteParams;
use operator_support::*;

const ACCESS_CONTROLS: [&str; 3] = [
    "HIPAA-K8S-ACCESS-SECRETS",
    "HIPAA-K8S-ACCESS-EXEC",
    "HIPAA-K8S-CLUSTER-ADMIN",
];

fn result_is(id: &'static str, wanted: ControlResult) -> impl Fn(&HipaaPolicy) -> bool {
    move |policy| audited(policy) && control_result(policy, id) == Some(wanted)
}

/// The first note of an Event with `reason` on the policy that contains `text`.
async fn policy_event(case: &Case, reason: &str, text: &str) -> String {
    let client = case.client.clone();
    let name = case.policy_name();
    wait_for(
        &format!("a {reason} Event naming {text}"),
        Duration::from_secs(20),
        || {
            let (client, name) = (client.clone(), name.clone());
            async move {
                let events = events_about(&client, "default", "HipaaPolicy", &name).await?;
                Ok(events
                    .into_iter()
                    .filter(|e| e.reason.as_deref() == Some(reason))
                    .filter_map(|e| e.note)
                    .find(|note| note.contains(text)))
            }
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_outside_reader_of_secrets_fails_the_control_with_an_event_until_unbound() {
    let case = Case::governed("access", "op-access").await.unwrap();
    let _operator = case.start_operator("operator-access", &[]).await.unwrap();
    // A fresh cluster: only the control plane's own identities hold these accesses.
    let (_, policy) = case
        .apply_policy_until(
            "",
            "the access controls pass",
            Duration::from_secs(30),
            |p| {
                ACCESS_CONTROLS
                    .iter()
                    .all(|id| control_result(p, id) == Some(ControlResult::Pass))
            },
        )
        .await
        .unwrap();
    assert!(audited(&policy));

    case.apply(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: secret-reader}\n\
         rules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get, list]}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: mallory-reads}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}\n\
         subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: mallory}]\n",
    )
    .await
    .unwrap();
    let (failing, _) = case
        .wait_policy(
            "HIPAA-K8S-ACCESS-SECRETS to fail",
            Duration::from_secs(20),
            result_is("HIPAA-K8S-ACCESS-SECRETS", ControlResult::Fail),
        )
        .await
        .unwrap();
    let violations = &failing.status.as_ref().unwrap().violations;
    let violation = violations
        .iter()
        .find(|v| v.control == "HIPAA-K8S-ACCESS-SECRETS")
        .unwrap_or_else(|| panic!("{violations:#?}"));
    assert_eq!(
        (violation.kind.as_str(), violation.name.as_str()),
        ("Namespace", case.ns.as_str())
    );
    assert!(
        violation.message.contains("User mallory") && violation.message.contains("mallory-reads"),
        "{violation:?}"
    );
    let granted = policy_event(&case, "AccessGranted", "User mallory").await;
    assert!(
        granted.contains("read-secrets")
            && granted.contains(&case.ns)
            && granted.contains(&format!("RoleBinding {}/mallory-reads", case.ns)),
        "{granted}"
    );

    Api::<RoleBinding>::namespaced(case.client.clone(), &case.ns)
        .delete("mallory-reads", &DeleteParams::default())
        .await
        .unwrap();
    case.wait_policy(
        "HIPAA-K8S-ACCESS-SECRETS to pass again",
        Duration::from_secs(20),
        result_is("HIPAA-K8S-ACCESS-SECRETS", ControlResult::Pass),
    )
    .await
    .unwrap();
    let revoked = policy_event(&case, "AccessRevoked", "User mallory").await;
    assert!(revoked.contains("can no longer read-secrets"), "{revoked}");
}

/// Everything the operator reads and writes, but no RBAC: the chart's rules without the access
/// controls' (and without anything that would grant PHI access to the identity itself).
const WITHOUT_RBAC: &str = r#"
rules:
  - {apiGroups: [hipaaguard.io], resources: [hipaapolicies], verbs: [get, list, watch]}
  - {apiGroups: [hipaaguard.io], resources: [hipaapolicies/status], verbs: [get, patch, update]}
  - {apiGroups: [""], resources: [namespaces, pods, services, persistentvolumeclaims, serviceaccounts], verbs: [get, list, watch]}
  - {apiGroups: [apps], resources: [deployments, statefulsets, daemonsets, replicasets], verbs: [get, list, watch]}
  - {apiGroups: [batch], resources: [jobs, cronjobs], verbs: [get, list, watch]}
  - {apiGroups: [networking.k8s.io], resources: [ingresses, networkpolicies], verbs: [get, list, watch]}
  - {apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list, watch]}
  - {apiGroups: [autoscaling], resources: [horizontalpodautoscalers], verbs: [get, list, watch]}
  - {apiGroups: [secrets-store.csi.x-k8s.io], resources: [secretproviderclasses], verbs: [get, list, watch]}
  - {apiGroups: [external-secrets.io], resources: [externalsecrets, secretstores, clustersecretstores], verbs: [get, list, watch]}
  - {apiGroups: [velero.io], resources: [schedules], verbs: [get, list, watch]}
  - {apiGroups: [events.k8s.io, ""], resources: [events], verbs: [create, patch]}
"#;

#[tokio::test]
async fn an_operator_that_may_not_list_rbac_reports_error_never_pass() {
    let case = Case::governed("access-403", "op-access-403").await.unwrap();
    let user = format!("{}-operator", case.label);
    apply_yaml(
        &case.client,
        &format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {user}}}\n\
             {WITHOUT_RBAC}---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {user}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {user}}}\n\
             subjects: [{{kind: User, apiGroup: rbac.authorization.k8s.io, name: {user}}}]\n"
        ),
    )
    .await
    .unwrap();
    // The admin's credentials, impersonating the restricted user.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("restricted.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: local, cluster: {{server: \"{}\", certificate-authority: \"{}\"}}}}]\n\
             users: [{{name: restricted, user: {{token: \"{}\", as: \"{user}\"}}}}]\n\
             contexts: [{{name: restricted, context: {{cluster: local, user: restricted}}}}]\n\
             current-context: restricted\n",
            case.plane.server_url(),
            case.plane.ca_file().display(),
            case.plane.admin_token(),
        ),
    )
    .unwrap();
    let operator =
        Operator::start_with(case.plane, &case.label, "operator-access-403", &[], |cmd| {
            cmd.env("KUBECONFIG", &kubeconfig);
        })
        .await
        .unwrap();
    let (_, policy) = case
        .apply_policy_until("", "audited", Duration::from_secs(30), audited)
        .await
        .unwrap();
    let controls = &policy.status.as_ref().unwrap().controls;
    for id in ACCESS_CONTROLS {
        let control = controls
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id} in {controls:#?}"));
        assert_eq!(control.result, ControlResult::Error, "{control:?}");
        let message = control.message.clone().unwrap_or_default();
        assert!(
            message.contains("may not list"),
            "{id} says why: {message}\noperator log:\n{}",
            operator.guard.log_tail(20)
        );
    }
    assert!(
        operator.logged("the operator may not list this RBAC kind"),
        "{}",
        operator.guard.log_tail(20)
    );
}
