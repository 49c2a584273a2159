//! The HipaaPolicy CRD across a release's life: the chart renders the generated CRD as a template
//! with the keep policy; a release that installed it from `crds/` is adopted with the documented
//! step; `helm upgrade` to a chart whose CRD gained a field makes the API server accept that field;
//! `helm uninstall` leaves the CRD and every HipaaPolicy in place (docs/upgrades.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hipaa_testkit::{CmdOutput, ControlPlane, control_plane, fresh_namespace, run, wait_for};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use super::render::{chart_dir, documents, object, of_kind, repo_root, template};

const CRD: &str = "hipaapolicies.hipaaguard.io";
/// The field the changed chart adds to `spec` of its CRD.
const NEW_FIELD: &str = "reviewTicket";
/// Its own release name, so that its cluster-scoped objects never meet the other tests' release.
const RELEASE: &str = "hipaa-guard-crd";

/// The generated CRD's path inside the chart.
fn crd_file() -> &'static str {
    hipaa_crds::CRD_PATH
        .strip_prefix("charts/hipaa-guard/")
        .expect("the CRD is generated into the chart")
}

#[test]
fn the_chart_renders_the_generated_crd_with_the_keep_policy() {
    let docs = documents(&template("hipaa-guard", "hipaa-guard", &[]).unwrap()).unwrap();
    let crd = object(&docs, "CustomResourceDefinition", CRD);
    assert_eq!(
        crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep",
        "helm uninstall must not delete every HipaaPolicy"
    );
    assert_eq!(
        crd["metadata"]["labels"]["app.kubernetes.io/instance"],
        "hipaa-guard"
    );
    let generated: Value = yaml_serde::from_str(
        &std::fs::read_to_string(repo_root().join(hipaa_crds::CRD_PATH)).unwrap(),
    )
    .unwrap();
    assert_eq!(crd["apiVersion"], generated["apiVersion"]);
    // helm's fromYaml/toYaml turn `minimum: 0.0` into `minimum: 0`: the same number to the API server.
    assert!(
        numbers_as_floats(&crd["spec"]) == numbers_as_floats(&generated["spec"]),
        "the rendered CRD's spec differs from {}",
        hipaa_crds::CRD_PATH
    );

    let opted_out = template(
        "hipaa-guard",
        "hipaa-guard",
        &["--set", "crds.install=false"],
    );
    let opted_out = documents(&opted_out.unwrap()).unwrap();
    // The PolicyReport CRDs of `crds/` stay (Helm installs them only when absent).
    let names: Vec<&str> = of_kind(&opted_out, "CustomResourceDefinition")
        .iter()
        .filter_map(|crd| crd["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "clusterpolicyreports.wgpolicyk8s.io",
            "policyreports.wgpolicyk8s.io"
        ],
        "crds.install=false leaves the HipaaPolicy CRD out"
    );
}

#[tokio::test]
async fn helm_upgrade_updates_the_crd_and_uninstall_keeps_it() {
    let _serial = super::CLUSTER_SCOPED.lock().await;
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    // Whatever test of this binary ran before, start from a cluster without the CRD.
    delete_crd(&crds).await;
    let namespace = fresh_namespace(&client, "helm-crd", &[]).await.unwrap();
    let charts = tempfile::tempdir().unwrap();
    let legacy = legacy_chart(charts.path());
    let changed = changed_chart(charts.path());
    // No pods run here and no webhook answers: leave admission out, it is not under test.
    let helm = |verb: &str, chart: &Path, extra: &[&str]| {
        let mut cmd = cp.helm();
        cmd.arg(verb)
            .arg(RELEASE)
            .arg(chart)
            .args([
                "--namespace",
                &namespace,
                "--set",
                "admission.enabled=false",
            ])
            .args(extra);
        run(&mut cmd, None).unwrap()
    };

    // ---- a release of the chart as it was: the CRD from crds/, never upgraded by Helm ----------
    let install = helm("install", &legacy, &[]);
    assert!(
        install.success(),
        "helm install (CRD in crds/) failed:\n{install}"
    );
    let kept = policy_yaml("kept-across-upgrades", None);
    let created = apply_strict(cp, &kept);
    assert!(created.success(), "{created}");

    // ---- upgrading it to this chart: refused until the documented adoption step ---------------
    let refused = helm("upgrade", &chart_dir(), &[]);
    assert!(
        !refused.success() && refused.stderr.contains("invalid ownership metadata"),
        "helm upgrade should refuse the CRD it did not create:\n{refused}"
    );
    adopt_crd(cp, &namespace);
    let upgrade = helm("upgrade", &chart_dir(), &[]);
    assert!(
        upgrade.success(),
        "helm upgrade after adoption failed:\n{upgrade}"
    );
    let crd = crds.get(CRD).await.unwrap();
    let annotations = crd.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations
            .get("helm.sh/resource-policy")
            .map(String::as_str),
        Some("keep"),
        "{annotations:?}"
    );

    // ---- helm upgrade to a chart whose CRD has a new field -------------------------------------
    let with_field = policy_yaml("uses-the-new-field", Some("SEC-1234"));
    let before = apply_strict(cp, &with_field);
    assert!(
        !before.success() && before.stderr.contains(NEW_FIELD),
        "the field is unknown before the upgrade, strict validation must refuse it:\n{before}"
    );
    let upgrade = helm("upgrade", &changed, &[]);
    assert!(
        upgrade.success(),
        "helm upgrade to the changed CRD failed:\n{upgrade}"
    );
    let crd = serde_json::to_value(crds.get(CRD).await.unwrap()).unwrap();
    assert!(
        spec_properties(&crd).get(NEW_FIELD).is_some(),
        "the cluster's CRD lacks {NEW_FIELD} after the upgrade"
    );
    // The API server rebuilds its handler for the CRD right after the update.
    wait_for(
        "the API server to accept the new field",
        Duration::from_secs(30),
        || async {
            let out = apply_strict(cp, &with_field);
            if out.success() {
                Ok(Some(()))
            } else {
                Err(anyhow::anyhow!("{out}"))
            }
        },
    )
    .await
    .unwrap();
    let field = kubectl(
        cp,
        &[
            "get",
            "hipaapolicy",
            "uses-the-new-field",
            "-o",
            &format!("jsonpath={{.spec.{NEW_FIELD}}}"),
        ],
    );
    assert_eq!(field.stdout, "SEC-1234", "the field was pruned:\n{field}");
    expect_policies(cp);

    // ---- helm uninstall keeps the CRD and every HipaaPolicy ------------------------------------
    let uninstalled = uninstall(cp, &namespace);
    assert!(
        uninstalled.stdout.contains(CRD),
        "helm names the CRD it kept:\n{uninstalled}"
    );
    assert!(
        crds.get_opt(CRD).await.unwrap().is_some(),
        "helm uninstall deleted the CRD"
    );
    expect_policies(cp);

    // ---- installing again (same release and namespace) adopts the kept CRD --------------------
    let again = helm("install", &changed, &[]);
    assert!(
        again.success(),
        "reinstall over the kept CRD failed:\n{again}"
    );

    // ---- crds.install=false hands the CRD over: the upgrade leaves it as it is -----------------
    let opt_out = helm("upgrade", &changed, &["--set", "crds.install=false"]);
    assert!(
        opt_out.success(),
        "helm upgrade with crds.install=false failed:\n{opt_out}"
    );
    let crd = serde_json::to_value(crds.get(CRD).await.unwrap()).unwrap();
    assert!(
        spec_properties(&crd).get(NEW_FIELD).is_some(),
        "the upgrade with crds.install=false deleted or changed the CRD"
    );
    uninstall(cp, &namespace);
    assert!(crds.get_opt(CRD).await.unwrap().is_some());
    expect_policies(cp);

    // The other tests of this binary install the chart under other names: leave no CRD behind.
    delete_crd(&crds).await;
}

#[track_caller]
fn uninstall(cp: &ControlPlane, namespace: &str) -> CmdOutput {
    let out = run(
        cp.helm()
            .args(["uninstall", RELEASE, "--namespace", namespace]),
        None,
    )
    .unwrap();
    assert!(out.success(), "helm uninstall failed:\n{out}");
    out
}

/// The chart as it was before its CRD became a template: the generated file in `crds/`.
fn legacy_chart(dir: &Path) -> PathBuf {
    let chart = copy_chart(dir, "legacy");
    std::fs::remove_dir_all(chart.join("templates/crds")).unwrap();
    std::fs::create_dir_all(chart.join("crds")).unwrap();
    std::fs::rename(
        chart.join(crd_file()),
        chart.join("crds/hipaaguard.io_hipaapolicies.yaml"),
    )
    .unwrap();
    chart
}

/// This chart with one more field, `spec.reviewTicket` (a string), in its CRD.
fn changed_chart(dir: &Path) -> PathBuf {
    let chart = copy_chart(dir, "changed");
    let path = chart.join(crd_file());
    let mut crd: Value = yaml_serde::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        [NEW_FIELD] =
        json!({"type": "string", "description": "The change ticket of the last review."});
    std::fs::write(&path, yaml_serde::to_string(&crd).unwrap()).unwrap();
    chart
}

fn copy_chart(dir: &Path, name: &str) -> PathBuf {
    let chart = dir.join(name);
    let out = run(
        Command::new("cp").arg("-R").arg(chart_dir()).arg(&chart),
        None,
    )
    .unwrap();
    assert!(out.success(), "{out}");
    chart
}

/// The adoption step of docs/upgrades.md: the ownership metadata Helm checks before it takes over
/// an object it did not create.
fn adopt_crd(cp: &ControlPlane, namespace: &str) {
    let label = kubectl(
        cp,
        &[
            "label",
            "crd",
            CRD,
            "app.kubernetes.io/managed-by=Helm",
            "--overwrite",
        ],
    );
    assert!(label.success(), "{label}");
    let annotate = kubectl(
        cp,
        &[
            "annotate",
            "crd",
            CRD,
            &format!("meta.helm.sh/release-name={RELEASE}"),
            &format!("meta.helm.sh/release-namespace={namespace}"),
            "--overwrite",
        ],
    );
    assert!(annotate.success(), "{annotate}");
}

fn policy_yaml(name: &str, ticket: Option<&str>) -> String {
    let ticket = ticket
        .map(|t| format!("  {NEW_FIELD}: {t}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata:\n  name: {name}\nspec:\n  \
         enforcement: Audit\n  namespaceSelector:\n    matchLabels: {{hipaaguard.io/helm-crd-e2e: none}}\n{ticket}"
    )
}

/// `kubectl apply` with strict server-side field validation: an unknown field is an error, not a
/// warning and a pruned field.
fn apply_strict(cp: &ControlPlane, yaml: &str) -> CmdOutput {
    run(
        cp.kubectl().args(["apply", "--validate=strict", "-f", "-"]),
        Some(yaml),
    )
    .unwrap()
}

fn kubectl(cp: &ControlPlane, args: &[&str]) -> CmdOutput {
    run(cp.kubectl().args(args), None).unwrap()
}

#[track_caller]
fn expect_policies(cp: &ControlPlane) {
    let out = kubectl(cp, &["get", "hipaapolicies", "-o", "name"]);
    assert!(out.success(), "{out}");
    for name in ["kept-across-upgrades", "uses-the-new-field"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l == format!("hipaapolicy.hipaaguard.io/{name}")),
            "HipaaPolicy {name} is gone:\n{out}"
        );
    }
}

fn spec_properties(crd: &Value) -> &serde_json::Map<String, Value> {
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        .as_object()
        .expect("the CRD's spec has properties")
}

/// Deletes the CRD (and with it every HipaaPolicy) and waits until it is gone.
async fn delete_crd(crds: &Api<CustomResourceDefinition>) {
    match crds.delete(CRD, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(err) => panic!("deleting CRD {CRD}: {err}"),
    }
    wait_for(
        &format!("CRD {CRD} to be deleted"),
        Duration::from_secs(60),
        || async { Ok(crds.get_opt(CRD).await?.is_none().then_some(())) },
    )
    .await
    .unwrap();
}

/// Every number as a float, so that `0` and `0.0` compare equal.
fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_floats).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
