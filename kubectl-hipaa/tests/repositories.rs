//! The built `kubectl-hipaa scan` on directories as they are in real repositories: a copy of part
//! of kubernetes/examples (its Cassandra configuration is YAML but no Kubernetes object) and a
//! Helm chart beside a kustomize directory. What is not an object is skipped, counted and listed
//! (`--verbose`) and the scan exits by its findings; `--strict` refuses the first skip; a named
//! file or standard input that is not an object, an apiVersion Kubernetes does not serve, and
//! the reader's limits stay errors (exit 2) in a walk too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Output;

mod common;
use common::{kubectl_hipaa, text};

const EXAMPLES: &str = "tests/fixtures/repos/kubernetes-examples";
const CHART: &str = "tests/fixtures/repos/helm-chart";
const CASSANDRA_CONFIG: &str = "databases/cassandra/image/files/cassandra.yaml";

fn scan(args: &[&str], stdin: Option<&str>) -> Output {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    kubectl_hipaa(&all, stdin)
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", text(&output.stderr)))
}

/// (file relative to `root`, line, reason) of every document the scan skipped as no object.
fn not_objects(report: &serde_json::Value, root: &str) -> Vec<(String, u64, String)> {
    report["summary"]["skipped"]["notObjectDocuments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let file = d["file"].as_str().unwrap();
            (
                file.strip_prefix(&format!("{root}/")).unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_copy_of_kubernetes_examples_is_judged_and_its_configuration_files_skipped() {
    let output = scan(&["-f", EXAMPLES, "-o", "json"], None);
    // The examples are not hardened: the scan fails on its findings, and does not stop at the
    // first file that is not an object (exit 2, as it did).
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let report = json(&output);
    let summary = &report["summary"];
    // 35 objects: Deployments, Services, a StatefulSet and its StorageClass, a Pod, a PVC, an
    // Ingress, and the kinds not judged (ReplicationControllers, a PersistentVolume).
    assert_eq!(summary["objectsRead"], 35, "{summary}");
    assert!(
        summary["resourcesEvaluated"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert_eq!(summary["skipped"]["kinds"]["ReplicationController"], 5);
    assert_eq!(summary["skipped"]["notObjects"], 2);
    let skipped = not_objects(&report, EXAMPLES);
    let no_kind = "the object has no apiVersion or kind (every Kubernetes object needs both)";
    assert_eq!(
        skipped,
        [
            (CASSANDRA_CONFIG.to_string(), 10, no_kind.to_string()),
            (
                "databases/cassandra/java/src/test/resources/cassandra.yaml".to_string(),
                18,
                no_kind.to_string()
            ),
        ]
    );
    let notes: Vec<&str> = summary["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(
            "skipped 2 documents found in directories that are not Kubernetes objects"
        )),
        "{notes:?}"
    );
    // The list is in the notes only with --verbose (JSON carries it always); the flat table keeps
    // each note on one line.
    assert!(
        !notes.iter().any(|n| n.contains(CASSANDRA_CONFIG)),
        "{notes:?}"
    );
    let verbose = scan(&["-f", EXAMPLES, "--verbose", "-o", "table"], None);
    assert_eq!(code(&verbose), 1, "{}", text(&verbose.stderr));
    let table = text(&verbose.stdout);
    assert!(
        table.contains(&format!(
            "Note: skipped {EXAMPLES}/{CASSANDRA_CONFIG}:10: {no_kind}"
        )),
        "{table}"
    );
    // Judged findings point into the copied files.
    assert!(
        table.contains(&format!(
            "{EXAMPLES}/web/guestbook/frontend-deployment.yaml:1"
        )),
        "{table}"
    );
}

#[test]
fn strict_refuses_the_first_skip_and_a_named_non_object_is_an_error() {
    // The environment variable says the same as the flag.
    let by_env = common::command(&["scan", "-f", EXAMPLES])
        .env("KUBECTL_HIPAA_STRICT", "true")
        .output()
        .unwrap();
    assert_eq!(code(&by_env), 2, "{}", text(&by_env.stderr));
    let output = scan(&["-f", EXAMPLES, "--strict", "-o", "json"], None);
    assert_eq!(code(&output), 2, "{}", text(&output.stdout));
    assert!(output.stdout.is_empty());
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {EXAMPLES}/{CASSANDRA_CONFIG}:10: the object has no apiVersion or kind (every Kubernetes object needs both) (--strict: a directory walk skips nothing)\n"
        )
    );
    // Named on the command line, the same file is an error without --strict.
    let named = format!("{EXAMPLES}/{CASSANDRA_CONFIG}");
    let output = scan(&["-f", &named], None);
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).starts_with(&format!("error: {named}:10: the object has no")),
        "{}",
        text(&output.stderr)
    );
    assert!(!text(&output.stderr).contains("--strict"));
    // So is standard input.
    let output = scan(&["-f", "-"], Some("replicaCount: 2\nimage: {tag: x}\n"));
    assert_eq!(code(&output), 2);
    assert!(text(&output.stderr).contains("<stdin>:1: the object has no apiVersion or kind"));
}

#[test]
fn a_helm_chart_and_kustomize_files_are_skipped_and_the_manifests_beside_them_judged() {
    let output = scan(&["-f", CHART, "-o", "json"], None);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let report = json(&output);
    assert_eq!(report["summary"]["objectsRead"], 1);
    let skipped = not_objects(&report, CHART);
    let files: Vec<&str> = skipped.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(
        files,
        [
            "billing/Chart.yaml",
            "billing/templates/deployment.yaml",
            "billing/templates/service.yaml",
            "billing/values.yaml",
            "k8s/kustomization.yaml",
        ]
    );
    assert!(
        skipped[1].2.contains("Helm chart's template"),
        "{skipped:?}"
    );
    assert!(skipped[4].2.contains("kustomize build"), "{skipped:?}");
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f["file"] == format!("{CHART}/k8s/worker.yaml")),
        "{findings:?}"
    );
    let strict = scan(&["-f", CHART, "--strict"], None);
    assert_eq!(code(&strict), 2);
    assert!(
        text(&strict.stderr).starts_with(&format!("error: {CHART}/billing/Chart.yaml:1: ")),
        "{}",
        text(&strict.stderr)
    );
}

#[test]
fn in_a_walk_invalid_yaml_is_skipped_per_document_but_limits_and_wrong_versions_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let root_text = root.to_str().unwrap();
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: api, image: nginx}]\n";
    // One object and one document that is not: the object is judged, the other skipped.
    std::fs::write(
        root.join("mixed.yaml"),
        format!("{deployment}---\nsettings:\n  - {{{{ .Values.x }}}}\n   bad: indent\n"),
    )
    .unwrap();
    std::fs::write(root.join("binary.yaml"), b"\xff\xfe\x00garbage").unwrap();
    let output = scan(&["-f", root_text, "-o", "json"], None);
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let report = json(&output);
    assert_eq!(report["summary"]["resourcesEvaluated"], 1);
    let skipped = not_objects(&report, root_text);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!((skipped[0].0.as_str(), skipped[0].1), ("binary.yaml", 1));
    assert_eq!(skipped[0].2, "not UTF-8 text");
    assert_eq!((skipped[1].0.as_str(), skipped[1].1), ("mixed.yaml", 12));
    assert!(skipped[1].2.starts_with("invalid YAML: "), "{skipped:?}");

    // An alias bomb found in a walk is refused, not skipped.
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x]\n",
    );
    for level in 1..9u8 {
        let (name, previous) = ((b'a' + level) as char, (b'a' + level - 1) as char);
        let refs = vec![format!("*{previous}"); 9].join(", ");
        bomb.push_str(&format!("  {name}: &{name} [{refs}]\n"));
    }
    std::fs::write(root.join("z-bomb.yaml"), &bomb).unwrap();
    let output = scan(&["-f", root_text], None);
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains("YAML aliases expand to more nodes than the reader's limit"),
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_file(root.join("z-bomb.yaml")).unwrap();
    // So is deep nesting without a kind.
    let deep = format!("x: {}{}\n", "[".repeat(1000), "]".repeat(1000));
    std::fs::write(root.join("z-deep.yaml"), deep).unwrap();
    let output = scan(&["-f", root_text], None);
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains("z-deep.yaml:1: nesting deeper than 128 levels"),
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_file(root.join("z-deep.yaml")).unwrap();
    // A manifest broken by a mistake (its kind lines say what it is, and it is no template) is
    // an error, not a skip.
    let broken = deployment.replace("metadata: {name: api}", "metadata: {name: api");
    std::fs::write(root.join("broken.yaml"), &broken).unwrap();
    let output = scan(&["-f", root_text], None);
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains("broken.yaml:4: invalid YAML: "),
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_file(root.join("broken.yaml")).unwrap();

    // A Deployment at an apiVersion Kubernetes does not serve is invalid input, walk or not.
    let v1 = deployment.replace("apps/v1", "v1");
    std::fs::write(
        root.join("old.yaml"),
        format!("# the API server refuses this\n{v1}"),
    )
    .unwrap();
    let output = scan(&["-f", root_text, "-o", "json"], None);
    assert_eq!(code(&output), 2);
    assert!(output.stdout.is_empty());
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: {root_text}/old.yaml:2: Deployment has apiVersion v1; Kubernetes 1.35 serves it as apps/v1\n"
        )
    );
    let removed = deployment.replace("apps/v1", "extensions/v1beta1");
    let output = scan(&["-f", "-"], Some(&removed));
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains(
            "<stdin>:1: Deployment has apiVersion extensions/v1beta1, which Kubernetes removed in 1.16; Kubernetes 1.35 serves it as apps/v1"
        ),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn strict_reports_unknown_fields_of_judged_kinds() {
    let typo = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: billing}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers:\n        - name: api\n          image: nginx\n          securityContex: {allowPrivilegeEscalation: false}\n";
    let output = scan(&["-f", "-", "--strict"], Some(typo));
    assert_eq!(code(&output), 2, "{}", text(&output.stdout));
    assert_eq!(
        text(&output.stderr),
        "error: <stdin>:1: Deployment billing/api: unknown field spec.template.spec.containers[0].securityContex\n"
    );
    // The same in a List (the general way) and not without --strict.
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}",
        typo.replace('\n', "\n  ")
    );
    let output = scan(&["-f", "-", "--strict"], Some(&list));
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains(
            "<stdin>:4: Deployment billing/api: unknown field spec.template.spec.containers[0].securityContex"
        ),
        "{}",
        text(&output.stderr)
    );
    let output = scan(&["-f", "-"], Some(typo));
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
}
