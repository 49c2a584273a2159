//! Velero `Schedule`s (velero.io/v1), read through the dynamic API: whether the CRD is installed,
//! and the namespaces each schedule backs up. A cluster without Velero simply has no schedules.

use hipaa_controls::context::BackupSchedule;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Client, ResourceExt, discovery};

/// The Velero Schedule resource, when the API server serves it.
pub async fn discover(client: &Client) -> Result<Option<ApiResource>, kube::Error> {
    let gvk = GroupVersionKind::gvk("velero.io", "v1", "Schedule");
    match discovery::pinned_kind(client, &gvk).await {
        Ok((resource, _)) => Ok(Some(resource)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(kube::Error::Discovery(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The namespaces a Schedule includes and excludes (`spec.template`).
pub fn backup_schedule(schedule: &DynamicObject) -> BackupSchedule {
    let template = schedule
        .data
        .get("spec")
        .and_then(|spec| spec.get("template"));
    let list = |field: &str| -> Vec<String> {
        template
            .and_then(|t| t.get(field))
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    BackupSchedule {
        name: schedule.name_any(),
        included_namespaces: list("includedNamespaces"),
        excluded_namespaces: list("excludedNamespaces"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_schedule_lists_its_included_and_excluded_namespaces() {
        let schedule: DynamicObject = serde_yaml::from_str(
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
        let schedule: DynamicObject = serde_yaml::from_str(
            "apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: x}\nspec: {}\n",
        )
        .unwrap();
        assert!(backup_schedule(&schedule).included_namespaces.is_empty());
    }
}
