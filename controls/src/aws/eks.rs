//! The EKS cluster snapshot (what DescribeCluster returns that matters, with the cluster's access
//! entries and aws-auth mappings) and the EKS controls: secrets encryption with a
//! customer-managed key, audit logging, endpoint access, the Kubernetes version, and (in
//! `access_entries`) cluster administrators and the authentication mode.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::{EffectivePolicy, parse_minor_version};

use super::access_entries::{
    AccessEntry, AuthenticationMode, AwsAuthMapping, Principals, authentication_mode,
    cluster_admins,
};
use super::judge::{Judge, Verdict};
use super::kms::{KeyManager, KmsKey};
use super::{AwsSnapshot, KIND_EKS_CLUSTER, LookedUp, Lookup};

/// The control-plane log types HIPAA-EKS-AUDIT-LOGGING requires.
pub const REQUIRED_LOG_TYPES: &[&str] = &["api", "audit", "authenticator"];

const EKS_CONTROLS: &[&str] = &[
    ids::EKS_SECRETS_KMS,
    ids::EKS_AUDIT_LOGGING,
    ids::EKS_ENDPOINT,
    ids::EKS_VERSION,
    ids::EKS_ACCESS_ADMIN,
    ids::EKS_AUTH_MODE,
];

/// An EKS cluster as DescribeCluster reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EksCluster {
    /// `cluster.name`.
    pub name: String,
    /// `cluster.arn`.
    #[serde(default)]
    pub arn: Option<String>,
    /// `cluster.version`, e.g. `1.33`.
    #[serde(default)]
    pub version: Option<String>,
    /// `provider.keyArn` of the `cluster.encryptionConfig` entry whose resources include
    /// `secrets`; `None` when no entry covers secrets (the AWS-owned default encryption).
    #[serde(default)]
    pub secrets_key_arn: Option<String>,
    /// The types of `cluster.logging.clusterLogging` entries with `enabled: true`.
    #[serde(default)]
    pub enabled_log_types: Vec<String>,
    /// `cluster.resourcesVpcConfig.endpointPrivateAccess`.
    #[serde(default)]
    pub endpoint_private_access: bool,
    /// `cluster.resourcesVpcConfig.endpointPublicAccess`.
    #[serde(default)]
    pub endpoint_public_access: bool,
    /// `cluster.resourcesVpcConfig.publicAccessCidrs`.
    #[serde(default)]
    pub public_access_cidrs: Vec<String>,
    /// `cluster.accessConfig.authenticationMode`; `None` when DescribeCluster reported none.
    #[serde(default)]
    pub authentication_mode: Option<AuthenticationMode>,
    /// The access entries (ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies);
    /// `None` when not looked up (the mode does not use them, or is unknown).
    #[serde(default)]
    pub access_entries: Option<Lookup<Vec<AccessEntry>>>,
    /// The mapRoles and mapUsers of the aws-auth ConfigMap in kube-system; `None` when not read
    /// (the mode does not use it, or is unknown). A missing ConfigMap maps nobody.
    #[serde(default)]
    pub aws_auth: Option<Lookup<Vec<AwsAuthMapping>>>,
}

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<EksCluster>,
    snapshot: &AwsSnapshot,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let cluster = match &looked_up.result {
        Ok(cluster) => cluster,
        Err(error) => {
            let resource = ResourceRef::new(KIND_EKS_CLUSTER, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("EKS cluster {}", looked_up.requested);
            judge.lookup_failed(EKS_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_EKS_CLUSTER, None, cluster.name.clone());
    let mut judge = Judge::new(policy, now, resource).also_named(cluster.arn.clone());
    judge.judge(ids::EKS_SECRETS_KMS, |_| {
        secrets_encryption(cluster, snapshot)
    });
    judge.judge(ids::EKS_AUDIT_LOGGING, |_| audit_logging(cluster));
    judge.judge(ids::EKS_ENDPOINT, |_| endpoint_access(cluster));
    judge.judge(ids::EKS_VERSION, |parameters| {
        version(cluster, parameters.min_version)
    });
    let principals = Principals {
        name: &cluster.name,
        authentication_mode: cluster.authentication_mode.as_ref(),
        access_entries: &cluster.access_entries,
        aws_auth: &cluster.aws_auth,
    };
    judge.judge(ids::EKS_ACCESS_ADMIN, |parameters| {
        let allowed = parameters.allowed_principals.as_deref().unwrap_or(&[]);
        cluster_admins(&principals, allowed)
    });
    judge.judge(ids::EKS_AUTH_MODE, |parameters| {
        authentication_mode(&principals, parameters.allow_config_map)
    });
    judge
}

/// HIPAA-EKS-SECRETS-KMS: an encryptionConfig covers secrets with a key KMS reports as
/// customer-managed.
fn secrets_encryption(cluster: &EksCluster, snapshot: &AwsSnapshot) -> Verdict {
    let name = &cluster.name;
    let Some(key_arn) = &cluster.secrets_key_arn else {
        return Verdict::Fail(format!(
            "EKS cluster {name} has no encryptionConfig for secrets, so they are encrypted only with the AWS-owned default key"
        ));
    };
    let key = match snapshot.kms_key(key_arn).map(|found| &found.result) {
        None => {
            return Verdict::Error(format!(
                "cannot evaluate EKS cluster {name}: its secrets key {key_arn} was not looked up in KMS"
            ));
        }
        Some(Err(error)) => {
            return Verdict::Error(format!(
                "cannot evaluate EKS cluster {name}: KMS key {key_arn}: {error}"
            ));
        }
        Some(Ok(key)) => key,
    };
    customer_managed(
        key,
        key_arn,
        &format!("EKS cluster {name} encrypts secrets"),
    )
}

/// Pass when KMS reports the key as customer-managed; `subject` says who uses it.
pub(crate) fn customer_managed(key: &KmsKey, identifier: &str, subject: &str) -> Verdict {
    match &key.key_manager {
        Some(KeyManager::Customer) => Verdict::Pass,
        Some(KeyManager::Aws) => Verdict::Fail(format!(
            "{subject} with the AWS-managed KMS key {identifier}, not a customer-managed key"
        )),
        Some(KeyManager::Other(other)) => Verdict::Error(format!(
            "cannot tell whether KMS key {identifier} is customer-managed: KMS reports KeyManager {other}"
        )),
        None => Verdict::Error(format!(
            "cannot tell whether KMS key {identifier} is customer-managed: KMS reported no KeyManager"
        )),
    }
}

/// HIPAA-EKS-AUDIT-LOGGING: api, audit and authenticator logs are on.
fn audit_logging(cluster: &EksCluster) -> Verdict {
    let missing: Vec<&str> = REQUIRED_LOG_TYPES
        .iter()
        .copied()
        .filter(|required| {
            !cluster
                .enabled_log_types
                .iter()
                .any(|on| on.eq_ignore_ascii_case(required))
        })
        .collect();
    if missing.is_empty() {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "EKS cluster {} does not send the control-plane log types {} to CloudWatch",
        cluster.name,
        missing.join(", ")
    ))
}

/// HIPAA-EKS-ENDPOINT: private endpoint on; public endpoint off or limited to listed CIDRs.
fn endpoint_access(cluster: &EksCluster) -> Verdict {
    let name = &cluster.name;
    let mut problems = Vec::new();
    if !cluster.endpoint_private_access {
        problems.push("private endpoint access is off".to_string());
    }
    if cluster.endpoint_public_access {
        let open: Vec<&str> = cluster
            .public_access_cidrs
            .iter()
            .map(String::as_str)
            .filter(|cidr| is_open_cidr(cidr))
            .collect();
        if cluster.public_access_cidrs.is_empty() {
            problems
                .push("the public endpoint lists no CIDRs, so it is open to 0.0.0.0/0".to_string());
        } else if !open.is_empty() {
            problems.push(format!(
                "the public endpoint is open to {}",
                open.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!("EKS cluster {name}: {}", problems.join(", and ")))
    }
}

/// True for a CIDR with prefix length 0 (`0.0.0.0/0`, `::/0`), which admits every address.
fn is_open_cidr(cidr: &str) -> bool {
    match cidr.trim().rsplit_once('/') {
        Some((_, prefix)) => prefix.trim().parse::<u8>().is_ok_and(|bits| bits == 0),
        None => false,
    }
}

/// HIPAA-EKS-VERSION: the cluster's version is at least `min_version`.
fn version(cluster: &EksCluster, min_version: (u32, u32)) -> Verdict {
    let name = &cluster.name;
    let Some(text) = &cluster.version else {
        return Verdict::Error(format!(
            "cannot evaluate EKS cluster {name}: DescribeCluster reported no version"
        ));
    };
    let Some(actual) = parse_minor_version(text) else {
        return Verdict::Error(format!(
            "cannot evaluate EKS cluster {name}: version {text:?} is not MAJOR.MINOR"
        ));
    };
    if actual >= min_version {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "EKS cluster {name} runs Kubernetes {text}, older than minVersion {}.{}",
            min_version.0, min_version.1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_cidrs_are_the_zero_length_prefixes() {
        assert!(is_open_cidr("0.0.0.0/0"));
        assert!(is_open_cidr("::/0"));
        assert!(!is_open_cidr("10.0.0.0/8"));
        assert!(!is_open_cidr("203.0.113.7/32"));
        assert!(!is_open_cidr("garbage"));
    }
}
