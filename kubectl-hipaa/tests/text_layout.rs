//! The default text output's layout: one block per object (its location and reference once),
//! lines within the width, the problems without the object's name, colour only when asked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::run;
use serde_json::Value;

const MANIFESTS: &str = "tests/fixtures/manifests";
const POLICY: &str = "tests/fixtures/policy.yaml";

fn scan(extra: &[&str]) -> String {
    let mut argv = vec!["kubectl-hipaa", "scan", "-f", MANIFESTS, "--policy", POLICY];
    argv.extend_from_slice(extra);
    let cli = Cli::try_parse_from(argv).unwrap();
    let mut out = Vec::new();
    let mut stdin: &[u8] = &[];
    run(&cli, &mut stdin, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// `file:line` of every object with a finding (failing, unevaluable or excepted).
fn objects_with_findings() -> BTreeSet<String> {
    let document: Value = serde_json::from_str(&scan(&["-o", "json"])).unwrap();
    let located = |f: &Value| format!("{}:{}", f["file"].as_str().unwrap(), f["line"]);
    let findings = document["findings"].as_array().unwrap().iter();
    let excepted = document["summary"]["exceptions"].as_array().unwrap().iter();
    findings.chain(excepted).map(located).collect()
}

#[test]
fn every_line_fits_the_width_unless_it_is_one_unbreakable_word() {
    for width in [40, 60, 100] {
        let text = scan(&["--color", "never", "--width", &width.to_string()]);
        for line in text.lines() {
            let fits = line.chars().count() <= width;
            let one_word = !line.trim().contains(' ');
            assert!(fits || one_word, "{width}: {line:?}\n{text}");
        }
    }
}

#[test]
fn each_object_is_named_once_and_its_problems_do_not_repeat_it() {
    let text = scan(&["--color", "never", "--width", "200"]);
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tests/fixtures/manifests/"))
        .collect();
    let locations: BTreeSet<String> = headers
        .iter()
        .map(|h| h.split("  ").next().unwrap().to_string())
        .collect();
    assert_eq!(
        headers.len(),
        locations.len(),
        "one block per object: {text}"
    );
    assert_eq!(locations, objects_with_findings());
    // Within a block, the object's reference appears in its header only.
    for block in text.split("\n\n").filter(|b| b.starts_with("tests/")) {
        let (header, body) = block.split_once('\n').unwrap();
        let reference = header.split_once("  ").unwrap().1;
        assert!(!body.contains(reference), "{block}");
        assert!(
            body.contains("45 CFR") || body.contains("excepted"),
            "{block}"
        );
    }
    // Worst first within an object; the fix of each failing control is given.
    let api = text
        .split("\n\n")
        .find(|b| b.contains("Deployment billing/api"))
        .unwrap();
    assert!(
        api.lines()
            .nth(1)
            .unwrap()
            .trim_start()
            .starts_with("CRITICAL"),
        "{api}"
    );
    assert_eq!(api.matches("Fix: ").count(), 5, "{api}");
    // The verdict and the counts come first.
    assert!(
        text.starts_with("FAILED: 8 checks at or above LOW fail"),
        "{text}"
    );
}

#[test]
fn colour_only_when_asked() {
    let plain = scan(&["--color", "never"]);
    assert!(!plain.contains('\x1b'));
    let coloured = scan(&["--color", "always"]);
    assert!(coloured.contains("\x1b[1;31mCRITICAL\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[35mERROR\x1b[0m"), "{coloured}");
    // Excepted findings are dimmed.
    assert!(
        coloured
            .lines()
            .any(|l| l.starts_with("\x1b[2m  excepted  HIPAA-K8S-TLS-LB")),
        "{coloured}"
    );
    // Without the escapes, the same text.
    let mut stripped = String::new();
    let mut rest = coloured.as_str();
    while let Some(at) = rest.find('\x1b') {
        stripped.push_str(&rest[..at]);
        let end = rest[at..].find('m').unwrap();
        rest = &rest[at + end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, plain);
}

#[test]
fn the_pointer_to_kubectl_hipaa_fix_shows_only_when_a_failure_has_an_automatic_fix() {
    let text = |manifest: &str| {
        let cli =
            Cli::try_parse_from(["kubectl-hipaa", "scan", "-f", "-", "--color", "never"]).unwrap();
        let mut out = Vec::new();
        run(&cli, &mut manifest.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    // A namespace whose pods get mesh mTLS and are isolated: only the pod's own fields decide.
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n  labels: {istio-injection: enabled}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: tools}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n---\n";
    let pod = |image: &str, host_pid: bool| {
        format!(
            "{namespace}apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: tools}}\nspec:\n  hostPID: {host_pid}\n  securityContext: {{runAsNonRoot: true}}\n  containers:\n  - name: c\n    image: {image}\n    securityContext: {{allowPrivilegeEscalation: false}}\n"
        )
    };
    // Only the image's registry fails: no automatic fix, no pointer.
    let unfixable = text(&pod("docker.io/library/nginx:1.25", false));
    assert!(
        unfixable.contains("HIPAA-K8S-IMAGE-REGISTRY"),
        "{unfixable}"
    );
    assert!(!unfixable.contains("kubectl hipaa fix"), "{unfixable}");
    // A host namespace is fixable: the pointer is there.
    let fixable = text(&pod("docker.io/library/nginx:1.25", true));
    assert!(
        fixable.contains("Automatic fixes: kubectl hipaa fix"),
        "{fixable}"
    );
}
