//! The snapshots of what carries PHI to and from workloads outside the data stores: the
//! Application Load Balancers that serve in-scope Ingresses (with their listeners) and the EFS
//! file systems behind in-scope persistent volumes.

use serde::{Deserialize, Serialize};

use crate::model::ResourceRef;

use super::Lookup;

/// One listener (DescribeListeners).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub port: i32,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, ...
    pub protocol: String,
    /// `SslPolicy`, on HTTPS and TLS listeners.
    #[serde(default)]
    pub ssl_policy: Option<String>,
    /// The default actions: `redirect` to `HTTPS` is what an HTTP listener may do.
    #[serde(default)]
    pub default_actions: Vec<ListenerAction>,
}

/// A listener's default action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerAction {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc`, ...
    pub action_type: String,
    /// `RedirectConfig.Protocol`, for a redirect (`HTTPS` or `#{protocol}`).
    #[serde(default)]
    pub redirect_protocol: Option<String>,
}

/// An Application Load Balancer (DescribeLoadBalancers, DescribeTags, DescribeListeners).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    #[serde(default)]
    pub dns_name: Option<String>,
    /// `internet-facing` or `internal`.
    #[serde(default)]
    pub scheme: Option<String>,
    pub listeners: Lookup<Vec<Listener>>,
    /// The in-scope Ingresses it serves.
    #[serde(default)]
    pub ingresses: Vec<ResourceRef>,
}

/// An EFS file system (DescribeFileSystems).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfsFileSystem {
    /// `FileSystemId` (`fs-...`).
    pub id: String,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// `Encrypted`.
    #[serde(default)]
    pub encrypted: bool,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// The in-scope PersistentVolumeClaims whose volumes live on it.
    #[serde(default)]
    pub volumes: Vec<ResourceRef>,
}
