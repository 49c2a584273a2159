//! The real API server accepts (server-side dry-run, strict field validation) the default
//! rendering and the non-default ones, and each holds what its values ask for: the registration
//! flags and CA bundle source of every certificates mode, fail-open with IRSA, ServiceMonitors,
//! alerts selecting what they scrape, the dashboard and a registry, the local demo's values, and
//! admission switched off.

use hipaa_testkit::{apply_yaml, control_plane, fresh_namespace, run};
use serde_json::Value;

use super::admission::{self, Certificates, Expected};
use super::checks;
use super::render::{self, documents, object, of_kind, repo_root, strings, template};

#[tokio::test]
async fn api_server_accepts_default_and_non_default_renderings() {
    let _serial = super::CLUSTER_SCOPED.lock().await;
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    apply_yaml(&client, render::OPTIONAL_CRDS).await.unwrap();
    let wait = run(
        cp.kubectl()
            .args(["wait", "--for=condition=Established", "--timeout=60s"])
            .args([
                "crd/servicemonitors.monitoring.coreos.com",
                "crd/prometheusrules.monitoring.coreos.com",
                "crd/certificates.cert-manager.io",
                "crd/issuers.cert-manager.io",
            ]),
        None,
    )
    .unwrap();
    assert!(wait.success(), "{wait}");
    // Removed when dropped, also when an assertion fails.
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    let ca_pem = render::ca_pem().unwrap();
    std::fs::write(ca_file.path(), &ca_pem).unwrap();
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
            "provided",
            vec![
                "--set",
                "certificates.mode=provided",
                "--set",
                "certificates.provided.secretName=corp-webhook-tls",
                "--set-file",
                &ca_value,
                // kube-system given again: listed once.
                "--set",
                "admission.excludeNamespaces={kube-system,monitoring}",
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
                "prometheusRule.enabled=true",
                "--set",
                "grafanaDashboard.enabled=true",
                "--set",
                "imageRegistry=registry.example/platform",
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
        ("admission-off", vec!["--set", "admission.enabled=false"]),
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
        admission::no_webhook_configuration(&docs);
        checks::pods_are_hardened(&docs);
        checks::rbac_is_least_privilege(&docs);
        let mut expected = Expected::defaults("hipaa-guard");
        match variant {
            "cert-manager" | "cert-manager-issuer" => {
                expected.certificates = Certificates::CertManager;
                admission::operator_registers(&docs, &expected);
                cert_manager_objects(&docs, &namespace, variant == "cert-manager");
            }
            "provided" => {
                expected.certificates = Certificates::Provided {
                    secret_name: "corp-webhook-tls".to_owned(),
                    ca_bundle: ca_pem.clone(),
                };
                expected.excluded = vec!["kube-system", "monitoring"];
                admission::operator_registers(&docs, &expected);
            }
            "fail-open" => {
                expected.failure_policy = "Ignore";
                expected.timeout_seconds = 10;
                expected.excluded = vec!["kube-system", "monitoring"];
                admission::operator_registers(&docs, &expected);
                fail_open_extras(&docs);
            }
            "local-demo" => {
                // The operator runs as a local process with the flags scripts/demo.sh gives it
                // (--webhook-url, --ca-bundle-file; demo_e2e runs it), and with this
                // ServiceAccount's RBAC, which must let it register.
                assert!(
                    of_kind(&docs, "Deployment").is_empty(),
                    "the demo runs the binaries locally"
                );
                assert_eq!(
                    of_kind(&docs, "ServiceAccount").len(),
                    2,
                    "RBAC stays for the local processes"
                );
                admission::operator_may_register(&docs, "hipaa-guard");
                admission::exempt_label_is_guarded(&docs, "hipaa-guard");
            }
            "admission-off" => admission::admission_is_off(&docs, "hipaa-guard"),
            _ => {
                admission::operator_registers(&docs, &expected);
                assert_eq!(of_kind(&docs, "Deployment").len(), 2);
            }
        }
    }
}

/// The certManager mode's Certificates and Issuers: with no issuerRef, a chart-made CA of one
/// year; the serving certificate of 90 days, renewed 30 days before expiry.
#[track_caller]
fn cert_manager_objects(docs: &[Value], namespace: &str, chart_made_ca: bool) {
    let certificate = object(docs, "Certificate", "hipaa-guard-webhook");
    let names = strings(&certificate["spec"]["dnsNames"]);
    assert!(
        names.contains(&format!("hipaa-guard-webhook.{namespace}.svc")),
        "{names:?}"
    );
    assert_eq!(certificate["spec"]["duration"], "2160h");
    assert_eq!(certificate["spec"]["renewBefore"], "720h");
    let issuers = of_kind(docs, "Issuer").len();
    assert_eq!(issuers, if chart_made_ca { 2 } else { 0 }, "chart-made CA");
    let kind = &certificate["spec"]["issuerRef"]["kind"];
    if chart_made_ca {
        assert_eq!(kind, "Issuer");
        let ca = object(docs, "Certificate", "hipaa-guard-webhook-ca");
        assert_eq!(ca["spec"]["isCA"], true);
        assert_eq!(ca["spec"]["duration"], "8760h");
    } else {
        assert_eq!(kind, "ClusterIssuer");
        assert_eq!(of_kind(docs, "Certificate").len(), 1, "your issuer's CA");
    }
}

/// The fail-open variant's other values: IRSA, ServiceMonitors and the alerts that select what
/// they scrape, the dashboard, the webhook's timeout and image.
#[track_caller]
fn fail_open_extras(docs: &[Value]) {
    let account = object(docs, "ServiceAccount", "hipaa-guard-operator");
    let role = &account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"];
    assert_eq!(role, "arn:aws:iam::123456789012:role/hipaa-guard-operator");
    let monitors = of_kind(docs, "ServiceMonitor");
    assert_eq!(monitors.len(), 2);
    let rules = of_kind(docs, "PrometheusRule");
    assert_eq!(rules.len(), 1, "prometheusRule.enabled");
    let exprs: Vec<&str> = rules[0]["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_array().unwrap())
        .filter_map(|rule| rule["expr"].as_str())
        .collect();
    for monitor in monitors {
        // The series' own labels win (the operator's `namespace` label).
        assert_eq!(monitor["spec"]["endpoints"][0]["honorLabels"], true);
        // The alerts select what this monitor scrapes: the Prometheus Operator names the job
        // after the Service it selects, in the namespace it watches.
        let selector = monitor["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap();
        let services: Vec<&Value> = of_kind(docs, "Service")
            .into_iter()
            .filter(|s| {
                selector
                    .iter()
                    .all(|(k, v)| s["metadata"]["labels"][k] == *v)
            })
            .collect();
        assert_eq!(services.len(), 1, "{monitor:#}");
        let job = services[0]["metadata"]["name"].as_str().unwrap();
        let namespace = monitor["spec"]["namespaceSelector"]["matchNames"][0]
            .as_str()
            .unwrap();
        let scraped = format!("job=\"{job}\",namespace=\"{namespace}\"");
        assert!(
            exprs.iter().any(|e| e.contains(&scraped)),
            "{scraped} in {exprs:#?}"
        );
    }
    let dashboards: Vec<&Value> = of_kind(docs, "ConfigMap")
        .into_iter()
        .filter(|map| map["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    assert_eq!(dashboards.len(), 1, "grafanaDashboard.enabled");
    let webhook_pod =
        &object(docs, "Deployment", "hipaa-guard-webhook")["spec"]["template"]["spec"];
    let args = strings(&webhook_pod["containers"][0]["args"]);
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
