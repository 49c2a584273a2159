//! What AWS data linking reads from the cluster besides the governed objects: the IAM role each
//! in-scope ServiceAccount names (IRSA), and the EFS file system each EFS StorageClass
//! provisions on. Read from the caches once per observation, so linking stays a plain function.

use std::collections::{BTreeMap, BTreeSet};

use hipaa_controls::aws::IRSA_ROLE_ANNOTATION;
use hipaa_controls::context::ContextObjects;

/// The EFS CSI driver.
pub const EFS_CSI_DRIVER: &str = "efs.csi.aws.com";
/// The EFS StorageClass parameter naming the file system access points are made on.
pub const EFS_FILE_SYSTEM_PARAMETER: &str = "fileSystemId";

/// The cluster facts AWS data linking reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsInputs {
    /// (namespace, ServiceAccount) → the role ARN of its `eks.amazonaws.com/role-arn`, for the
    /// in-scope namespaces.
    pub service_account_roles: BTreeMap<(String, String), String>,
    /// StorageClass name → the EFS file system it provisions on (dynamic provisioning).
    pub efs_storage_classes: BTreeMap<String, String>,
}

impl AwsInputs {
    /// The inputs of the namespaces in `scope`.
    pub fn of(context: &ContextObjects, scope: &BTreeSet<String>) -> AwsInputs {
        let service_account_roles = context
            .rbac
            .service_accounts
            .iter()
            .filter_map(|account| {
                let namespace = account.metadata.namespace.as_deref()?;
                if !scope.contains(namespace) {
                    return None;
                }
                let role = account
                    .metadata
                    .annotations
                    .as_ref()?
                    .get(IRSA_ROLE_ANNOTATION)?
                    .trim();
                let name = account.metadata.name.as_deref()?;
                (!role.is_empty())
                    .then(|| ((namespace.to_string(), name.to_string()), role.to_string()))
            })
            .collect();
        let efs_storage_classes = context
            .storage_classes
            .iter()
            .filter(|class| class.provisioner == EFS_CSI_DRIVER)
            .filter_map(|class| {
                let file_system = class
                    .parameters
                    .as_ref()?
                    .get(EFS_FILE_SYSTEM_PARAMETER)?
                    .trim();
                let name = class.metadata.name.as_deref()?;
                (!file_system.is_empty()).then(|| (name.to_string(), file_system.to_string()))
            })
            .collect();
        AwsInputs {
            service_account_roles,
            efs_storage_classes,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use std::sync::Arc;

    use super::*;

    #[test]
    fn reads_roles_in_scope_and_efs_classes() {
        let mut context = ContextObjects::default();
        for (namespace, name, role) in [
            (
                "billing",
                "api",
                Some(" arn:aws:iam::123456789012:role/billing "),
            ),
            ("billing", "plain", None),
            ("other", "api", Some("arn:aws:iam::123456789012:role/other")),
        ] {
            let mut value = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace}});
            if let Some(role) = role {
                value["metadata"]["annotations"] = serde_json::json!({IRSA_ROLE_ANNOTATION: role});
            }
            context
                .rbac
                .service_accounts
                .push(Arc::new(serde_json::from_value(value).unwrap()));
        }
        for (name, provisioner, parameters) in [
            (
                "efs",
                EFS_CSI_DRIVER,
                serde_json::json!({"fileSystemId": "fs-0abc"}),
            ),
            (
                "gp3",
                "ebs.csi.aws.com",
                serde_json::json!({"encrypted": "true"}),
            ),
        ] {
            context.storage_classes.push(Arc::new(
                serde_json::from_value(serde_json::json!({"apiVersion": "storage.k8s.io/v1",
                    "kind": "StorageClass", "metadata": {"name": name},
                    "provisioner": provisioner, "parameters": parameters}))
                .unwrap(),
            ));
        }
        let scope = BTreeSet::from(["billing".to_string()]);
        let inputs = AwsInputs::of(&context, &scope);
        assert_eq!(
            inputs.service_account_roles,
            BTreeMap::from([(
                ("billing".to_string(), "api".to_string()),
                "arn:aws:iam::123456789012:role/billing".to_string()
            )])
        );
        assert_eq!(
            inputs.efs_storage_classes,
            BTreeMap::from([("efs".to_string(), "fs-0abc".to_string())])
        );
    }
}
