//! S3 buckets through aws-sdk-s3 (already built for the evidence history): ListBuckets for the
//! inventory, then per bucket GetBucketLocation (the other calls go to the bucket's region),
//! GetBucketEncryption, GetBucketPolicy, GetPublicAccessBlock, GetBucketAcl, GetBucketVersioning
//! and GetObjectLockConfiguration, each its own lookup and permission. "Not configured" answers
//! (no encryption rule, no policy, no block, no Object Lock) are values, not errors.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use hipaa_controls::aws::{
    BucketEncryption, Lookup, LookupError, PolicyDocument, PublicAccessBlock, S3Bucket, StoreLinks,
};

use super::super::clients::{Clients, RegionClients};
use super::super::error::{actions, lookup_error};
use super::iam::MALFORMED_POLICY_DOCUMENT;

/// The grantee URIs of public ACL grants.
const PUBLIC_GRANTEES: &[(&str, &str)] = &[
    (
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "AllUsers",
    ),
    (
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
        "AuthenticatedUsers",
    ),
];

/// The names of the account's buckets (ListBuckets, every page).
pub async fn list_buckets(clients: &Clients, region: &str) -> Lookup<Vec<String>> {
    let regional = clients.region(region).await;
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let _permit = clients.permit().await;
        let page = regional
            .s3
            .list_buckets()
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|error| lookup_error(&error, actions::S3_LIST_ALL_MY_BUCKETS))?;
        names.extend(
            page.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string)),
        );
        match page.continuation_token() {
            Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                token = Some(next.to_string());
            }
            _ => return Ok(names),
        }
    }
}

/// Bucket `name`'s settings. GetBucketLocation is asked from `region`; the other calls go to the
/// bucket's own region (or `region` when its location could not be read).
pub async fn bucket(clients: &Clients, region: &str, name: &str) -> S3Bucket {
    let home = clients.region(region).await;
    let location = {
        let _permit = clients.permit().await;
        home.s3
            .get_bucket_location()
            .bucket(name)
            .send()
            .await
            .map(|out| bucket_region(out.location_constraint().map(|c| c.as_str())))
    };
    let bucket_region = location.as_ref().ok().cloned();
    if let Err(error) = &location {
        tracing::debug!(bucket = name, error = %lookup_error(error, actions::S3_GET_BUCKET_LOCATION), "bucket location unknown");
    }
    let regional = match &bucket_region {
        Some(there) if there != region => clients.region(there).await,
        _ => home,
    };
    S3Bucket {
        name: name.to_string(),
        arn: format!("arn:{}:s3:::{name}", partition(region)),
        region: bucket_region,
        encryption: encryption(clients, &regional, name).await,
        policy: policy(clients, &regional, name).await,
        public_access_block: public_access_block(clients, &regional, name).await,
        public_acl_grants: public_acl_grants(clients, &regional, name).await,
        versioning: versioning(clients, &regional, name).await,
        object_lock: object_lock(clients, &regional, name).await,
        links: StoreLinks::default(),
    }
}

/// The region of a `LocationConstraint`: none is us-east-1, `EU` is eu-west-1.
pub fn bucket_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(region) => region.to_string(),
    }
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `Ok(absent)` when the error's code is `absent_code`, else the lookup error of `action`.
fn unless_absent<T, E>(
    error: SdkError<E, HttpResponse>,
    absent_code: &str,
    absent: T,
    action: &str,
) -> Lookup<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error.as_service_error().and_then(|e| e.code()) {
        Some(code) if code == absent_code => Ok(absent),
        _ => Err(lookup_error(&error, action)),
    }
}

async fn encryption(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Option<BucketEncryption>> {
    let _permit = clients.permit().await;
    match regional
        .s3
        .get_bucket_encryption()
        .bucket(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .and_then(|c| {
                c.rules()
                    .iter()
                    .find_map(|rule| rule.apply_server_side_encryption_by_default())
            })
            .map(|rule| BucketEncryption {
                algorithm: rule.sse_algorithm().as_str().to_string(),
                kms_key_id: rule.kms_master_key_id().map(str::to_string),
            })),
        Err(error) => unless_absent(
            error,
            "ServerSideEncryptionConfigurationNotFoundError",
            None,
            actions::S3_GET_ENCRYPTION_CONFIGURATION,
        ),
    }
}

async fn policy(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Option<PolicyDocument>> {
    let _permit = clients.permit().await;
    match regional.s3.get_bucket_policy().bucket(name).send().await {
        Ok(out) => match out.policy() {
            None => Ok(None),
            Some(text) => PolicyDocument::parse(text).map(Some).map_err(|error| {
                LookupError::new(MALFORMED_POLICY_DOCUMENT, error.to_string())
                    .with_action(actions::S3_GET_BUCKET_POLICY)
            }),
        },
        Err(error) => unless_absent(
            error,
            "NoSuchBucketPolicy",
            None,
            actions::S3_GET_BUCKET_POLICY,
        ),
    }
}

async fn public_access_block(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Option<PublicAccessBlock>> {
    let _permit = clients.permit().await;
    match regional
        .s3
        .get_public_access_block()
        .bucket(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .public_access_block_configuration()
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })),
        Err(error) => unless_absent(
            error,
            "NoSuchPublicAccessBlockConfiguration",
            None,
            actions::S3_GET_BUCKET_PUBLIC_ACCESS_BLOCK,
        ),
    }
}

async fn public_acl_grants(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Vec<String>> {
    let _permit = clients.permit().await;
    let out = regional
        .s3
        .get_bucket_acl()
        .bucket(name)
        .send()
        .await
        .map_err(|error| lookup_error(&error, actions::S3_GET_BUCKET_ACL))?;
    let mut grants: Vec<String> = out
        .grants()
        .iter()
        .filter_map(|grant| {
            let uri = grant.grantee().and_then(|g| g.uri())?;
            let (_, group) = PUBLIC_GRANTEES.iter().find(|(known, _)| *known == uri)?;
            let permission = grant.permission().map_or("UNKNOWN", |p| p.as_str());
            Some(format!("{group}:{permission}"))
        })
        .collect();
    grants.sort();
    grants.dedup();
    Ok(grants)
}

async fn versioning(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<Option<String>> {
    let _permit = clients.permit().await;
    regional
        .s3
        .get_bucket_versioning()
        .bucket(name)
        .send()
        .await
        .map(|out| out.status().map(|s| s.as_str().to_string()))
        .map_err(|error| lookup_error(&error, actions::S3_GET_BUCKET_VERSIONING))
}

async fn object_lock(clients: &Clients, regional: &RegionClients, name: &str) -> Lookup<bool> {
    let _permit = clients.permit().await;
    match regional
        .s3
        .get_object_lock_configuration()
        .bucket(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .object_lock_configuration()
            .and_then(|c| c.object_lock_enabled())
            .is_some_and(|e| e.as_str() == "Enabled")),
        Err(error) => unless_absent(
            error,
            "ObjectLockConfigurationNotFoundError",
            false,
            actions::S3_GET_BUCKET_OBJECT_LOCK_CONFIGURATION,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_regions() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("")), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("eu-central-1")), "eu-central-1");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
