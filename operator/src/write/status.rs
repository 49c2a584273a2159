//! The status write: server-side apply on the `status` subresource under one fixed field manager,
//! so that the operator owns every status field it sets and drops those it stops setting.

use hipaa_crds::{HipaaPolicy, HipaaPolicyStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::Resource;

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "hipaa-operator";

/// The apply configuration: only identity and status.
pub fn status_patch(status: &HipaaPolicyStatus) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": HipaaPolicy::api_version(&()),
        "kind": HipaaPolicy::kind(&()),
        "status": status,
    })
}

/// Applies `status` to the policy `name`.
pub async fn apply_status(
    api: &Api<HipaaPolicy>,
    name: &str,
    status: &HipaaPolicyStatus,
) -> Result<HipaaPolicy, kube::Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(status_patch(status)))
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_patch_names_the_resource_and_carries_only_status() {
        let patch = status_patch(&HipaaPolicyStatus {
            observed_generation: Some(3),
            ..Default::default()
        });
        assert_eq!(
            patch,
            serde_json::json!({
                "apiVersion": "hipaaguard.io/v1alpha1",
                "kind": "HipaaPolicy",
                "status": {"observedGeneration": 3},
            })
        );
    }
}
