//! The seam between the audit and AWS: a provider of [`AwsSnapshot`]s for the resources a policy
//! links. The reconcile asks it for a snapshot only when the policy has `spec.aws`; without one
//! (or with [`NoAws`]) the AWS controls report NotEvaluated. The collectors behind a real
//! provider (EKS, ECR, Secrets Manager, KMS) live in this module's submodules.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hipaa_controls::aws::AwsSnapshot;
use hipaa_crds::HipaaPolicy;

use crate::observe::Observation;

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
}

/// The provider used while no AWS collector is configured: never a snapshot.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAws;

impl AwsSnapshots for NoAws {
    fn snapshot<'a>(&'a self, _request: AwsRequest<'a>) -> BoxFuture<'a, Option<Arc<AwsSnapshot>>> {
        Box::pin(std::future::ready(None))
    }
}
