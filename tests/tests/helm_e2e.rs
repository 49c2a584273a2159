//! The Helm chart (charts/hipaa-guard) against the real helm and the real API server: it lints
//! strictly and deploy/hipaa-guard.yaml is its current rendering (here); it renders a safe
//! installation, the same every time, and refuses unsafe or removed values (rendering.rs); admission
//! is the operator's to register, with flags that match the values (admission.rs); the API server
//! accepts default and non-default renderings (variants.rs); a release installs, upgrades and
//! uninstalls (release.rs); the CRD upgrades (crd_upgrade.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "helm_e2e/admission.rs"]
mod admission;
#[path = "helm_e2e/checks.rs"]
mod checks;
#[path = "helm_e2e/crd_upgrade.rs"]
mod crd_upgrade;
#[path = "helm_e2e/release.rs"]
mod release;
#[path = "helm_e2e/render.rs"]
mod render;
#[path = "helm_e2e/rendering.rs"]
mod rendering;
#[path = "helm_e2e/variants.rs"]
mod variants;

use std::process::Command;

use hipaa_testkit::run;

use render::repo_root;

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
            "--set",
            "prometheusRule.enabled=true",
            "--set",
            "grafanaDashboard.enabled=true",
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
    // The committed rendering is deterministic (cert-manager mode): no key material in git, and
    // the operator registers the CA of the Secret cert-manager writes.
    assert!(
        !committed.contains("PRIVATE KEY"),
        "deploy/hipaa-guard.yaml holds a private key"
    );
    let mut expected = admission::Expected::defaults("hipaa-guard");
    expected.certificates = admission::Certificates::CertManager;
    admission::operator_registers(&render::documents(&committed).unwrap(), &expected);
}

/// The tests of variants, release and crd_upgrade apply the release's cluster-scoped objects
/// (ClusterRoles, the ValidatingAdmissionPolicy, the CRD) under the same names: one's uninstall
/// must not race the other's apply. None installs the CRD apart from the chart: helm would refuse
/// to adopt it.
static CLUSTER_SCOPED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
