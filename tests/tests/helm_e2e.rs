//! The Helm chart (charts/hipaa-guard) against the real helm and the real API server: it lints
//! strictly, renders a safe installation, refuses unsafe values, renders objects the API server
//! accepts for default and non-default values, installs and upgrades without changing the webhook
//! certificate, upgrades the CRD (helm_e2e/crd_upgrade.rs), and deploy/hipaa-guard.yaml is its
//! current rendering.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "helm_e2e/checks.rs"]
mod checks;
#[path = "helm_e2e/crd_upgrade.rs"]
mod crd_upgrade;
#[path = "helm_e2e/render.rs"]
mod render;

use std::process::Command;

use hipaa_testkit::{apply_yaml, control_plane, fresh_namespace, run};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use render::{documents, object, of_kind, repo_root, strings, template, template_output};

const REGENERATE: &str = "scripts/render-manifests.sh";

#[test]
fn chart_lints_strictly() {
    let chart = render::chart_dir();
    for values in [
        &[][..],
        &[
            "--set",
            "certificates.mode=certManager",
            "--set",
            "serviceMonitor.enabled=true",
        ][..],
    ] {
        let out = run(
            render::helm()
                .unwrap()
                .arg("lint")
                .arg("--strict")
                .arg(&chart)
                .args(values),
            None,
        )
        .unwrap();
        assert!(
            out.success(),
            "helm lint --strict {values:?} failed:\n{out}"
        );
        assert!(out.stdout.contains("0 chart(s) failed"), "{out}");
    }
}

#[test]
fn deploy_manifests_match_the_chart() {
    let helm = hipaa_testkit::bin_dir().unwrap().join("helm");
    let out = run(
        Command::new("bash")
            .arg(repo_root().join(REGENERATE))
            .arg("--stdout")
            .env("HELM", helm)
            .current_dir(repo_root()),
        None,
    )
    .unwrap();
    assert!(out.success(), "{REGENERATE} --stdout failed:\n{out}");
    let path = repo_root().join("deploy/hipaa-guard.yaml");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != out.stdout {
        let first = committed
            .lines()
            .zip(out.stdout.lines())
            .position(|(a, b)| a != b);
        let line =
            first.unwrap_or_else(|| committed.lines().count().min(out.stdout.lines().count()));
        let around = |text: &str| {
            text.lines()
                .skip(line.saturating_sub(2))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{} differs from the chart's rendering, from line {}; regenerate it with `{REGENERATE}` \
             and commit it.\n--- committed\n{}\n--- rendered\n{}",
            path.display(),
            line + 1,
            around(&committed),
            around(&out.stdout)
        );
    }
    // The committed rendering is deterministic (cert-manager mode): no key material in git.
    assert!(
        !committed.contains("PRIVATE KEY"),
        "deploy/hipaa-guard.yaml holds a private key"
    );
}

#[test]
fn default_values_render_a_safe_installation() {
    let docs = documents(&template("hipaa-guard", "hipaa-guard", &[]).unwrap()).unwrap();
    let webhook = checks::webhook_configuration_is_safe(&docs, "hipaa-guard");
    checks::pods_are_hardened(&docs);
    checks::rbac_is_least_privilege(&docs);

    assert_eq!(webhook["failurePolicy"], "Fail", "the documented default");
    assert_eq!(webhook["timeoutSeconds"], 5);
    assert_eq!(
        webhook["clientConfig"]["service"]["name"],
        "hipaa-guard-webhook"
    );
    assert_eq!(webhook["clientConfig"]["service"]["path"], "/validate");
    let secret = object(&docs, "Secret", "hipaa-guard-webhook-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(
        webhook["clientConfig"]["caBundle"], secret["data"]["ca.crt"],
        "caBundle is the generated CA"
    );

    let operator = object(&docs, "Deployment", "hipaa-guard-operator");
    let webhook_deployment = object(&docs, "Deployment", "hipaa-guard-webhook");
    for deployment in [operator, webhook_deployment] {
        assert_eq!(deployment["spec"]["replicas"], 2);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["topologySpreadConstraints"][0]["topologyKey"],
            "topology.kubernetes.io/zone"
        );
        assert!(
            pod["affinity"]["podAntiAffinity"].is_object(),
            "anti-affinity"
        );
        let image = pod["containers"][0]["image"].as_str().unwrap();
        assert!(
            image.starts_with("hipaa-guard/hipaa-"),
            "{image} names a registry host"
        );
    }
    let operator_args = strings(&operator["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert!(
        operator_args.iter().any(|a| a == "--leader-elect"),
        "{operator_args:?}"
    );
    let pdb = object(&docs, "PodDisruptionBudget", "hipaa-guard-webhook");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    object(&docs, "Role", "hipaa-guard-operator-leader-election");
    assert_eq!(
        object(&docs, "Service", "hipaa-guard-webhook")["spec"]["ports"][0]["port"],
        443
    );
    assert!(
        of_kind(&docs, "ServiceMonitor").is_empty(),
        "ServiceMonitors are opt-in"
    );
    assert_eq!(
        of_kind(&docs, "CustomResourceDefinition").len(),
        1,
        "the HipaaPolicy CRD"
    );
}

#[test]
fn chart_refuses_unsafe_values() {
    let refusals: [(&[&str], &str); 4] = [
        (&["--set", "admission.timeoutSeconds=11"], "timeoutSeconds"),
        (
            &["--set", "admission.failurePolicy=ignore"],
            "failurePolicy",
        ),
        (
            &["--set", "admission.url=https://127.0.0.1:9443/validate"],
            "certificates.mode=provided",
        ),
        (
            &["--set", "webhook.deployment.enabled=false"],
            "admission.url",
        ),
    ];
    for (args, needle) in refusals {
        let out = template_output("hipaa-guard", "hipaa-guard", args).unwrap();
        assert!(!out.success(), "helm template {args:?} should fail:\n{out}");
        assert!(
            out.stderr.contains(needle),
            "expected {needle:?} in the error of {args:?}:\n{out}"
        );
    }
}

/// The tests below and crd_upgrade's apply the release's cluster-scoped objects (ClusterRoles, the
/// webhook configuration, the CRD) under the same names: one's uninstall must not race the other's
/// apply. None installs the CRD apart from the chart: helm would refuse to adopt it.
static CLUSTER_SCOPED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn api_server_accepts_default_and_non_default_renderings() {
    let _serial = CLUSTER_SCOPED.lock().await;
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    apply_yaml(&client, render::OPTIONAL_CRDS).await.unwrap();
    let wait = run(
        cp.kubectl()
            .args(["wait", "--for=condition=Established", "--timeout=60s"])
            .args([
                "crd/servicemonitors.monitoring.coreos.com",
                "crd/certificates.cert-manager.io",
                "crd/issuers.cert-manager.io",
            ]),
        None,
    )
    .unwrap();
    assert!(wait.success(), "{wait}");
    // Removed when dropped, also when an assertion fails.
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), render::ca_pem().unwrap()).unwrap();
    let ca = ca_file.path().display().to_string();
    let demo_values = repo_root()
        .join("deploy/demo/values-local.yaml")
        .display()
        .to_string();
    let ca_value = format!("certificates.provided.caBundle={ca}");

    let variants: Vec<(&str, Vec<&str>)> = vec![
        ("default", vec![]),
        (
            "cert-manager",
            vec!["--set", "certificates.mode=certManager"],
        ),
        (
            "cert-manager-issuer",
            vec![
                "--set",
                "certificates.mode=certManager",
                "--set",
                "certificates.certManager.issuerRef.name=corp-ca",
                "--set",
                "certificates.certManager.issuerRef.kind=ClusterIssuer",
            ],
        ),
        (
            "fail-open",
            vec![
                "--set",
                "admission.failurePolicy=Ignore",
                "--set",
                "admission.timeoutSeconds=10",
                "--set",
                "admission.excludeNamespaces={monitoring}",
                "--set",
                "operator.serviceAccount.irsaRoleArn=arn:aws:iam::123456789012:role/hipaa-guard-operator",
                "--set",
                "serviceMonitor.enabled=true",
                "--set",
                "imageRegistry=registry.example/platform",
                "--set-json",
                r#"admission.namespaceSelectorExpressions=[{"key":"hipaaguard.io/phi","operator":"Exists"}]"#,
            ],
        ),
        (
            "local-demo",
            vec![
                "--values",
                &demo_values,
                "--set",
                "admission.url=https://127.0.0.1:9443/validate",
                "--set-file",
                &ca_value,
            ],
        ),
    ];
    for (variant, args) in variants {
        let namespace = fresh_namespace(&client, &format!("helm-{variant}"), &[])
            .await
            .unwrap();
        let yaml = template("hipaa-guard", &namespace, &args).unwrap();
        let dry_run = run(
            cp.kubectl()
                .args(["apply", "--dry-run=server", "--validate=strict", "-f", "-"]),
            Some(&yaml),
        )
        .unwrap();
        assert!(
            dry_run.success(),
            "the API server refused the {variant} rendering:\n{dry_run}"
        );

        let docs = documents(&yaml).unwrap();
        let webhook = checks::webhook_configuration_is_safe(&docs, &namespace);
        checks::pods_are_hardened(&docs);
        checks::rbac_is_least_privilege(&docs);
        let configuration = &of_kind(&docs, "ValidatingWebhookConfiguration")[0];
        match variant {
            "cert-manager" | "cert-manager-issuer" => {
                let inject =
                    &configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"];
                assert_eq!(
                    inject,
                    &format!("{namespace}/hipaa-guard-webhook"),
                    "{variant}"
                );
                assert!(
                    webhook["clientConfig"]["caBundle"].is_null(),
                    "{variant}: cainjector fills the caBundle"
                );
                assert!(
                    of_kind(&docs, "Secret").is_empty(),
                    "{variant}: cert-manager owns the Secret"
                );
                let certificate = object(&docs, "Certificate", "hipaa-guard-webhook");
                let names = strings(&certificate["spec"]["dnsNames"]);
                assert!(
                    names.contains(&format!("hipaa-guard-webhook.{namespace}.svc")),
                    "{names:?}"
                );
                let issuers = of_kind(&docs, "Issuer").len();
                assert_eq!(
                    issuers,
                    if variant == "cert-manager" { 2 } else { 0 },
                    "{variant}: chart-made CA"
                );
                let kind = &certificate["spec"]["issuerRef"]["kind"];
                assert_eq!(
                    kind,
                    if variant == "cert-manager" {
                        "Issuer"
                    } else {
                        "ClusterIssuer"
                    }
                );
            }
            "fail-open" => {
                assert_eq!(webhook["failurePolicy"], "Ignore");
                assert_eq!(webhook["timeoutSeconds"], 10);
                let excluded =
                    strings(&webhook["namespaceSelector"]["matchExpressions"][0]["values"]);
                assert!(excluded.contains(&"monitoring".to_string()), "{excluded:?}");
                let narrowed = &webhook["namespaceSelector"]["matchExpressions"][1];
                assert_eq!(narrowed["key"], "hipaaguard.io/phi");
                assert_eq!(narrowed["operator"], "Exists");
                let account = object(&docs, "ServiceAccount", "hipaa-guard-operator");
                let role = &account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"];
                assert_eq!(role, "arn:aws:iam::123456789012:role/hipaa-guard-operator");
                let monitors = of_kind(&docs, "ServiceMonitor");
                assert_eq!(monitors.len(), 2);
                for monitor in monitors {
                    // The series' own labels win (the operator's `namespace` label).
                    assert_eq!(monitor["spec"]["endpoints"][0]["honorLabels"], true);
                }
                let webhook_pod =
                    &object(&docs, "Deployment", "hipaa-guard-webhook")["spec"]["template"]["spec"];
                let args = strings(&webhook_pod["containers"][0]["args"]);
                assert!(
                    args.contains(&"--exempt-namespaces=kube-system,monitoring".to_string()),
                    "{args:?}"
                );
                assert!(
                    args.contains(&"--request-timeout=9s".to_string()),
                    "{args:?}"
                );
                let image = webhook_pod["containers"][0]["image"].as_str().unwrap();
                assert_eq!(
                    image,
                    "registry.example/platform/hipaa-guard/hipaa-webhook:0.1.0"
                );
            }
            "local-demo" => {
                assert_eq!(
                    webhook["clientConfig"]["url"],
                    "https://127.0.0.1:9443/validate"
                );
                assert!(webhook["clientConfig"]["service"].is_null());
                assert!(webhook["clientConfig"]["caBundle"].is_string());
                assert!(
                    of_kind(&docs, "Deployment").is_empty(),
                    "the demo runs the binaries locally"
                );
                assert_eq!(
                    of_kind(&docs, "ServiceAccount").len(),
                    2,
                    "RBAC stays for the local processes"
                );
            }
            _ => assert_eq!(of_kind(&docs, "Deployment").len(), 2),
        }
    }
}

#[tokio::test]
async fn upgrade_keeps_the_webhook_certificate() {
    let _serial = CLUSTER_SCOPED.lock().await;
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let namespace = fresh_namespace(&client, "helm-upgrade", &[]).await.unwrap();
    // The release name the docs use; its cluster-scoped objects are unique in this test binary.
    let release = "hipaa-guard";
    let chart = render::chart_dir();
    // No pods run here, so the webhook would never answer: fail open, so that the other tests of
    // this binary can create workloads while this release exists. The CRD is crd_upgrade's: a kept
    // CRD owned by this release would stop any other release from installing it.
    let helm = |command: &str, extra: &[&str]| {
        let mut cmd = cp.helm();
        cmd.arg(command)
            .arg(release)
            .arg(&chart)
            .args([
                "--namespace",
                &namespace,
                "--set",
                "admission.failurePolicy=Ignore",
                "--set",
                "crds.install=false",
            ])
            .args(extra);
        run(&mut cmd, None).unwrap()
    };
    let install = helm("install", &[]);
    assert!(install.success(), "helm install failed:\n{install}");
    assert!(
        install.stdout.contains("kubectl get hipaapolicies"),
        "NOTES tell how to see compliance:\n{install}"
    );

    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret_name = format!("{release}-webhook-tls");
    let ca_bundle = |c: &ValidatingWebhookConfiguration| {
        c.webhooks
            .as_ref()
            .and_then(|w| w.first())
            .and_then(|w| w.client_config.ca_bundle.clone())
    };
    let before = configurations.get(release).await.unwrap();
    let secret_before = secrets.get(&secret_name).await.unwrap().data.unwrap();
    assert!(ca_bundle(&before).is_some(), "install set a caBundle");
    assert_eq!(
        ca_bundle(&before).as_ref(),
        secret_before.get("ca.crt"),
        "caBundle is the Secret's CA"
    );

    let upgrade = helm("upgrade", &["--set", "admission.timeoutSeconds=7"]);
    assert!(upgrade.success(), "helm upgrade failed:\n{upgrade}");
    let after = configurations.get(release).await.unwrap();
    let first = after.webhooks.as_ref().and_then(|w| w.first()).unwrap();
    assert_eq!(first.timeout_seconds, Some(7), "the upgrade was applied");
    assert_eq!(
        ca_bundle(&after),
        ca_bundle(&before),
        "the caBundle changed across the upgrade"
    );
    let secret_after = secrets.get(&secret_name).await.unwrap().data.unwrap();
    assert_eq!(
        secret_after, secret_before,
        "the serving certificate changed across the upgrade"
    );

    let uninstall = run(
        cp.helm()
            .args(["uninstall", release, "--namespace", &namespace]),
        None,
    )
    .unwrap();
    assert!(uninstall.success(), "{uninstall}");
    assert!(
        configurations.get_opt(release).await.unwrap().is_none(),
        "uninstall removes the webhook"
    );
}
