//! What one policy's refresh cycle has found in AWS so far ([`Found`]): each lookup's result and
//! when it was made. Plain data, read by the plan of what to look up next (`cache`) and by the
//! assembly of the AWS snapshot the engine judges (`assemble`).

use std::collections::BTreeMap;

use hipaa_controls::aws::{EcrRepository, EksCluster, KmsKey, ScanFindings, SecretsManagerSecret};

use super::ecr::RegistryScan;
pub use super::fetched::Fetched;
use super::link::{RepositoryKey, SecretKey};

/// A KMS key as a resource names it, in the region it is looked up in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyKey {
    pub region: String,
    pub identifier: String,
}

/// Everything looked up in the current cycle of one policy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    /// DescribeCluster by (region, name).
    pub clusters: BTreeMap<(String, String), Fetched<EksCluster>>,
    /// Every repository of a region (only fetched for globs).
    pub repository_lists: BTreeMap<String, Fetched<Vec<EcrRepository>>>,
    /// The registry scanning configuration by region.
    pub registry_scans: BTreeMap<String, Fetched<RegistryScan>>,
    pub repositories: BTreeMap<RepositoryKey, Fetched<EcrRepository>>,
    /// DescribeImageScanFindings by repository and tag or digest.
    pub findings: BTreeMap<(RepositoryKey, String), Fetched<ScanFindings>>,
    /// Every secret of a region (only fetched for globs).
    pub secret_lists: BTreeMap<String, Fetched<Vec<SecretsManagerSecret>>>,
    pub secrets: BTreeMap<SecretKey, Fetched<SecretsManagerSecret>>,
    pub keys: BTreeMap<KeyKey, Fetched<KmsKey>>,
    /// The roles, stores, load balancers, file systems and account safeguards (see
    /// [`super::data`]).
    pub data: super::data::found::DataFound,
}
