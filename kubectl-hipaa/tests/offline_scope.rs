//! Offline scans of manifests without their Namespace: the namespace-dependent controls are
//! judged under the stated assumption (said once, never one Error per object), the policies
//! select the assumed namespace consistently with it, and a Namespace among the inputs is
//! judged on its own labels.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::{Exit, run};
use serde_json::Value;

const GUESTBOOK: &str = "tests/fixtures/guestbook";
/// Selects only PHI namespaces.
const PHI_POLICY: &str = "tests/fixtures/policy.yaml";

fn scan(args: &[&str], stdin: &str) -> (Exit, String) {
    let mut argv = vec!["kubectl-hipaa", "scan"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap();
    let mut out = Vec::new();
    let mut input = stdin.as_bytes();
    let exit = run(&cli, &mut input, &mut out).unwrap();
    (exit, String::from_utf8(out).unwrap())
}

fn json(args: &[&str], stdin: &str) -> Value {
    let mut with_json = args.to_vec();
    with_json.extend(["-o", "json"]);
    serde_json::from_str(&scan(&with_json, stdin).1).unwrap()
}

fn controls(document: &Value) -> Vec<(String, String, String)> {
    document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["control"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
                f["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn an_application_without_its_namespace_has_no_error_and_the_assumption_is_said_once() {
    // Wide enough that no sentence is wrapped.
    let (exit, text) = scan(
        &["-f", GUESTBOOK, "--color", "never", "--width", "1000"],
        "",
    );
    assert_eq!(exit, Exit::Failed);
    assert!(!text.contains("ERROR"), "{text}");
    assert!(!text.contains("cannot evaluate"), "{text}");
    assert_eq!(text.matches("not among the inputs").count(), 1, "{text}");
    assert_eq!(
        text.matches("PHI production namespace without mesh injection")
            .count(),
        1,
        "{text}"
    );

    let document = json(&["-f", GUESTBOOK], "");
    let summary = &document["summary"];
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["assumptions"].as_array().unwrap().len(), 1);
    let assumed = &summary["assumptions"][0];
    assert_eq!(assumed["namespaces"], serde_json::json!(["default"]));
    assert_eq!(
        assumed["labels"],
        serde_json::json!({"hipaaguard.io/environment": "production", "hipaaguard.io/phi": "true"})
    );
    assert_eq!(assumed["selectedByEveryPolicy"], true);
    assert_eq!(assumed["source"], "default");
    // Judged as production without mesh: HA and TLS-WORKLOAD fail on both Deployments.
    let found = controls(&document);
    for name in ["redis-leader", "frontend"] {
        for control in ["HIPAA-K8S-HA", "HIPAA-K8S-TLS-WORKLOAD"] {
            assert!(
                found.contains(&(control.into(), name.into(), "Fail".into())),
                "{control} {name}: {found:?}"
            );
        }
    }
    assert!(found.iter().all(|(c, _, _)| c != "HIPAA-K8S-DEV-PHI"));
}

#[test]
fn stated_labels_replace_the_default_and_nothing_keeps_the_errors() {
    // A development namespace: HA does not apply; DEV-PHI does (and passes: nothing is PHI).
    let document = json(
        &[
            "-f",
            GUESTBOOK,
            "--assume-namespace-labels",
            "hipaaguard.io/environment=development",
        ],
        "",
    );
    let found = controls(&document);
    assert!(
        found.iter().all(|(c, _, _)| c != "HIPAA-K8S-HA"),
        "{found:?}"
    );
    assert_eq!(document["summary"]["errors"], 0);
    assert_eq!(
        document["summary"]["assumptions"][0]["source"],
        "--assume-namespace-labels"
    );

    // No labels at all: still no Error, and no production-only control.
    let document = json(&["-f", GUESTBOOK, "--assume-namespace-labels", ""], "");
    assert_eq!(document["summary"]["errors"], 0);
    assert_eq!(
        document["summary"]["assumptions"][0]["labels"],
        serde_json::json!({})
    );

    // --no-assume-namespace: the checks that need the labels cannot be evaluated, as before.
    let document = json(&["-f", GUESTBOOK, "--no-assume-namespace"], "");
    let errors: Vec<(String, String, String)> = controls(&document)
        .into_iter()
        .filter(|(_, _, result)| result == "Error")
        .collect();
    assert_eq!(
        errors.len(),
        6,
        "HA, DEV-PHI and TLS-WORKLOAD twice: {errors:?}"
    );
    assert_eq!(document["summary"]["assumptions"], serde_json::json!([]));
}

#[test]
fn a_namespace_among_the_inputs_is_judged_on_its_own_labels() {
    let guestbook = std::fs::read_to_string(format!("{GUESTBOOK}/guestbook.yaml")).unwrap();
    let input = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels: {{hipaaguard.io/environment: staging}}\n---\n{guestbook}"
    );
    let document = json(&["-f", "-"], &input);
    assert_eq!(document["summary"]["assumptions"], serde_json::json!([]));
    assert_eq!(document["summary"]["errors"], 0);
    let found = controls(&document);
    assert!(
        found.iter().all(|(c, _, _)| c != "HIPAA-K8S-HA"),
        "{found:?}"
    );
}

#[test]
fn the_policies_select_an_assumed_namespace_as_the_assumption_says() {
    let in_scope = |document: &Value| document["summary"]["resourcesEvaluated"].as_u64().unwrap();
    // By default every policy selects it, whatever its selector.
    let document = json(&["-f", GUESTBOOK, "--policy", PHI_POLICY], "");
    assert_eq!(in_scope(&document), 3);
    assert_eq!(document["summary"]["outOfScope"], 0);
    // Stated labels are matched by the selector: not PHI, out of the PHI policy's scope ...
    let document = json(
        &[
            "-f",
            GUESTBOOK,
            "--policy",
            PHI_POLICY,
            "--assume-namespace-labels",
            "hipaaguard.io/environment=production",
        ],
        "",
    );
    assert_eq!(in_scope(&document), 0);
    assert_eq!(document["summary"]["outOfScope"], 4, "every object read");
    assert_eq!(document["findings"], serde_json::json!([]));
    // ... PHI: in it.
    let document = json(
        &[
            "-f",
            GUESTBOOK,
            "--policy",
            PHI_POLICY,
            "--assume-namespace-labels",
            "hipaaguard.io/phi=true",
        ],
        "",
    );
    assert_eq!(in_scope(&document), 3);
    // Assuming nothing: every policy selects it, and the note says so with the policy given.
    let document = json(
        &[
            "-f",
            GUESTBOOK,
            "--policy",
            PHI_POLICY,
            "--no-assume-namespace",
        ],
        "",
    );
    assert_eq!(in_scope(&document), 3);
    assert_eq!(
        document["summary"]["assumptions"][0]["selectedByEveryPolicy"],
        true
    );
    assert_eq!(document["summary"]["assumptions"][0]["labels"], Value::Null);
}

#[test]
fn an_autoscaling_v1_autoscaler_sets_the_replica_floor_as_a_v2_one_does() {
    let deployment = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: billing}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: api}}}
      containers:
      - {name: api, image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1.0.0}
";
    let ha_failures = |extra: &str| {
        let input = format!("{deployment}{extra}");
        controls(&json(&["-f", "-"], &input))
            .into_iter()
            .filter(|(control, _, _)| control == "HIPAA-K8S-HA")
            .count()
    };
    // One replica in the (assumed) production namespace: HA fails.
    assert_eq!(ha_failures(""), 1);
    for api_version in ["autoscaling/v1", "autoscaling/v2"] {
        let hpa = format!(
            "---\napiVersion: {api_version}\nkind: HorizontalPodAutoscaler\nmetadata: {{name: api, namespace: billing}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: api}}\n  minReplicas: 3\n  maxReplicas: 6\n"
        );
        assert_eq!(ha_failures(&hpa), 0, "{api_version}");
    }
}
