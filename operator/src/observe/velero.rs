//! Velero `Schedule`s (velero.io/v1), read through the dynamic API: whether the CRD is installed,
//! and the namespaces each schedule backs up. A cluster without Velero simply has no schedules.

use hipaa_controls::context::BackupSchedule;
use hipaa_controls::object::kind::table;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, ResourceExt, discovery};

/// The Velero Schedule resource, when the API server serves it.
pub async fn discover(client: &Client) -> Result<Option<ApiResource>, kube::Error> {
    let row = &table::VELERO_SCHEDULE;
    let gvk = GroupVersionKind::gvk(row.group(), row.version(), row.kind);
    match discovery::pinned_kind(client, &gvk).await {
        Ok((resource, _)) => Ok(Some(resource)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(kube::Error::Discovery(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The namespaces a Schedule includes and excludes (`spec.template`).
pub fn backup_schedule(schedule: &DynamicObject) -> BackupSchedule {
    BackupSchedule::of(schedule.name_any(), schedule.data.get("spec"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_schedule_lists_its_included_and_excluded_namespaces() {
        let schedule: DynamicObject = yaml_serde::from_str(
            "
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: nightly, namespace: velero}
spec:
  schedule: '0 1 * * *'
  template:
    includedNamespaces: [billing, claims]
    excludedNamespaces: [scratch]
",
        )
        .unwrap();
        let parsed = backup_schedule(&schedule);
        assert_eq!(parsed.name, "nightly");
        assert_eq!(parsed.included_namespaces, ["billing", "claims"]);
        assert_eq!(parsed.excluded_namespaces, ["scratch"]);
    }

    #[test]
    fn a_schedule_without_a_template_includes_nothing_explicitly() {
        let schedule: DynamicObject = yaml_serde::from_str(
            "apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: x}\nspec: {}\n",
        )
        .unwrap();
        assert!(backup_schedule(&schedule).included_namespaces.is_empty());
    }
}
