//! `kubectl hipaa scan` of files (no cluster) in every output format at debug log level: it names
//! the objects and the env var names, and quotes none of the seeded values; an object that does
//! not parse is refused (exit 2) with a message that says where and what type, not the value.

use std::path::Path;
use std::process::Command;

use hipaa_testkit::{CmdOutput, cargo_bin, run};
use serde_json::Value;

use super::canaries::{Canaries, Sinks};

pub const FORMATS: [&str; 5] = ["text", "table", "json", "sarif", "junit"];

/// `kubectl-hipaa <args>` with its own log at debug and no setting from the environment.
pub fn kubectl_hipaa(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_bin("kubectl-hipaa"));
    cmd.args(args)
        .env("KUBECTL_HIPAA_LOG", "debug")
        .env_remove("KUBECTL_HIPAA_FAIL_ON")
        .env_remove("KUBECTL_HIPAA_OUTPUT")
        .env_remove("KUBECONFIG");
    cmd
}

/// Adds a command's stdout and stderr to `sinks`.
pub fn add_output(sinks: &mut Sinks, what: &str, out: &CmdOutput) {
    sinks.add(format!("{what} stdout"), out.stdout.clone());
    sinks.add(format!("{what} stderr"), out.stderr.clone());
}

/// The `(control, name, message)` of every finding of a `scan -o json` document.
pub fn findings(json: &str) -> Vec<(String, String, String)> {
    let document: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |key: &str| f[key].as_str().unwrap_or_default().to_owned();
            (text("control"), text("name"), text("message"))
        })
        .collect()
}

/// The positive control of a scan: it read the objects that carry the canaries, and named the
/// ones it must (the Deployment by its env var's name, the Pod, the Service, the Ingress).
pub fn assert_scan_saw_the_objects(json: &str) {
    let found = findings(json);
    let has = |control: &str, name: &str, needle: &str| {
        found
            .iter()
            .any(|(c, n, m)| c == control && n == name && m.contains(needle))
    };
    assert!(
        has("HIPAA-K8S-SECRETS-IN-ENV", "billing-api", "DB_PASSWORD"),
        "{found:#?}"
    );
    assert!(
        has("HIPAA-K8S-SECRETS-IN-ENV", "intake", "API_TOKEN"),
        "{found:#?}"
    );
    assert!(
        has(
            "HIPAA-K8S-TLS-LB",
            "public",
            "aws-load-balancer-ssl-negotiation-policy"
        ),
        "{found:#?}"
    );
    assert!(
        has("HIPAA-K8S-TLS-INGRESS", "portal", "spec.tls"),
        "{found:#?}"
    );
}

/// Scans `file` in every format; returns the JSON output.
pub fn scan_every_format(sinks: &mut Sinks, what: &str, file: &Path, extra: &[&str]) -> String {
    let mut json = String::new();
    for format in FORMATS {
        let mut cmd = kubectl_hipaa(&["scan", "-f", file.to_str().unwrap(), "-o", format]);
        cmd.args(extra);
        let out = run(&mut cmd, None).unwrap();
        assert_eq!(out.status, 1, "the findings fail the scan:\n{out}");
        add_output(sinks, &format!("{what} -o {format}"), &out);
        if format == "json" {
            json = out.stdout;
        }
    }
    json
}

#[test]
fn a_scan_of_files_names_the_objects_and_quotes_no_seeded_value() {
    let canaries = Canaries::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("billing.yaml");
    let manifest = format!(
        "{}---\n{}",
        canaries.namespace("billing"),
        canaries.objects("billing")
    );
    std::fs::write(&file, &manifest).unwrap();
    let seeded = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        canaries.found_in(&seeded).len(),
        canaries.all.len(),
        "every canary is in the scanned file"
    );

    let mut sinks = Sinks::default();
    let json = scan_every_format(&mut sinks, "scan", &file, &[]);
    assert_scan_saw_the_objects(&json);
    sinks.assert_clean(&canaries);
}

#[test]
fn an_object_that_does_not_parse_is_refused_without_its_values() {
    let canaries = Canaries::new();
    let secret = canaries.value("env DB_PASSWORD value");
    let label = canaries.value("pod label value");
    let reference = canaries.value("env API_TOKEN value");
    // Three mistakes people make: env as one string, labels as one string, valueFrom as a
    // string. Each is a type error whose serde message would quote the value.
    let cases = [
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: env-as-string, namespace: billing}}\nspec: {{containers: [{{name: a, image: x, env: \"DB_PASSWORD={secret}\"}}]}}\n"
        ),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: labels-as-string, namespace: billing, labels: \"patient-name={label}\"}}\nspec: {{containers: [{{name: a, image: x}}]}}\n"
        ),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: value-from-string, namespace: billing}}\nspec:\n  selector: {{matchLabels: {{app: a}}}}\n  template:\n    metadata: {{labels: {{app: a}}}}\n    spec: {{containers: [{{name: a, image: x, env: [{{name: API_TOKEN, valueFrom: \"{reference}\"}}]}}]}}\n"
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut sinks = Sinks::default();
    for (index, case) in cases.iter().enumerate() {
        let file = dir.path().join(format!("case-{index}.yaml"));
        std::fs::write(&file, case).unwrap();
        assert!(!canaries.found_in(case).is_empty(), "{case}");
        for format in FORMATS {
            let out = run(
                &mut kubectl_hipaa(&["scan", "-f", file.to_str().unwrap(), "-o", format]),
                None,
            )
            .unwrap();
            assert_eq!(out.status, 2, "invalid input exits 2:\n{out}");
            assert!(
                out.stderr
                    .contains("does not parse: invalid type: string, expected"),
                "the refusal says what type was found and expected:\n{out}"
            );
            assert!(out.stderr.contains(&format!("case-{index}.yaml")), "{out}");
            add_output(&mut sinks, &format!("case {index} -o {format}"), &out);
        }
    }
    sinks.assert_clean(&canaries);
}
