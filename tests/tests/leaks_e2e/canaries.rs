//! The canaries: values unique to one run, seeded where they are sensitive (env values, Secret
//! and ConfigMap data, container args, pod and workload label and annotation values), the
//! objects that carry them, and the search for them in whatever left the product.
//!
//! Names stay plain words without the run's token: object names, env var names and label keys
//! are what a finding must name, so only values carry canaries.

use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::ByteString;

/// One sensitive value: where it was seeded, and the forms it may take when it leaks.
pub struct Canary {
    pub role: &'static str,
    pub value: String,
    /// The value and, for Secret data, its base64 form (as the API server stores it).
    pub forms: Vec<String>,
}

/// Every canary of one run.
pub struct Canaries {
    pub token: String,
    pub all: Vec<Canary>,
}

impl Canaries {
    pub fn new() -> Canaries {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = nanos ^ (u128::from(std::process::id()) << 40);
        let token = format!("lk{:010x}", seed & 0xff_ffff_ffff);
        let digits = seed % 100_000_000;
        // SSN-shaped (9xx: never issued), unique to the run.
        let ssn = format!(
            "9{:02}-{:02}-{:04}",
            digits % 100,
            (digits / 100) % 100,
            (digits / 10_000) % 10_000
        );
        let value = |what: &str| format!("{token}{what}");
        let mut all = Vec::new();
        let mut seed_canary = |role: &'static str, value: String| {
            all.push(Canary {
                role,
                forms: vec![value.clone()],
                value,
            })
        };
        seed_canary("env DB_PASSWORD value", value("dbpassword"));
        seed_canary("env PATIENT_NAME value", value("patientname"));
        seed_canary("env API_TOKEN value", value("apitoken"));
        seed_canary("container args", value("argtoken"));
        seed_canary("workload label value", value("workloadlabel"));
        seed_canary("pod label value", value("podlabel"));
        seed_canary("pod annotation value", value("podannotation"));
        seed_canary("SSN-like annotation value", ssn);
        seed_canary("ConfigMap data", value("configmap"));
        seed_canary("Namespace annotation value", value("namespaceannotation"));
        seed_canary("Service ssl-cert annotation", value("sslcert"));
        seed_canary(
            "Service negotiation-policy annotation",
            value("negotiation"),
        );
        seed_canary("Ingress annotation value", value("ingresssnippet"));
        let secret = value("secretdata");
        let encoded = serde_json::to_string(&ByteString(secret.clone().into_bytes()))
            .unwrap()
            .trim_matches('"')
            .to_owned();
        all.push(Canary {
            role: "Secret data",
            forms: vec![secret.clone(), encoded],
            value: secret,
        });
        Canaries { token, all }
    }

    /// The value seeded as `role`.
    pub fn value(&self, role: &str) -> &str {
        &self
            .all
            .iter()
            .find(|c| c.role == role)
            .unwrap_or_else(|| panic!("no canary {role}"))
            .value
    }

    /// The roles of the canaries `text` holds, in any of their forms; the run's token alone
    /// counts too (a canary cut short is still a leak).
    pub fn found_in(&self, text: &str) -> Vec<&'static str> {
        let mut found: Vec<&'static str> = self
            .all
            .iter()
            .filter(|c| c.forms.iter().any(|form| text.contains(form.as_str())))
            .map(|c| c.role)
            .collect();
        if found.is_empty() && text.contains(&self.token) {
            found.push("the run's token (part of a canary)");
        }
        found
    }

    /// The namespaced objects that carry the canaries, for namespace `ns`.
    pub fn objects(&self, ns: &str) -> String {
        let v = |role| self.value(role);
        format!(
            r#"apiVersion: v1
kind: Secret
metadata: {{name: billing-db, namespace: {ns}}}
type: Opaque
stringData: {{password: {secret}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: billing-config, namespace: {ns}}}
data: {{patient-notes: {config}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: billing-api
  namespace: {ns}
  labels: {{app: billing-api, patient-name: {workload_label}}}
  annotations: {{patient-ssn: "{ssn}"}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: billing-api}}}}
  template:
    metadata:
      labels: {{app: billing-api, patient-name: {pod_label}}}
      annotations: {{patient-dob: {pod_annotation}, patient-ssn: "{ssn}"}}
    spec:
      containers:
        - name: api
          image: docker.io/library/busybox:latest
          command: [/bin/api]
          args: ["--token={arg}"]
          securityContext: {{privileged: true}}
          env:
            - {{name: DB_PASSWORD, value: {db_password}}}
            - {{name: PATIENT_NAME, value: {patient}}}
            - {{name: DB_USER, valueFrom: {{secretKeyRef: {{name: billing-db, key: password}}}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: intake
  namespace: {ns}
  labels: {{app: intake, patient-name: {pod_label}}}
  annotations: {{patient-ssn: "{ssn}"}}
spec:
  containers:
    - name: intake
      image: docker.io/library/busybox:latest
      args: ["--api-key", "{arg}"]
      env: [{{name: API_TOKEN, value: {api_token}}}]
---
apiVersion: v1
kind: Service
metadata:
  name: public
  namespace: {ns}
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: {ssl_cert}
    service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy: {negotiation}
spec:
  type: LoadBalancer
  selector: {{app: billing-api}}
  ports: [{{name: https, port: 443}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: portal
  namespace: {ns}
  annotations: {{nginx.ingress.kubernetes.io/configuration-snippet: {snippet}}}
spec:
  rules:
    - host: portal.example.com
      http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: public, port: {{number: 443}}}}}}}}]}}
"#,
            secret = v("Secret data"),
            config = v("ConfigMap data"),
            workload_label = v("workload label value"),
            pod_label = v("pod label value"),
            pod_annotation = v("pod annotation value"),
            ssn = v("SSN-like annotation value"),
            arg = v("container args"),
            db_password = v("env DB_PASSWORD value"),
            patient = v("env PATIENT_NAME value"),
            api_token = v("env API_TOKEN value"),
            ssl_cert = v("Service ssl-cert annotation"),
            negotiation = v("Service negotiation-policy annotation"),
            snippet = v("Ingress annotation value"),
        )
    }

    /// A Namespace object for the scan of files: PHI-labelled (a label value that is not PHI),
    /// with a canary in an annotation.
    pub fn namespace(&self, ns: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels: {{hipaaguard.io/phi: \"true\"}}\n  annotations: {{patient-contact: {}}}\n",
            self.value("Namespace annotation value")
        )
    }
}

/// What left the product, by where it was read.
#[derive(Default)]
pub struct Sinks(Vec<(String, String)>);

impl Sinks {
    pub fn add(&mut self, sink: impl Into<String>, text: impl Into<String>) {
        self.0.push((sink.into(), text.into()));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Fails listing every sink that holds a canary, with the line it is on.
    pub fn assert_clean(&self, canaries: &Canaries) {
        let mut leaks = Vec::new();
        for (sink, text) in &self.0 {
            for role in canaries.found_in(text) {
                let line = text
                    .lines()
                    .find(|line| !canaries.found_in(line).is_empty())
                    .unwrap_or("(spans lines)");
                leaks.push(format!("{sink}: {role}\n    {}", excerpt(line)));
            }
        }
        assert!(
            leaks.is_empty(),
            "{} leak(s) of seeded sensitive values:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
    }
}

fn excerpt(line: &str) -> String {
    line.chars().take(400).collect()
}

#[test]
fn every_canary_is_found_in_any_of_its_forms_and_names_stay_unflagged() {
    let canaries = Canaries::new();
    let objects = canaries.objects("billing");
    // The positive control of the matcher: the seeded objects hold every canary.
    let mut found = canaries.found_in(&objects);
    found.sort_unstable();
    let mut roles: Vec<&str> = canaries.all.iter().map(|c| c.role).collect();
    roles.retain(|role| *role != "Namespace annotation value");
    roles.sort_unstable();
    assert_eq!(found, roles);
    let secret = canaries
        .all
        .iter()
        .find(|c| c.role == "Secret data")
        .unwrap();
    assert_eq!(canaries.found_in(&secret.forms[1]), ["Secret data"]);
    assert_eq!(
        canaries.found_in(&canaries.token),
        ["the run's token (part of a canary)"]
    );
    assert!(
        canaries
            .found_in(
                "Deployment billing/billing-api: container api sets DB_PASSWORD to a literal value"
            )
            .is_empty()
    );
}
