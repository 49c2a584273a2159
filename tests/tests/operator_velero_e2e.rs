//! Velero installed after `hipaa-operator` started: a PHI namespace whose PVC nothing backs up
//! fails HIPAA-K8S-BACKUP, and once the Velero Schedule CRD and a Schedule that includes the
//! namespace exist, the operator finds the CRD on a later discovery round and the control passes,
//! without a restart. A test binary of its own: no other test may install the Velero CRD first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::time::Duration;

use hipaa_crds::{ControlResult, HipaaPolicy};
use hipaa_testkit::{apply_yaml, apply_yaml_in};
use operator_support::*;

fn backup(policy: &HipaaPolicy) -> Option<ControlResult> {
    let status = policy.status.as_ref()?;
    let control = status
        .controls
        .iter()
        .find(|c| c.id == "HIPAA-K8S-BACKUP")?;
    Some(control.result)
}

#[tokio::test]
async fn a_velero_schedule_installed_after_the_start_covers_the_namespace_without_a_restart() {
    let Case {
        plane,
        client,
        case,
        ns,
    } = Case::governed("velero", "op-velero").await.unwrap();
    let claim = "apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
";
    apply_yaml_in(&client, &ns, claim).await.unwrap();
    let operator = Operator::start(
        plane,
        &case,
        "operator-velero",
        &["--integration-rediscovery", "1s"],
    )
    .await
    .unwrap();
    let name = format!("{case}-policy");
    apply_yaml(&client, &policy_yaml(&name, &case, ""))
        .await
        .unwrap();
    let uncovered = |p: &HipaaPolicy| backup(p).is_some_and(|r| r != ControlResult::Pass);
    wait_policy(
        &client,
        &name,
        "without backup coverage",
        Duration::from_secs(30),
        uncovered,
    )
    .await
    .unwrap();

    let crd = minimal_crd("velero.io", "Schedule", "schedules");
    apply_yaml(&client, &crd).await.unwrap();
    let schedule = format!(
        "apiVersion: velero.io/v1
kind: Schedule
metadata: {{name: nightly}}
spec:
  schedule: '0 1 * * *'
  template: {{includedNamespaces: [{ns}]}}
"
    );
    apply_once_served(&client, &ns, &schedule).await.unwrap();

    wait_policy(
        &client,
        &name,
        "covered by the Velero Schedule",
        Duration::from_secs(30),
        |p| backup(p) == Some(ControlResult::Pass),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\noperator log:\n{}", operator.guard.log_tail(60)));
    assert!(
        operator
            .guard
            .log_contents()
            .contains("the Velero Schedule CRD appeared"),
        "found by a later discovery round, not at the start"
    );
}
