//! How a failed AWS SDK call becomes a [`LookupError`]: the service's error code and message
//! when AWS answered, a stable code of our own when it did not (timeout, no connection), and the
//! IAM action of the call, so that an AccessDenied names the permission the operator lacks.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use hipaa_controls::aws::LookupError;

/// The IAM actions the collectors call, exactly as `docs/aws-iam.md` grants them.
pub mod actions {
    pub const EKS_DESCRIBE_CLUSTER: &str = "eks:DescribeCluster";
    pub const EKS_LIST_ACCESS_ENTRIES: &str = "eks:ListAccessEntries";
    pub const EKS_DESCRIBE_ACCESS_ENTRY: &str = "eks:DescribeAccessEntry";
    pub const EKS_LIST_ASSOCIATED_ACCESS_POLICIES: &str = "eks:ListAssociatedAccessPolicies";
    pub const ECR_DESCRIBE_REPOSITORIES: &str = "ecr:DescribeRepositories";
    pub const ECR_GET_REGISTRY_SCANNING_CONFIGURATION: &str =
        "ecr:GetRegistryScanningConfiguration";
    pub const ECR_DESCRIBE_IMAGE_SCAN_FINDINGS: &str = "ecr:DescribeImageScanFindings";
    pub const SM_DESCRIBE_SECRET: &str = "secretsmanager:DescribeSecret";
    pub const SM_LIST_SECRETS: &str = "secretsmanager:ListSecrets";
    pub const KMS_DESCRIBE_KEY: &str = "kms:DescribeKey";
    pub const KMS_GET_KEY_ROTATION_STATUS: &str = "kms:GetKeyRotationStatus";
    pub const EKS_LIST_POD_IDENTITY_ASSOCIATIONS: &str = "eks:ListPodIdentityAssociations";
    pub const EKS_DESCRIBE_POD_IDENTITY_ASSOCIATION: &str = "eks:DescribePodIdentityAssociation";
    pub const IAM_GET_ROLE: &str = "iam:GetRole";
    pub const IAM_LIST_ATTACHED_ROLE_POLICIES: &str = "iam:ListAttachedRolePolicies";
    pub const IAM_GET_POLICY: &str = "iam:GetPolicy";
    pub const IAM_GET_POLICY_VERSION: &str = "iam:GetPolicyVersion";
    pub const IAM_LIST_ROLE_POLICIES: &str = "iam:ListRolePolicies";
    pub const IAM_GET_ROLE_POLICY: &str = "iam:GetRolePolicy";
    /// ListBuckets.
    pub const S3_LIST_ALL_MY_BUCKETS: &str = "s3:ListAllMyBuckets";
    pub const S3_GET_BUCKET_LOCATION: &str = "s3:GetBucketLocation";
    /// GetBucketEncryption.
    pub const S3_GET_ENCRYPTION_CONFIGURATION: &str = "s3:GetEncryptionConfiguration";
    pub const S3_GET_BUCKET_POLICY: &str = "s3:GetBucketPolicy";
    /// GetPublicAccessBlock.
    pub const S3_GET_BUCKET_PUBLIC_ACCESS_BLOCK: &str = "s3:GetBucketPublicAccessBlock";
    pub const S3_GET_BUCKET_ACL: &str = "s3:GetBucketAcl";
    pub const S3_GET_BUCKET_VERSIONING: &str = "s3:GetBucketVersioning";
    /// GetObjectLockConfiguration.
    pub const S3_GET_BUCKET_OBJECT_LOCK_CONFIGURATION: &str = "s3:GetBucketObjectLockConfiguration";
    pub const RDS_DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
    pub const RDS_DESCRIBE_DB_CLUSTERS: &str = "rds:DescribeDBClusters";
    pub const RDS_DESCRIBE_DB_PARAMETERS: &str = "rds:DescribeDBParameters";
    pub const RDS_DESCRIBE_DB_CLUSTER_PARAMETERS: &str = "rds:DescribeDBClusterParameters";
    pub const DYNAMODB_LIST_TABLES: &str = "dynamodb:ListTables";
    pub const DYNAMODB_DESCRIBE_TABLE: &str = "dynamodb:DescribeTable";
    pub const DYNAMODB_DESCRIBE_CONTINUOUS_BACKUPS: &str = "dynamodb:DescribeContinuousBackups";
    pub const ELB_DESCRIBE_LOAD_BALANCERS: &str = "elasticloadbalancing:DescribeLoadBalancers";
    pub const ELB_DESCRIBE_TAGS: &str = "elasticloadbalancing:DescribeTags";
    pub const ELB_DESCRIBE_LISTENERS: &str = "elasticloadbalancing:DescribeListeners";
    pub const EFS_DESCRIBE_FILE_SYSTEMS: &str = "elasticfilesystem:DescribeFileSystems";
    pub const CLOUDTRAIL_DESCRIBE_TRAILS: &str = "cloudtrail:DescribeTrails";
    pub const CLOUDTRAIL_GET_TRAIL_STATUS: &str = "cloudtrail:GetTrailStatus";
    pub const LOGS_DESCRIBE_LOG_GROUPS: &str = "logs:DescribeLogGroups";
    pub const GUARDDUTY_LIST_DETECTORS: &str = "guardduty:ListDetectors";
    pub const GUARDDUTY_GET_DETECTOR: &str = "guardduty:GetDetector";
    pub const EC2_GET_EBS_ENCRYPTION_BY_DEFAULT: &str = "ec2:GetEbsEncryptionByDefault";

    /// Every action, in the order the IAM document lists them.
    pub const ALL: &[&str] = &[
        EKS_DESCRIBE_CLUSTER,
        EKS_LIST_ACCESS_ENTRIES,
        EKS_DESCRIBE_ACCESS_ENTRY,
        EKS_LIST_ASSOCIATED_ACCESS_POLICIES,
        EKS_LIST_POD_IDENTITY_ASSOCIATIONS,
        EKS_DESCRIBE_POD_IDENTITY_ASSOCIATION,
        ECR_DESCRIBE_REPOSITORIES,
        ECR_GET_REGISTRY_SCANNING_CONFIGURATION,
        ECR_DESCRIBE_IMAGE_SCAN_FINDINGS,
        SM_DESCRIBE_SECRET,
        SM_LIST_SECRETS,
        KMS_DESCRIBE_KEY,
        KMS_GET_KEY_ROTATION_STATUS,
        IAM_GET_ROLE,
        IAM_LIST_ATTACHED_ROLE_POLICIES,
        IAM_GET_POLICY,
        IAM_GET_POLICY_VERSION,
        IAM_LIST_ROLE_POLICIES,
        IAM_GET_ROLE_POLICY,
        S3_LIST_ALL_MY_BUCKETS,
        S3_GET_BUCKET_LOCATION,
        S3_GET_ENCRYPTION_CONFIGURATION,
        S3_GET_BUCKET_POLICY,
        S3_GET_BUCKET_PUBLIC_ACCESS_BLOCK,
        S3_GET_BUCKET_ACL,
        S3_GET_BUCKET_VERSIONING,
        S3_GET_BUCKET_OBJECT_LOCK_CONFIGURATION,
        RDS_DESCRIBE_DB_INSTANCES,
        RDS_DESCRIBE_DB_CLUSTERS,
        RDS_DESCRIBE_DB_PARAMETERS,
        RDS_DESCRIBE_DB_CLUSTER_PARAMETERS,
        DYNAMODB_LIST_TABLES,
        DYNAMODB_DESCRIBE_TABLE,
        DYNAMODB_DESCRIBE_CONTINUOUS_BACKUPS,
        ELB_DESCRIBE_LOAD_BALANCERS,
        ELB_DESCRIBE_TAGS,
        ELB_DESCRIBE_LISTENERS,
        EFS_DESCRIBE_FILE_SYSTEMS,
        CLOUDTRAIL_DESCRIBE_TRAILS,
        CLOUDTRAIL_GET_TRAIL_STATUS,
        LOGS_DESCRIBE_LOG_GROUPS,
        GUARDDUTY_LIST_DETECTORS,
        GUARDDUTY_GET_DETECTOR,
        EC2_GET_EBS_ENCRYPTION_BY_DEFAULT,
    ];
}

/// The lookup error for a failed call of IAM action `action`.
pub fn lookup_error<E>(error: &SdkError<E, HttpResponse>, action: &str) -> LookupError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = match error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let status = service.raw().status().as_u16();
            let code = inner
                .code()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP{status}"));
            let message = inner
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| DisplayErrorContext(inner).to_string());
            (code, message)
        }
        SdkError::TimeoutError(_) => (
            "Timeout".to_string(),
            "AWS did not answer in time".to_string(),
        ),
        SdkError::DispatchFailure(_) => (
            "DispatchFailure".to_string(),
            format!(
                "the request could not be sent: {}",
                DisplayErrorContext(error)
            ),
        ),
        SdkError::ResponseError(_) => (
            "ResponseError".to_string(),
            format!(
                "the response could not be read: {}",
                DisplayErrorContext(error)
            ),
        ),
        SdkError::ConstructionFailure(_) => (
            "ConstructionFailure".to_string(),
            format!(
                "the request could not be built: {}",
                DisplayErrorContext(error)
            ),
        ),
        _ => (
            "Unknown".to_string(),
            DisplayErrorContext(error).to_string(),
        ),
    };
    LookupError::new(code, one_line(&message)).with_action(action)
}

/// Messages end up in a status field and in logs: keep them on one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(
        code: Option<&str>,
        message: &str,
    ) -> SdkError<DescribeImageScanFindingsError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message(message);
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let err = DescribeImageScanFindingsError::generic(meta.build());
        let raw = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn access_denied_names_the_missing_permission() {
        let error = lookup_error(
            &service_error(
                Some("AccessDeniedException"),
                "User: arn:aws:sts::1:assumed-role/op is not\nauthorized",
            ),
            actions::ECR_DESCRIBE_IMAGE_SCAN_FINDINGS,
        );
        assert_eq!(error.code, "AccessDeniedException");
        assert!(error.is_access_denied());
        assert_eq!(
            error.to_string(),
            "AccessDeniedException: User: arn:aws:sts::1:assumed-role/op is not authorized \
             (missing IAM permission ecr:DescribeImageScanFindings)"
        );
    }

    #[test]
    fn an_error_without_a_code_is_named_by_its_http_status() {
        let error = lookup_error(&service_error(None, "boom"), actions::KMS_DESCRIBE_KEY);
        assert_eq!(error.code, "HTTP400");
        assert_eq!(error.to_string(), "HTTP400: boom (calling kms:DescribeKey)");
    }

    #[test]
    fn a_timeout_has_a_code_of_its_own() {
        let error: SdkError<DescribeImageScanFindingsError, HttpResponse> =
            SdkError::timeout_error("slow");
        let error = lookup_error(&error, actions::ECR_DESCRIBE_IMAGE_SCAN_FINDINGS);
        assert_eq!(error.code, "Timeout");
    }

    /// The actions of an IAM policy document.
    fn policy_actions(document: &str) -> Vec<String> {
        let policy: serde_json::Value = serde_json::from_str(document).unwrap();
        let mut actions: Vec<String> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
            .map(|action| action.as_str().unwrap().to_string())
            .collect();
        actions.sort();
        actions
    }

    #[test]
    fn the_documented_iam_policies_grant_exactly_the_actions_called() {
        let mut called: Vec<String> = actions::ALL.iter().map(|a| a.to_string()).collect();
        called.sort();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let deployed =
            std::fs::read_to_string(format!("{root}/deploy/aws/operator-iam-policy.json")).unwrap();
        assert_eq!(
            policy_actions(&deployed),
            called,
            "deploy/aws/operator-iam-policy.json"
        );
        let doc = std::fs::read_to_string(format!("{root}/docs/aws-iam.md")).unwrap();
        let block = doc
            .split("```json")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        assert_eq!(policy_actions(block), called, "docs/aws-iam.md");
    }
}
