//! What the product lets out on a cluster, gathered for the leak check: Events (both APIs, every
//! namespace), the HipaaPolicy as stored, `kubectl hipaa status` and `report` in every format,
//! `scan --cluster` in every format; and the seeded objects read back (the positive control).

use std::path::Path;

use hipaa_testkit::{ControlPlane, run};
use kube::api::ListParams;
use kube::{Api, Client};

use super::canaries::{Canaries, Sinks};
use super::files::{add_output, assert_scan_saw_the_objects, kubectl_hipaa, scan_every_format};

/// The seeded objects and the namespace, as the API server returns them: every canary is there
/// (the Secret's in base64), or the test seeded nothing and proves nothing.
pub fn assert_seeded(plane: &ControlPlane, canaries: &Canaries, ns: &str) {
    let mut cmd = plane.kubectl();
    cmd.args([
        "get",
        "secret/billing-db",
        "configmap/billing-config",
        "deployment/billing-api",
        "pod/intake",
        "service/public",
        "ingress/portal",
        "-n",
        ns,
        "-o",
        "json",
    ]);
    let objects = run(&mut cmd, None).unwrap();
    assert_eq!(objects.status, 0, "{objects}");
    let mut cmd = plane.kubectl();
    cmd.args(["get", "namespace", ns, "-o", "json"]);
    let namespace = run(&mut cmd, None).unwrap();
    assert_eq!(namespace.status, 0, "{namespace}");
    let mut found = canaries.found_in(&format!("{}{}", objects.stdout, namespace.stdout));
    found.sort_unstable();
    let mut seeded: Vec<&str> = canaries.all.iter().map(|c| c.role).collect();
    seeded.sort_unstable();
    assert_eq!(found, seeded, "every canary is stored in the cluster");
}

/// Every Event in the cluster (events.k8s.io/v1 and core/v1), as JSON.
pub async fn events(client: &Client) -> String {
    let new = Api::<k8s_openapi::api::events::v1::Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let core = Api::<k8s_openapi::api::core::v1::Event>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    format!(
        "{}\n{}",
        serde_json::to_string_pretty(&new.items).unwrap(),
        serde_json::to_string_pretty(&core.items).unwrap()
    )
}

/// `kubectl hipaa status` (table, json, yaml) and `report` (markdown, html, json) of `policy`.
/// The report names the audited objects (its inventory): the positive control that it read them.
pub fn status_and_report(plane: &ControlPlane, sinks: &mut Sinks, policy: &str) {
    let kubeconfig = plane.kubeconfig().to_str().unwrap();
    for format in ["table", "json", "yaml"] {
        let out = run(
            &mut kubectl_hipaa(&[
                "--kubeconfig",
                kubeconfig,
                "status",
                "--policy",
                policy,
                "-o",
                format,
                "--color",
                "never",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(out.status, 0, "{out}");
        assert!(out.stdout.contains(policy), "{out}");
        add_output(sinks, &format!("status -o {format}"), &out);
    }
    for format in ["markdown", "html", "json"] {
        let out = run(
            &mut kubectl_hipaa(&[
                "--kubeconfig",
                kubeconfig,
                "report",
                "--policy",
                policy,
                "-o",
                format,
            ]),
            None,
        )
        .unwrap();
        assert_eq!(out.status, 0, "{out}");
        assert!(
            out.stdout.contains("billing-api") && out.stdout.contains("DB_PASSWORD"),
            "the report names the Deployment and its credential variable:\n{out}"
        );
        add_output(sinks, &format!("report -o {format}"), &out);
    }
}

/// `kubectl hipaa scan --cluster` of the seeded objects' manifest in every format.
pub fn scan_against_the_cluster(
    plane: &ControlPlane,
    sinks: &mut Sinks,
    canaries: &Canaries,
    ns: &str,
    dir: &Path,
) {
    let file = dir.join("objects.yaml");
    std::fs::write(&file, canaries.objects(ns)).unwrap();
    let kubeconfig = plane.kubeconfig().to_str().unwrap();
    let json = scan_every_format(
        sinks,
        "scan --cluster",
        &file,
        &["--cluster", "--kubeconfig", kubeconfig],
    );
    assert_scan_saw_the_objects(&json);
}
