//! A release of the default chart on the real API server: `helm install` and `helm upgrade`
//! render and apply (the upgrade reaches the operator's registration flags), and `helm uninstall`
//! removes the admission-exempt policy with the rest. No pods run here, so no operator registers
//! a webhook configuration: the chart itself never creates one (admission_e2e runs the operator).

use hipaa_testkit::{CmdOutput, control_plane, fresh_namespace, run};
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::render;

/// The container arguments of a Deployment.
async fn args_of(deployments: &Api<Deployment>, name: &str) -> Vec<String> {
    let deployment = deployments.get(name).await.unwrap();
    deployment
        .spec
        .and_then(|spec| spec.template.spec)
        .and_then(|pod| pod.containers.into_iter().next())
        .and_then(|container| container.args)
        .unwrap_or_default()
}

#[tokio::test]
async fn install_upgrade_and_uninstall_apply_the_default_chart() {
    let _serial = super::CLUSTER_SCOPED.lock().await;
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let namespace = fresh_namespace(&client, "helm-release", &[]).await.unwrap();
    // The release name the docs use; its cluster-scoped objects are unique in this test binary.
    let release = "hipaa-guard";
    let chart = render::chart_dir();
    // The default chart, but for the CRD, which is crd_upgrade's: a kept CRD owned by this release
    // would stop any other release from installing it.
    let helm = |command: &str, extra: &[&str]| -> CmdOutput {
        let mut cmd = cp.helm();
        cmd.arg(command)
            .arg(release)
            .arg(&chart)
            .args(["--namespace", &namespace, "--set", "crds.install=false"])
            .args(extra);
        run(&mut cmd, None).unwrap()
    };
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    let bindings: Api<ValidatingAdmissionPolicyBinding> = Api::all(client.clone());
    let exempt = format!("{release}-admission-exempt");
    let operator = format!("{release}-operator");
    let webhook = format!("{release}-webhook");

    let install = helm("install", &[]);
    assert!(install.success(), "helm install failed:\n{install}");
    assert!(
        install.stdout.contains("kubectl get hipaapolicies"),
        "NOTES tell how to see compliance:\n{install}"
    );
    let args = args_of(&deployments, &operator).await;
    for expected in [
        format!("--webhook-configuration={release}"),
        format!("--webhook-configuration-owner={operator}"),
        "--webhook-timeout-seconds=5".to_owned(),
    ] {
        assert!(args.contains(&expected), "{expected} not in {args:?}");
    }
    policies.get(&exempt).await.unwrap();
    let binding = bindings.get(&exempt).await.unwrap();
    assert_eq!(
        binding.spec.and_then(|s| s.policy_name).as_deref(),
        Some(exempt.as_str())
    );
    assert!(
        configurations.get_opt(release).await.unwrap().is_none(),
        "the chart created a webhook configuration; only the operator may"
    );

    let upgrade = helm("upgrade", &["--set", "admission.timeoutSeconds=7"]);
    assert!(upgrade.success(), "helm upgrade failed:\n{upgrade}");
    let args = args_of(&deployments, &operator).await;
    assert!(
        args.contains(&"--webhook-timeout-seconds=7".to_owned())
            && !args.contains(&"--webhook-timeout-seconds=5".to_owned()),
        "the upgrade reaches the operator's flags: {args:?}"
    );
    let webhook_args = args_of(&deployments, &webhook).await;
    assert!(
        webhook_args.contains(&"--request-timeout=6s".to_owned()),
        "the webhook answers before the API server gives up: {webhook_args:?}"
    );

    let uninstall = run(
        cp.helm()
            .args(["uninstall", release, "--namespace", &namespace]),
        None,
    )
    .unwrap();
    assert!(uninstall.success(), "{uninstall}");
    assert!(
        policies.get_opt(&exempt).await.unwrap().is_none(),
        "uninstall leaves the ValidatingAdmissionPolicy"
    );
    assert!(
        bindings.get_opt(&exempt).await.unwrap().is_none(),
        "uninstall leaves the ValidatingAdmissionPolicyBinding"
    );
    assert!(deployments.get_opt(&operator).await.unwrap().is_none());
}
