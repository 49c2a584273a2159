//! Velero installed after `hipaa-operator` started: a PHI namespace whose PVC nothing backs up
//! fails HIPAA-K8S-BACKUP, and once the Velero Schedule CRD and a Schedule that includes the
//! namespace exist, the operator finds the CRD on a later discovery round and the control passes,
//! without a restart. A test binary of its own: no other test may install the Velero CRD first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::time::Duration;

use hipaa_crds::{ControlResult, HipaaPolicy};
use hipaa_testkit::apply_yaml;
use operator_support::*;

fn backup(policy: &HipaaPolicy) -> Option<ControlResult> {
    control_result(policy, "HIPAA-K8S-BACKUP")
}

#[tokio::test]
async fn a_velero_schedule_installed_after_the_start_covers_the_namespace_without_a_restart() {
    let case = Case::governed("velero", "op-velero").await.unwrap();
    let claim = "apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
";
    case.apply(claim).await.unwrap();
    let operator = case
        .start_operator("operator-velero", &REDISCOVER_EVERY_SECOND)
        .await
        .unwrap();
    let uncovered = |p: &HipaaPolicy| backup(p).is_some_and(|r| r != ControlResult::Pass);
    let (name, _) = case
        .apply_policy_until(
            "",
            "without backup coverage",
            Duration::from_secs(30),
            uncovered,
        )
        .await
        .unwrap();

    let crd = minimal_crd("velero.io", "Schedule", "schedules");
    apply_yaml(&case.client, &crd).await.unwrap();
    let schedule = format!(
        "apiVersion: velero.io/v1
kind: Schedule
metadata: {{name: nightly}}
spec:
  schedule: '0 1 * * *'
  template: {{includedNamespaces: [{ns}]}}
",
        ns = case.ns
    );
    apply_once_served(&case.client, &case.ns, &schedule)
        .await
        .unwrap();

    operator
        .wait_policy(
            &case.client,
            &name,
            "covered by the Velero Schedule",
            Duration::from_secs(30),
            |p| backup(p) == Some(ControlResult::Pass),
        )
        .await
        .unwrap();
    assert!(
        operator.logged("the Velero Schedule CRD appeared"),
        "found by a later discovery round, not at the start"
    );
}
