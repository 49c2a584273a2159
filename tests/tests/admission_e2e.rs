//! Admission registration and its blast radius, on the real control plane with the chart's RBAC
//! and ValidatingAdmissionPolicy: the operator registers the webhook configuration only once the
//! webhook answers (the first apply after that is judged), one entry per policy; with the webhook
//! stopped, only namespaces an Enforce policy governs wait for it (kube-system, ungoverned and
//! Warn-governed namespaces keep working); the emergency exits (the exempt label, which only
//! cluster administrators may set, and deleting the configuration) work and last while the webhook
//! is down; cluster-scoped RBAC is sent in a fail-open entry of its own (with the API server's
//! compiled matchConditions) and never waits for it; a webhook back up is registered again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod webhook_e2e {
    #[path = "../webhook_e2e/support.rs"]
    pub mod support;
}
mod admission_e2e {
    #[path = "../admission_e2e/setup.rs"]
    pub mod setup;
}

use std::time::Duration;

use admission_e2e::setup::{RELEASE, install, kubectl};
use hipaa_testkit::{control_plane, expect_allowed, expect_denied, wait_for};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::Api;

const NAMESPACES: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: adm-governed, labels: {adm-e2e: enforce}}
---
apiVersion: v1
kind: Namespace
metadata: {name: adm-warned, labels: {adm-e2e: warn}}
---
apiVersion: v1
kind: Namespace
metadata: {name: adm-free}
---
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: adm-enforce}
spec:
  enforcement: Enforce
  namespaceSelector: {matchLabels: {adm-e2e: enforce}}
---
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: adm-warn}
spec:
  enforcement: Warn
  namespaceSelector: {matchLabels: {adm-e2e: warn}}
"#;

/// A Deployment that breaks HIPAA-K8S-PRIVILEGED (and more).
fn privileged(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n        - name: app\n          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0\n          securityContext: {{privileged: true}}\n"
    )
}

/// A plain ConfigMap-free object every namespace accepts when admission lets it through.
fn pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers: [{{name: c, image: busybox}}]\n"
    )
}

async fn create(namespace: &str, manifest: &str) -> hipaa_testkit::CmdOutput {
    kubectl(&["create", "-n", namespace, "-f", "-"], Some(manifest)).await
}

const REFUSED: &str = "failed calling webhook";

#[tokio::test]
async fn registration_waits_for_the_webhook_and_an_outage_blocks_only_what_an_enforce_policy_governs()
 {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let release = install().await;
    let setup = kubectl(&["apply", "-f", "-"], Some(NAMESPACES)).await;
    assert!(setup.success(), "{setup}");
    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());

    // 1. The operator alone: it must not register a configuration nothing answers.
    let mut operator = release.start_operator().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(operator.is_running(), "{}", operator.log_tail(30));
    assert!(
        configurations.get_opt(RELEASE).await.unwrap().is_none(),
        "registered before any webhook answered:\n{}",
        operator.log_tail(30)
    );
    let (status, body) = release.operator_ready();
    assert_eq!(
        status, 503,
        "the operator is ready with no registration: {body}"
    );
    assert!(body.contains("not registered"), "{body}");

    // 2. The webhook starts: registration follows, then the operator is ready, and the very first
    //    apply is judged (never refused, never let through unjudged).
    let mut webhook = release.start_webhook().await;
    wait_for(
        "the operator to be ready",
        Duration::from_secs(40),
        || async { Ok((release.operator_ready().0 == 200).then_some(())) },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail(40)));
    let first = create("adm-governed", &privileged("first")).await;
    expect_denied(&first, &["HIPAA-K8S-PRIVILEGED", "164.312(a)(1)"]);
    let registered = configurations.get(RELEASE).await.unwrap();
    let owners = registered
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    assert!(
        owners
            .iter()
            .any(|o| o.kind == "ClusterRole" && o.name == format!("{RELEASE}-operator")),
        "owned by the operator's ClusterRole, so that uninstalling removes it: {owners:?}"
    );
    let entries: Vec<(String, Option<String>)> = registered
        .webhooks
        .iter()
        .flatten()
        .map(|w| (w.name.clone(), w.failure_policy.clone()))
        .collect();
    assert!(
        entries.contains(&(
            "adm-enforce.objects.validate.hipaaguard.io".to_owned(),
            Some("Fail".to_owned())
        )),
        "{entries:?}"
    );
    assert!(
        entries.contains(&(
            "adm-warn.objects.validate.hipaaguard.io".to_owned(),
            Some("Ignore".to_owned())
        )),
        "{entries:?}"
    );

    // Cluster-scoped RBAC has an entry of its own, fail-open, whose matchConditions (CEL) the
    // API server compiled and stored: the aggregation controller's ClusterRole writes are left out.
    let rbac = registered
        .webhooks
        .iter()
        .flatten()
        .find(|w| w.name == "rbac.validate.hipaaguard.io")
        .unwrap_or_else(|| panic!("no RBAC entry: {entries:?}"));
    assert_eq!(rbac.failure_policy.as_deref(), Some("Ignore"));
    let conditions = rbac.match_conditions.clone().unwrap_or_default();
    assert!(
        conditions
            .iter()
            .any(|c| c.expression.contains("clusterrole-aggregation-controller")),
        "{conditions:?}"
    );

    // 3. The webhook stops: only the Enforce-governed namespace waits for it.
    webhook.kill();
    // Cluster-wide RBAC writes never wait for it (the audit reports what got in).
    expect_allowed(
        &kubectl(
            &[
                "create",
                "clusterrolebinding",
                "adm-created-while-down",
                "--clusterrole=view",
                "--user=someone",
            ],
            None,
        )
        .await,
    );
    expect_allowed(&create("adm-free", &pod("while-down")).await);
    expect_allowed(&create("kube-system", &pod("adm-while-down")).await);
    expect_allowed(&create("adm-warned", &pod("while-down")).await);
    expect_allowed(&kubectl(&["create", "namespace", "adm-created-while-down"], None).await);
    let refused = create("adm-governed", &pod("while-down")).await;
    assert!(
        !refused.success() && refused.stderr.contains(REFUSED),
        "failurePolicy Fail applies in the governed namespace:\n{refused}"
    );

    // 4. Emergency exit for one namespace: the exempt label, which only cluster administrators set.
    let as_developer = kubectl(
        &[
            "label",
            "namespace",
            "adm-governed",
            "hipaaguard.io/admission-exempt=true",
            "--as=adm-developer",
            "--as-group=adm-developers",
        ],
        None,
    )
    .await;
    let grant = kubectl(
        &[
            "create",
            "clusterrolebinding",
            "adm-developers-edit-namespaces",
            "--clusterrole=adm-namespace-editor",
            "--group=adm-developers",
        ],
        None,
    )
    .await;
    assert!(grant.success(), "{grant}");
    assert!(!as_developer.success(), "{as_developer}");
    let editor = kubectl(
        &[
            "create",
            "clusterrole",
            "adm-namespace-editor",
            "--verb=get,list,patch,update",
            "--resource=namespaces",
        ],
        None,
    )
    .await;
    assert!(editor.success(), "{editor}");
    let as_editor = kubectl(
        &[
            "label",
            "namespace",
            "adm-governed",
            "hipaaguard.io/admission-exempt=true",
            "--as=adm-developer",
            "--as-group=adm-developers",
        ],
        None,
    )
    .await;
    assert!(
        !as_editor.success() && as_editor.stderr.contains("only cluster administrators"),
        "a namespace editor cannot take a namespace out of admission:\n{as_editor}"
    );
    let as_admin = kubectl(
        &[
            "label",
            "namespace",
            "adm-governed",
            "hipaaguard.io/admission-exempt=true",
        ],
        None,
    )
    .await;
    assert!(as_admin.success(), "{as_admin}");
    expect_allowed(&create("adm-governed", &pod("exempted")).await);
    // Taking the exemption back waits for the webhook: the namespace's labels are the Enforce
    // policy's to judge (HIPAA-K8S-PHI-SCOPE), and without the label the namespace is governed.
    let unexempt = || {
        kubectl(
            &[
                "label",
                "namespace",
                "adm-governed",
                "hipaaguard.io/admission-exempt-",
            ],
            None,
        )
    };
    let back = unexempt().await;
    assert!(
        !back.success() && back.stderr.contains(REFUSED),
        "a governed namespace's labels wait for the webhook:\n{back}"
    );

    // 5. Emergency exit for the cluster: delete the configuration. It stays deleted while the
    //    webhook is down (the operator re-registers only a webhook that answers).
    let deleted = kubectl(&["delete", "validatingwebhookconfiguration", RELEASE], None).await;
    assert!(deleted.success(), "{deleted}");
    wait_for(
        "the deletion to take effect",
        Duration::from_secs(10),
        || async { Ok(unexempt().await.success().then_some(())) },
    )
    .await
    .unwrap();
    expect_allowed(&create("adm-governed", &pod("after-delete")).await);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        configurations.get_opt(RELEASE).await.unwrap().is_none(),
        "re-registered while the webhook was down:\n{}",
        operator.log_tail(30)
    );

    // 6. The webhook back: registered again, and judging.
    let _webhook = release.start_webhook().await;
    wait_for(
        "the configuration to be back",
        Duration::from_secs(40),
        || async { Ok(configurations.get_opt(RELEASE).await?.map(|_| ())) },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", operator.log_tail(40)));
    wait_for("judging again", Duration::from_secs(20), || async {
        let out = create("adm-governed", &privileged("again")).await;
        Ok(out.stderr.contains("HIPAA-K8S-PRIVILEGED").then_some(()))
    })
    .await
    .unwrap();
    assert!(operator.is_running(), "{}", operator.log_tail(30));
}
