//! What the chart renders for admission now that the operator registers the webhook
//! configuration (docs/admission.md): never a ValidatingWebhookConfiguration of its own, the
//! operator's registration flags matching the values, the RBAC those flags need, where the CA
//! bundle comes from in each certificates mode, and the ValidatingAdmissionPolicy that keeps the
//! admission-exempt label to cluster administrators.

use std::collections::BTreeSet;

use serde_json::Value;

use super::render::{object, of_kind, strings};

/// Every flag of operator/src/admission/args.rs: the chart sets exactly the expected ones, so a
/// stray one (a service namespace, a port) fails too.
const REGISTRATION_FLAGS: [&str; 14] = [
    "--webhook-configuration",
    "--webhook-configuration-owner",
    "--webhook-configuration-labels",
    "--webhook-service",
    "--webhook-service-namespace",
    "--webhook-service-port",
    "--webhook-url",
    "--failure-policy",
    "--webhook-timeout-seconds",
    "--exclude-namespaces",
    "--certificates",
    "--ca-bundle-file",
    "--ca-bundle-secret",
    "--registration-interval",
];

/// The directory the chart mounts the provided CA bundle's ConfigMap at, in the operator.
const CA_BUNDLE_FILE: &str = "/etc/hipaa-guard/ca-bundle/ca.crt";

/// Where the webhook's certificate and the registered CA bundle come from.
pub enum Certificates {
    /// The operator makes both (nothing rendered).
    Managed,
    /// cert-manager writes the Secret; the operator registers its `ca.crt`.
    CertManager,
    /// Your Secret, and the CA bundle handed to the operator in a ConfigMap.
    Provided {
        secret_name: String,
        ca_bundle: String,
    },
}

/// What registration the values ask for.
pub struct Expected {
    /// The release name (and so the chart's fullname: these tests set no override).
    pub release: String,
    pub failure_policy: &'static str,
    pub timeout_seconds: u32,
    /// `--exclude-namespaces`, in order (kube-system first, duplicates dropped).
    pub excluded: Vec<&'static str>,
    pub certificates: Certificates,
}

impl Expected {
    /// The chart's defaults for `release`.
    pub fn defaults(release: &str) -> Self {
        Expected {
            release: release.to_owned(),
            failure_policy: "Fail",
            timeout_seconds: 5,
            excluded: vec!["kube-system"],
            certificates: Certificates::Managed,
        }
    }

    fn owner(&self) -> String {
        format!("{}-operator", self.release)
    }

    fn webhook(&self) -> String {
        format!("{}-webhook", self.release)
    }

    fn tls_secret(&self) -> String {
        match &self.certificates {
            Certificates::Provided { secret_name, .. } => secret_name.clone(),
            _ => format!("{}-webhook-tls", self.release),
        }
    }

    fn args(&self) -> BTreeSet<String> {
        let release = &self.release;
        let mut args = vec![
            format!("--webhook-configuration={release}"),
            format!("--webhook-configuration-owner={}", self.owner()),
            format!(
                "--webhook-configuration-labels=app.kubernetes.io/name=hipaa-guard,\
                 app.kubernetes.io/instance={release},app.kubernetes.io/component=webhook"
            ),
            format!("--webhook-service={}", self.webhook()),
            format!("--failure-policy={}", self.failure_policy),
            format!("--webhook-timeout-seconds={}", self.timeout_seconds),
            format!("--exclude-namespaces={}", self.excluded.join(",")),
        ];
        match &self.certificates {
            Certificates::Managed => args.push("--certificates=managed".to_owned()),
            Certificates::CertManager => args.extend([
                "--certificates=secret".to_owned(),
                format!("--ca-bundle-secret={}", self.tls_secret()),
            ]),
            Certificates::Provided { .. } => args.extend([
                "--certificates=file".to_owned(),
                format!("--ca-bundle-file={CA_BUNDLE_FILE}"),
            ]),
        }
        args.into_iter().collect()
    }
}

/// No rendering holds a webhook configuration: only the operator writes it, once a webhook answers.
#[track_caller]
pub fn no_webhook_configuration(docs: &[Value]) {
    let found = of_kind(docs, "ValidatingWebhookConfiguration");
    assert!(
        found.is_empty(),
        "the chart renders a ValidatingWebhookConfiguration: {found:?}"
    );
}

/// The arguments of a Deployment's first container.
fn container_args(deployment: &Value) -> Vec<String> {
    strings(&deployment["spec"]["template"]["spec"]["containers"][0]["args"])
}

/// The arguments that are registration flags.
fn registration_args(deployment: &Value) -> Vec<String> {
    container_args(deployment)
        .into_iter()
        .filter(|arg| {
            let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
            REGISTRATION_FLAGS.contains(&flag)
        })
        .collect()
}

/// The value of `flag` among `args` (`--flag=value`).
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .find_map(|arg| arg.strip_prefix(flag)?.strip_prefix('='))
}

/// The operator is told to register exactly what the values ask for, may do so (and no more),
/// and finds the CA bundle where the certificates mode puts it; the webhook serves the Secret
/// whose CA is registered and exempts the same namespaces.
#[track_caller]
pub fn operator_registers(docs: &[Value], expected: &Expected) {
    no_webhook_configuration(docs);
    let operator = object(docs, "Deployment", &expected.owner());
    let args = registration_args(operator);
    assert_eq!(
        args.iter().cloned().collect::<BTreeSet<_>>(),
        expected.args(),
        "the operator's registration flags"
    );
    assert_eq!(
        args.len(),
        expected.args().len(),
        "a flag given twice: {args:?}"
    );
    let excluded = flag_value(&args, "--exclude-namespaces").unwrap_or_default();
    assert!(
        excluded.split(',').any(|ns| ns == "kube-system"),
        "kube-system must never wait for the webhook: {excluded}"
    );

    // The owner is the ClusterRole bound to the operator's ServiceAccount, so that uninstalling
    // the release deletes the configuration through garbage collection.
    let binding = object(docs, "ClusterRoleBinding", &expected.owner());
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], expected.owner().as_str());
    let account = &operator["spec"]["template"]["spec"]["serviceAccountName"];
    assert_eq!(&binding["subjects"][0]["name"], account);
    operator_may_register(docs, &expected.release);
    operator_reads_rbac(docs, &expected.release);

    // The Service the configuration calls, at the port the operator assumes (443).
    let service = object(docs, "Service", &expected.webhook());
    let ports = service["spec"]["ports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        ports
            .iter()
            .any(|p| p["port"] == 443 && p["targetPort"] == "https"),
        "{ports:?}"
    );

    let webhook = object(docs, "Deployment", &expected.webhook());
    let exempt = container_args(webhook)
        .iter()
        .find_map(|arg| arg.strip_prefix("--exempt-namespaces=").map(str::to_owned));
    assert_eq!(
        exempt.as_deref(),
        Some(excluded),
        "the webhook exempts what the configuration leaves out"
    );
    // Managed certificates are read from the Secret through the API (`--tls-secret`), so that a
    // renewal is served at once; cert-manager's are mounted (the `tls` volume).
    let served = match expected.certificates {
        Certificates::Managed => {
            flag_value(&container_args(webhook), "--tls-secret").map(Value::from)
        }
        _ => webhook["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == "tls"))
            .map(|v| v["secret"]["secretName"].clone()),
    };
    assert_eq!(
        served,
        Some(Value::from(expected.tls_secret())),
        "the webhook serves the Secret whose CA is registered"
    );
    ca_bundle_source(docs, operator, expected);
    exempt_label_is_guarded(docs, &expected.release);
}

/// Where the bundle comes from, per certificates mode.
#[track_caller]
fn ca_bundle_source(docs: &[Value], operator: &Value, expected: &Expected) {
    let pod = &operator["spec"]["template"]["spec"];
    // The Grafana dashboard's ConfigMap (grafanaDashboard.enabled) is not about certificates.
    let config_maps: Vec<&Value> = of_kind(docs, "ConfigMap")
        .into_iter()
        .filter(|map| map["data"]["hipaa-guard.json"].is_null())
        .collect();
    match &expected.certificates {
        Certificates::Managed => {
            assert!(
                of_kind(docs, "Certificate").is_empty() && of_kind(docs, "Issuer").is_empty(),
                "managed: no cert-manager objects"
            );
            assert!(
                of_kind(docs, "Secret").is_empty(),
                "managed: the operator makes the Secret"
            );
            assert!(config_maps.is_empty(), "managed: no CA bundle ConfigMap");
            assert!(pod["volumes"].is_null(), "managed: nothing to mount");
        }
        Certificates::CertManager => {
            let certificate = object(docs, "Certificate", &expected.webhook());
            assert_eq!(
                certificate["spec"]["secretName"],
                expected.tls_secret().as_str(),
                "the operator reads ca.crt of the Secret cert-manager writes"
            );
            assert!(
                of_kind(docs, "Secret").is_empty(),
                "cert-manager owns the Secret"
            );
            assert!(
                config_maps.is_empty(),
                "certManager: no CA bundle ConfigMap"
            );
            assert!(pod["volumes"].is_null(), "certManager: nothing to mount");
        }
        Certificates::Provided { ca_bundle, .. } => {
            let (dir, file) = CA_BUNDLE_FILE.rsplit_once('/').unwrap_or_default();
            let mounts = pod["containers"][0]["volumeMounts"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mount = mounts
                .iter()
                .find(|m| m["mountPath"] == dir)
                .unwrap_or_else(|| panic!("nothing mounted at {dir}: {mounts:?}"));
            assert_eq!(mount["readOnly"], true);
            let volume = pod["volumes"]
                .as_array()
                .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
                .unwrap_or_else(|| panic!("no volume {}", mount["name"]));
            let name = volume["configMap"]["name"].as_str().unwrap_or_default();
            let config_map = object(docs, "ConfigMap", name);
            assert_eq!(
                config_map["data"][file].as_str(),
                Some(ca_bundle.as_str()),
                "the mounted file is the provided caBundle"
            );
            assert!(
                of_kind(docs, "Certificate").is_empty(),
                "provided: no cert-manager objects"
            );
        }
    }
}

/// (group, resource, resourceNames, verbs) of the operator's rules on webhook configurations
/// and on RBAC, but for listing and watching RBAC (the access model's caches, checked by
/// [`operator_reads_rbac`]).
fn registration_rules(role: &Value) -> BTreeSet<(String, String, Vec<String>, Vec<String>)> {
    let mut found = BTreeSet::new();
    for rule in role["rules"].as_array().cloned().unwrap_or_default() {
        if strings(&rule["verbs"]) == ["list", "watch"] {
            continue;
        }
        for group in strings(&rule["apiGroups"]) {
            if group != "admissionregistration.k8s.io" && group != "rbac.authorization.k8s.io" {
                continue;
            }
            for resource in strings(&rule["resources"]) {
                let mut names = strings(&rule["resourceNames"]);
                names.sort();
                let mut verbs = strings(&rule["verbs"]);
                verbs.sort();
                found.insert((group.clone(), resource, names, verbs));
            }
        }
    }
    found
}

/// The operator may read and patch only the release's configuration, create one (RBAC cannot
/// limit `create` to a name), and read only its own ClusterRole (the owner's uid); the webhook
/// may do none of it (it only reads RBAC objects, for its access model).
#[track_caller]
pub fn operator_may_register(docs: &[Value], release: &str) {
    let owner = format!("{release}-operator");
    let rule = |group: &str, resource: &str, names: &[&str], verbs: &[&str]| {
        (
            group.to_owned(),
            resource.to_owned(),
            names.iter().map(|n| (*n).to_owned()).collect(),
            verbs.iter().map(|v| (*v).to_owned()).collect(),
        )
    };
    let expected = BTreeSet::from([
        rule(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            &[release],
            &["get", "patch"],
        ),
        rule(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            &[],
            &["create"],
        ),
        rule(
            "rbac.authorization.k8s.io",
            "clusterroles",
            &[&owner],
            &["get"],
        ),
    ]);
    let operator = object(docs, "ClusterRole", &owner);
    assert_eq!(registration_rules(operator), expected);
    let webhook = object(docs, "ClusterRole", &format!("{release}-webhook"));
    let reads = |(group, _, names, verbs): &(String, String, Vec<String>, Vec<String>)| {
        group == "rbac.authorization.k8s.io"
            && names.is_empty()
            && verbs == &["get", "list", "watch"]
    };
    assert!(registration_rules(webhook).iter().all(reads), "{webhook}");
}

/// The operator lists and watches every RBAC kind and the ServiceAccounts (the access controls
/// report Error without them).
#[track_caller]
pub fn operator_reads_rbac(docs: &[Value], release: &str) {
    let operator = object(docs, "ClusterRole", &format!("{release}-operator"));
    let listed: BTreeSet<(String, String)> = operator["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|rule| strings(&rule["verbs"]) == ["list", "watch"])
        .flat_map(|rule| {
            let resources = strings(&rule["resources"]);
            strings(&rule["apiGroups"])
                .into_iter()
                .flat_map(move |group| {
                    resources
                        .clone()
                        .into_iter()
                        .map(move |r| (group.clone(), r))
                })
        })
        .collect();
    for (group, resource) in [
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("", "serviceaccounts"),
    ] {
        assert!(
            listed.contains(&(group.to_owned(), resource.to_owned())),
            "the operator may not list and watch {resource}: {operator}"
        );
    }
}

/// Only subjects allowed to create `admissionexemptions.hipaaguard.io` may set, change or
/// remove the admission-exempt label: a policy on Namespace creates and updates, bound to deny.
#[track_caller]
pub fn exempt_label_is_guarded(docs: &[Value], release: &str) {
    let name = format!("{release}-admission-exempt");
    let policy = object(docs, "ValidatingAdmissionPolicy", &name);
    assert_eq!(policy["spec"]["failurePolicy"], "Fail");
    let rules = policy["spec"]["matchConstraints"]["resourceRules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rules
            .iter()
            .any(|r| strings(&r["resources"]) == ["namespaces"]
                && strings(&r["operations"]) == ["CREATE", "UPDATE"]),
        "{rules:?}"
    );
    let text = policy["spec"].to_string();
    for needed in ["hipaaguard.io/admission-exempt", "admissionexemptions"] {
        assert!(text.contains(needed), "{needed} not in {text}");
    }
    let binding = object(docs, "ValidatingAdmissionPolicyBinding", &name);
    assert_eq!(binding["spec"]["policyName"], name.as_str());
    assert_eq!(strings(&binding["spec"]["validationActions"]), ["Deny"]);
}

/// `admission.enabled=false`: nothing of admission is rendered or granted.
#[track_caller]
pub fn admission_is_off(docs: &[Value], release: &str) {
    no_webhook_configuration(docs);
    for kind in [
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "Certificate",
        "ConfigMap",
    ] {
        assert!(
            of_kind(docs, kind).is_empty(),
            "admission off renders a {kind}"
        );
    }
    let operator = object(docs, "Deployment", &format!("{release}-operator"));
    let args = registration_args(operator);
    assert!(args.is_empty(), "admission off, yet {args:?}");
    let role = object(docs, "ClusterRole", &format!("{release}-operator"));
    assert!(
        registration_rules(role).is_empty(),
        "admission off, yet {role}"
    );
}
