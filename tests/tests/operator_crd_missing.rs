//! `hipaa-operator` against a control plane without the HipaaPolicy CRD: a clear error and a
//! non-zero exit. A test binary of its own, because the others install the CRD into theirs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;
use std::time::Duration;

use hipaa_testkit::{cargo_bin, control_plane, free_port, run_with_timeout};

#[tokio::test]
async fn the_operator_exits_with_a_clear_error_when_the_crd_is_missing() {
    let plane = control_plane().await.unwrap();
    let mut cmd = Command::new(cargo_bin("hipaa-operator"));
    cmd.arg("--admin-listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .env("KUBECONFIG", plane.kubeconfig());
    let out = tokio::task::spawn_blocking(move || {
        run_with_timeout(&mut cmd, None, Duration::from_secs(60))
    })
    .await
    .unwrap()
    .unwrap();
    assert_ne!(out.status, 0, "{out}");
    assert!(
        out.stderr.contains(
            "the HipaaPolicy CRD is not installed: helm upgrade --install the chart \
             (crds.install=true), or kubectl apply --server-side -f \
             charts/hipaa-guard/files/hipaaguard.io_hipaapolicies.yaml"
        ),
        "{out}"
    );
}
