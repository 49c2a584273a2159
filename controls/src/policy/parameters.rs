//! A control's parameters: their defaults (some differ by control), a policy's overrides of
//! them, and the strictest of several policies' values (the rules are in [`super`]'s head).

use std::collections::BTreeMap;

use hipaa_crds::{ControlParameters, HipaaPolicy};

use crate::catalog;
use crate::model::Severity;
use crate::validate::parse_minor_version;

/// A control's parameters after defaults are applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameters {
    /// HIPAA-K8S-IMAGE-REGISTRY; `None` means "any ECR registry".
    pub allowed_registries: Option<Vec<String>>,
    /// The access controls: the `allowedSubjects` list of each merged policy that sets it; a
    /// subject must match every list. Empty means the default list.
    pub allowed_subject_lists: Vec<Vec<String>>,
    pub require_egress: bool,
    pub min_replicas: i32,
    pub min_version: (u32, u32),
    pub fail_on: Severity,
    pub max_age_days: i64,
    /// HIPAA-EKS-ACCESS-ADMIN: IAM principal ARN patterns allowed cluster-admin access; `None`
    /// (the default) allows none.
    pub allowed_principals: Option<Vec<String>>,
    /// HIPAA-EKS-AUTH-MODE: API_AND_CONFIG_MAP is accepted.
    pub allow_config_map: bool,
    /// HIPAA-K8S-SECRETS-IN-ENV: the Shannon entropy, in bits per character, from which a literal
    /// token is taken for a credential.
    pub value_entropy_threshold: f64,
    /// HIPAA-RDS-BACKUP and HIPAA-AWS-LOG-RETENTION: the fewest days to keep (each control has
    /// its own default, see [`Parameters::for_control`]).
    pub min_retention_days: i64,
    /// HIPAA-S3-ENCRYPTION: SSE-S3 default encryption is accepted.
    pub allow_sse_s3: bool,
    /// HIPAA-RDS-MULTI-AZ: every database needs Multi-AZ, not only production ones.
    pub require_for_all: bool,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            allowed_registries: None,
            allowed_subject_lists: Vec::new(),
            require_egress: false,
            min_replicas: catalog::DEFAULT_MIN_REPLICAS,
            min_version: catalog::DEFAULT_MIN_VERSION,
            fail_on: catalog::DEFAULT_FAIL_ON,
            max_age_days: catalog::DEFAULT_MAX_AGE_DAYS,
            allowed_principals: None,
            allow_config_map: false,
            value_entropy_threshold: catalog::DEFAULT_VALUE_ENTROPY_THRESHOLD,
            min_retention_days: catalog::DEFAULT_BACKUP_RETENTION_DAYS,
            allow_sse_s3: false,
            require_for_all: false,
        }
    }
}

impl Parameters {
    /// The defaults of control `id`: as [`Parameters::default`], but for the parameters whose
    /// default differs by control (`minRetentionDays`).
    pub fn for_control(id: &str) -> Self {
        let mut out = Parameters::default();
        if id == catalog::ids::AWS_LOG_RETENTION {
            out.min_retention_days = catalog::DEFAULT_LOG_RETENTION_DAYS;
        }
        out
    }

    /// Control `id`'s defaults overridden by the values a policy gives; values that do not parse
    /// keep the default (validate_policy reports them).
    pub(super) fn with_overrides(id: &str, given: Option<&ControlParameters>) -> Self {
        let mut out = Parameters::for_control(id);
        let Some(given) = given else { return out };
        if let Some(registries) = &given.allowed_registries {
            out.allowed_registries = Some(registries.clone());
        }
        if let Some(subjects) = &given.allowed_subjects {
            out.allowed_subject_lists = vec![subjects.clone()];
        }
        if let Some(require) = given.require_egress {
            out.require_egress = require;
        }
        if let Some(min) = given.min_replicas.filter(|m| *m >= 1) {
            out.min_replicas = min;
        }
        if let Some(version) = given.min_version.as_deref().and_then(parse_minor_version) {
            out.min_version = version;
        }
        if let Some(severity) = given.fail_on.as_deref().and_then(Severity::parse) {
            out.fail_on = severity;
        }
        if let Some(days) = given.max_age_days.filter(|d| *d >= 1) {
            out.max_age_days = days;
        }
        if let Some(principals) = &given.allowed_principals {
            out.allowed_principals = Some(principals.clone());
        }
        if let Some(allow) = given.allow_config_map {
            out.allow_config_map = allow;
        }
        if let Some(threshold) = given
            .value_entropy_threshold
            .filter(|t| crate::validate::valid_entropy_threshold(*t))
        {
            out.value_entropy_threshold = threshold;
        }
        if let Some(days) = given.min_retention_days.filter(|d| *d >= 1) {
            out.min_retention_days = days;
        }
        if let Some(allow) = given.allow_sse_s3 {
            out.allow_sse_s3 = allow;
        }
        if let Some(require) = given.require_for_all {
            out.require_for_all = require;
        }
        out
    }

    /// Folds another policy's parameters into these, keeping the stricter value of each.
    pub(super) fn merge_strictest(&mut self, other: &Parameters, sets: ListsSet) {
        if self.allowed_registries.is_none() && sets.registries {
            self.allowed_registries
                .clone_from(&other.allowed_registries);
        }
        self.allowed_subject_lists
            .extend(other.allowed_subject_lists.iter().cloned());
        if self.allowed_principals.is_none() && sets.principals {
            self.allowed_principals
                .clone_from(&other.allowed_principals);
        }
        self.allow_config_map &= other.allow_config_map;
        self.allow_sse_s3 &= other.allow_sse_s3;
        self.require_for_all |= other.require_for_all;
        self.min_retention_days = self.min_retention_days.max(other.min_retention_days);
        self.require_egress |= other.require_egress;
        self.min_replicas = self.min_replicas.max(other.min_replicas);
        self.min_version = self.min_version.max(other.min_version);
        self.fail_on = self.fail_on.min(other.fail_on);
        self.max_age_days = self.max_age_days.min(other.max_age_days);
        self.value_entropy_threshold = self
            .value_entropy_threshold
            .min(other.value_entropy_threshold);
    }
}

/// Which list parameters (first policy by name wins) a control's override sets.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ListsSet {
    registries: bool,
    principals: bool,
}

/// Which list parameters each control's override sets in this policy.
pub(super) fn lists_set_by(policy: &HipaaPolicy) -> BTreeMap<&str, ListsSet> {
    policy
        .spec
        .controls
        .iter()
        .map(|o| {
            let given = o.parameters.as_ref();
            let sets = ListsSet {
                registries: given.is_some_and(|p| p.allowed_registries.is_some()),
                principals: given.is_some_and(|p| p.allowed_principals.is_some()),
            };
            (o.id.as_str(), sets)
        })
        .collect()
}
