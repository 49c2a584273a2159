//! The seam between the audit and AWS: a provider of [`AwsSnapshot`]s for the resources a policy
//! links. The reconcile asks it for a snapshot only when the policy has `spec.aws`; without one
//! (or with [`NoAws`]) the AWS controls report NotEvaluated. The real provider,
//! [`AwsCollector`], links a policy to its resources ([`link`], and [`data`] for the roles,
//! stores, load balancers and file systems behind its workloads), looks them up with one module
//! per service ([`eks`] with [`access_entries`] and [`aws_auth`], [`ecr`], [`secrets`], [`kms`];
//! [`fetch`] over the signed [`wire`] client for the data services) and caches the result per
//! policy ([`cache`], [`assemble`]).

pub mod access_entries;
pub mod assemble;
pub mod aws_auth;
pub mod cache;
pub mod call_metrics;
pub mod clients;
pub mod collector;
pub mod data;
pub mod ecr;
pub mod eks;
pub mod error;
pub mod fetch;
pub mod fetched;
pub mod found;
pub mod https;
pub mod kms;
pub mod link;
pub mod secret_refs;
pub mod secrets;
pub mod transport_state;
pub mod watch;
pub mod wire;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hipaa_controls::aws::AwsSnapshot;
use hipaa_crds::HipaaPolicy;
use kube::Client;
use tokio::sync::broadcast;

use crate::observe::Observation;
use crate::observe::triggers::Change;

pub use clients::CallSettings;
pub use collector::AwsCollector;

/// What a provider needs to know to link and look up a policy's AWS resources.
#[derive(Clone, Copy)]
pub struct AwsRequest<'a> {
    /// The policy: its name, generation, `spec.aws` and `auditInterval`.
    pub policy: &'a HipaaPolicy,
    /// Everything the policy governs (images and secret references link to AWS resources).
    pub observation: &'a Observation,
    pub now: DateTime<Utc>,
}

/// Supplies AWS snapshots to the audit. Implementations cache: the reconcile calls this on every
/// audit and must not wait on AWS each time.
pub trait AwsSnapshots: Send + Sync {
    /// The snapshot for the policy's linked resources; `None` when nothing can be said yet (no
    /// collector, or no resource linked), which leaves the AWS controls NotEvaluated.
    fn snapshot<'a>(&'a self, request: AwsRequest<'a>) -> BoxFuture<'a, Option<Arc<AwsSnapshot>>>;

    /// Starts what the provider watches in the cluster (the secret integrations), announcing
    /// their changes on `changes`. Called once, after the operator's own watch caches started.
    fn start<'a>(
        &'a self,
        _client: &'a Client,
        _changes: &'a broadcast::Sender<Change>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Adds the provider's own metrics (its AWS calls) to the operator's registry.
    fn register_metrics(&self, _registry: &mut prometheus_client::registry::Registry) {}
}

/// The provider used while no AWS collector is configured: never a snapshot.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAws;

impl AwsSnapshots for NoAws {
    fn snapshot<'a>(&'a self, _request: AwsRequest<'a>) -> BoxFuture<'a, Option<Arc<AwsSnapshot>>> {
        Box::pin(std::future::ready(None))
    }
}

/// An SDK timestamp as a chrono one; `None` when out of range.
pub(crate) fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}
