//! Which StorageClass a claim gets, and whether that class encrypts at rest: the evidence that
//! HIPAA-K8S-VOLUME-ENCRYPTION and HIPAA-K8S-BACKUP share.

use k8s_openapi::api::storage::v1::StorageClass;

use crate::context::ClusterContext;

/// The outcome of resolving a claim's StorageClass.
pub(crate) enum ClassLookup<'a> {
    Found(&'a StorageClass),
    /// Not resolvable from what the object says (a failure of the claim).
    Problem(String),
    /// Not resolvable from what the context holds (cannot evaluate).
    Unknown(String),
}

/// The StorageClass a claim with `class_name` binds: the named one, or the default class when
/// the name is absent. `""` explicitly asks for a pre-provisioned volume without class.
pub(crate) fn class_for_claim<'a>(
    ctx: &'a ClusterContext,
    class_name: Option<&str>,
) -> ClassLookup<'a> {
    match class_name {
        Some("") => ClassLookup::Problem(
            "sets storageClassName \"\" and so binds a pre-provisioned volume whose encryption cannot be verified"
                .to_string(),
        ),
        _ if !ctx.completeness.storage_classes => {
            ClassLookup::Unknown("the cluster's StorageClasses are not known".to_string())
        }
        Some(name) => match ctx.storage_class(name) {
            Some(class) => ClassLookup::Found(class),
            None => ClassLookup::Unknown(format!("StorageClass {name} is not known")),
        },
        None => match ctx.default_storage_class() {
            Some(class) => ClassLookup::Found(class),
            None => ClassLookup::Problem(
                "has no storageClassName and the cluster has no default StorageClass".to_string(),
            ),
        },
    }
}

/// Why `class` does not encrypt its volumes, or None when it does: at rest for EBS; for EFS the
/// `tls` mount option, encryption in transit, is all a StorageClass can show (the file system's
/// encryption at rest is HIPAA-EFS-ENCRYPTION's, judged on the file system in audits).
pub(crate) fn encryption_problem(class: &StorageClass) -> Option<String> {
    let name = class.metadata.name.as_deref().unwrap_or("");
    let parameter = |key: &str| {
        class
            .parameters
            .as_ref()
            .and_then(|p| p.get(key))
            .map(String::as_str)
    };
    match class.provisioner.as_str() {
        "ebs.csi.aws.com" | "kubernetes.io/aws-ebs" => {
            if parameter("encrypted").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                None
            } else {
                Some(format!(
                    "StorageClass {name}, which does not set encrypted: \"true\""
                ))
            }
        }
        "efs.csi.aws.com" => {
            if class.mount_options.iter().flatten().any(|o| o == "tls") {
                None
            } else {
                Some(format!(
                    "StorageClass {name}, which does not mount EFS with the tls option (encryption in transit)"
                ))
            }
        }
        other => Some(format!(
            "StorageClass {name}, whose provisioner {other} HIPAA Guard cannot verify as encrypted"
        )),
    }
}

/// The EBS CSI tag keys that mark a volume for an AWS Backup plan.
const BACKUP_TAG_KEYS: &[&str] = &["backup", "aws-backup", "aws-backup-plan"];

/// Whether the class tags its volumes for AWS Backup: a `tagSpecification_N` parameter whose key
/// is one of BACKUP_TAG_KEYS (case-insensitive) and whose value is not false/none/empty.
pub(crate) fn tags_for_aws_backup(class: &StorageClass) -> bool {
    class.parameters.iter().flatten().any(|(key, value)| {
        if !key.to_ascii_lowercase().starts_with("tagspecification_") {
            return false;
        }
        let Some((tag, tag_value)) = value.split_once('=') else {
            return false;
        };
        let tag_value = tag_value.trim();
        BACKUP_TAG_KEYS
            .iter()
            .any(|k| tag.trim().eq_ignore_ascii_case(k))
            && !tag_value.is_empty()
            && !tag_value.eq_ignore_ascii_case("false")
            && !tag_value.eq_ignore_ascii_case("none")
    })
}
