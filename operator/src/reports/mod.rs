//! PolicyReports: each policy's findings as `wgpolicyk8s.io/v1alpha2` PolicyReports (one per
//! namespace in scope) and a ClusterPolicyReport (cluster-scoped objects and AWS resources), and
//! the same as OpenReports `openreports.io/v1alpha1` Reports when that API is served, so that
//! Policy Reporter and the tools built on these APIs show HIPAA Guard beside Kyverno, Kubewarden
//! and Trivy Operator. [`build`] partitions an audit and renders the reports (pure), [`plan`]
//! decides which changed (pure), [`write`] applies and deletes them (the edge), in the APIs
//! [`served`] finds.

pub mod build;
pub mod plan;
pub mod served;
pub mod write;

use std::fmt;

use kube::api::{ApiResource, GroupVersionKind};

/// The `source` of every result, and the field manager of every write.
pub const SOURCE: &str = "hipaa-guard";
/// Marks every report HIPAA Guard writes (the standard managed-by label).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The policy a report belongs to, as a label value ([`policy_label_value`]).
pub const POLICY_LABEL: &str = "hipaaguard.io/policy";
/// The policy's full name (a label value holds at most 63 characters).
pub const POLICY_ANNOTATION: &str = "hipaaguard.io/policy";
/// The hash of the report's content, so that a restarted operator rewrites only what changed.
pub const HASH_ANNOTATION: &str = "hipaaguard.io/report-hash";

/// One of the two report APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportApi {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport: what Policy Reporter and
    /// most tools read today.
    PolicyReport,
    /// `openreports.io/v1alpha1` Report and ClusterReport: the API's successor.
    OpenReports,
}

impl ReportApi {
    pub const ALL: [ReportApi; 2] = [ReportApi::PolicyReport, ReportApi::OpenReports];

    pub fn group(self) -> &'static str {
        match self {
            ReportApi::PolicyReport => "wgpolicyk8s.io",
            ReportApi::OpenReports => "openreports.io",
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            ReportApi::PolicyReport => "v1alpha2",
            ReportApi::OpenReports => "v1alpha1",
        }
    }

    /// `group/version`.
    pub fn api_version(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    /// The kind of a namespace's report, or of the cluster's.
    pub fn kind(self, key: &ReportKey) -> &'static str {
        match (self, key) {
            (ReportApi::PolicyReport, ReportKey::Namespace(_)) => "PolicyReport",
            (ReportApi::PolicyReport, ReportKey::Cluster) => "ClusterPolicyReport",
            (ReportApi::OpenReports, ReportKey::Namespace(_)) => "Report",
            (ReportApi::OpenReports, ReportKey::Cluster) => "ClusterReport",
        }
    }

    fn plural(self, key: &ReportKey) -> &'static str {
        match (self, key) {
            (ReportApi::PolicyReport, ReportKey::Namespace(_)) => "policyreports",
            (ReportApi::PolicyReport, ReportKey::Cluster) => "clusterpolicyreports",
            (ReportApi::OpenReports, ReportKey::Namespace(_)) => "reports",
            (ReportApi::OpenReports, ReportKey::Cluster) => "clusterreports",
        }
    }

    /// The resource for the kube client.
    pub fn resource(self, key: &ReportKey) -> ApiResource {
        let gvk = GroupVersionKind::gvk(self.group(), self.version(), self.kind(key));
        ApiResource::from_gvk_with_plural(&gvk, self.plural(key))
    }
}

impl fmt::Display for ReportApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportApi::PolicyReport => "policyreport",
            ReportApi::OpenReports => "openreports",
        })
    }
}

/// Which report of a policy: a namespace's, or the cluster's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKey {
    Namespace(String),
    Cluster,
}

impl ReportKey {
    pub fn namespace(&self) -> Option<&str> {
        match self {
            ReportKey::Namespace(namespace) => Some(namespace),
            ReportKey::Cluster => None,
        }
    }
}

impl fmt::Display for ReportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportKey::Namespace(namespace) => write!(f, "namespace {namespace}"),
            ReportKey::Cluster => f.write_str("cluster"),
        }
    }
}

/// The name of every report of `policy`: `hipaa-guard-<policy>`, shortened with a hash of the
/// whole name when that would pass the 253 characters an object name may have.
pub fn report_name(policy: &str) -> String {
    let name = format!("{SOURCE}-{policy}");
    if name.len() <= 253 {
        return name;
    }
    let keep: String = policy.chars().take(253 - SOURCE.len() - 1 - 17).collect();
    format!("{SOURCE}-{keep}-{:016x}", stable_hash(policy.as_bytes()))
}

/// The policy's name as a label value when it is one (at most 63 characters, no trailing
/// punctuation); otherwise the same shortened with a hash, still unique and still valid.
pub fn policy_label_value(policy: &str) -> String {
    if policy.len() <= 63 && !policy.ends_with(['.', '-', '_']) {
        return policy.to_owned();
    }
    let keep: String = policy
        .chars()
        .take(63 - 17)
        .collect::<String>()
        .trim_end_matches(['.', '-', '_'])
        .to_owned();
    format!("{keep}-{:016x}", stable_hash(policy.as_bytes()))
}

/// A hash that is the same in every process and release of this build (report hashes are
/// stored in annotations and compared after a restart).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = foldhash::quality::FixedState::with_seed(0x4849_5041_4147_5244).build_hasher();
    hasher.write(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests;
