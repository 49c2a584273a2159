//! The history's flags (each with an environment fallback for the chart), and the `s3://` URI.

use std::time::Duration;

use clap::Args;
use hipaa_history::{NotS3Location, S3Location};

/// Where and as which cluster the operator keeps its evidence history.
#[derive(Args, Clone, Debug, Default)]
pub struct HistoryArgs {
    /// Keep the evidence history under this S3 location, `s3://BUCKET/PREFIX` (off when unset).
    #[arg(long, env = "HIPAA_OPERATOR_HISTORY_S3_URI")]
    pub history_s3_uri: Option<String>,
    /// This cluster's name in the history: its records go under PREFIX/<name>/. Required with
    /// --history-s3-uri; lower-case letters, digits, '-' and '.'.
    #[arg(long, env = "HIPAA_OPERATOR_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    /// The bucket's region (otherwise the default AWS configuration chain's).
    #[arg(long, env = "HIPAA_OPERATOR_HISTORY_REGION")]
    pub history_region: Option<String>,
    /// Retain each record this long with an explicit Object Lock retention, instead of the
    /// bucket's default retention rule (needs s3:PutObjectRetention). E.g. 52560h (six years).
    #[arg(long, env = "HIPAA_OPERATOR_HISTORY_RETENTION", value_parser = hipaa_runtime::duration::parse_positive_duration)]
    pub history_retention: Option<Duration>,
    /// The Object Lock mode of --history-retention: GOVERNANCE or COMPLIANCE.
    #[arg(long, env = "HIPAA_OPERATOR_HISTORY_RETENTION_MODE", default_value = "GOVERNANCE", value_parser = ["GOVERNANCE", "COMPLIANCE"])]
    pub history_retention_mode: String,
}

/// Why the history flags are unusable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HistoryArgsError {
    #[error("--history-s3-uri: {0}")]
    Uri(#[from] NotS3Location),
    #[error("--history-s3-uri needs --cluster-name (the cluster's name in the history)")]
    NoClusterName,
    #[error(
        "--cluster-name {0:?} is not a usable name: 1 to 63 lower-case letters, digits, '-' or '.'"
    )]
    ClusterName(String),
}

/// The history's settings when it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistorySettings {
    pub location: S3Location,
    pub cluster_name: String,
    pub region: Option<String>,
    /// Explicit retention: the mode and how long.
    pub retention: Option<(String, Duration)>,
}

impl HistoryArgs {
    /// The settings, None when the history is off.
    pub fn settings(&self) -> Result<Option<HistorySettings>, HistoryArgsError> {
        let Some(uri) = &self.history_s3_uri else {
            return Ok(None);
        };
        let location = S3Location::parse(uri)?;
        let cluster_name = self
            .cluster_name
            .clone()
            .ok_or(HistoryArgsError::NoClusterName)?;
        if !hipaa_history::is_valid_cluster_name(&cluster_name) {
            return Err(HistoryArgsError::ClusterName(cluster_name));
        }
        Ok(Some(HistorySettings {
            location,
            cluster_name,
            region: self.history_region.clone(),
            retention: self
                .history_retention
                .map(|keep| (self.history_retention_mode.clone(), keep)),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_history_is_off_by_default_and_needs_a_cluster_name() {
        assert_eq!(HistoryArgs::default().settings(), Ok(None));
        let mut args = HistoryArgs {
            history_s3_uri: Some("s3://b/p".into()),
            ..Default::default()
        };
        assert_eq!(args.settings(), Err(HistoryArgsError::NoClusterName));
        args.cluster_name = Some("Prod East".into());
        assert!(matches!(
            args.settings(),
            Err(HistoryArgsError::ClusterName(_))
        ));
        args.cluster_name = Some("prod-east".into());
        assert_eq!(args.settings().unwrap().unwrap().cluster_name, "prod-east");
    }
}
