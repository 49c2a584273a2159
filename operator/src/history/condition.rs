//! The `EvidenceHistory` condition: what the writer knows (written with Object Lock retention,
//! written without, or failing), and its server-side apply under a field manager of its own, so
//! that the status write of each audit (which lists only Ready and Compliant) leaves it alone.

use chrono::{DateTime, Utc};
use hipaa_crds::{
    CONDITION_EVIDENCE_HISTORY, HipaaPolicy, REASON_HISTORY_WRITE_FAILED, REASON_HISTORY_WRITTEN,
    REASON_OBJECT_LOCK_OFF,
};
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::Resource;

use crate::decide::conditions::{ConditionState, settle};

/// The field manager of the EvidenceHistory condition.
pub const HISTORY_FIELD_MANAGER: &str = "hipaa-operator-history";

/// What the writer knows after an audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryState {
    /// The chain is written and the bucket keeps its records (`retention` says how).
    Kept { last_key: String, retention: String },
    /// The chain is written, but the bucket has no Object Lock retention.
    Unlocked { last_key: String },
    /// The last write (or what it needed) failed.
    Failed { error: String },
}

/// The condition for `state`.
pub fn condition_state(state: &HistoryState) -> ConditionState {
    match state {
        HistoryState::Kept {
            last_key,
            retention,
        } => ConditionState {
            type_: CONDITION_EVIDENCE_HISTORY,
            status: "True",
            reason: REASON_HISTORY_WRITTEN,
            message: format!("evidence history up to date ({last_key}), retained {retention}"),
        },
        HistoryState::Unlocked { last_key } => ConditionState {
            type_: CONDITION_EVIDENCE_HISTORY,
            status: "False",
            reason: REASON_OBJECT_LOCK_OFF,
            message: format!(
                "evidence history written ({last_key}) to a bucket without Object Lock retention: records can be deleted or altered"
            ),
        },
        HistoryState::Failed { error } => ConditionState {
            type_: CONDITION_EVIDENCE_HISTORY,
            status: "False",
            reason: REASON_HISTORY_WRITE_FAILED,
            message: format!(
                "the evidence history could not be written (retried at the next audit): {error}"
            ),
        },
    }
}

/// Applies `state` as the EvidenceHistory condition of `policy`.
pub async fn apply_condition(
    api: &Api<HipaaPolicy>,
    policy: &HipaaPolicy,
    state: &HistoryState,
    now: DateTime<Utc>,
) -> Result<(), kube::Error> {
    let previous = policy
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or(&[]);
    let conditions = settle(
        &[condition_state(state)],
        previous,
        policy.metadata.generation,
        now,
    );
    let patch = serde_json::json!({
        "apiVersion": HipaaPolicy::api_version(&()),
        "kind": HipaaPolicy::kind(&()),
        "status": {"conditions": conditions},
    });
    let name = policy.metadata.name.as_deref().unwrap_or_default();
    api.patch_status(
        name,
        &PatchParams::apply(HISTORY_FIELD_MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_bucket_without_object_lock_is_a_warning() {
        let unlocked = condition_state(&HistoryState::Unlocked {
            last_key: "h/c/p/0000000000-20261206T000000Z.json.gz".into(),
        });
        assert_eq!(
            (unlocked.status, unlocked.reason),
            ("False", "ObjectLockOff")
        );
        let kept = condition_state(&HistoryState::Kept {
            last_key: "k".into(),
            retention: "GOVERNANCE 1 days".into(),
        });
        assert_eq!((kept.status, kept.reason), ("True", "Written"));
        let failed = condition_state(&HistoryState::Failed {
            error: "AccessDenied".into(),
        });
        assert_eq!(failed.reason, "WriteFailed");
        assert!(failed.message.contains("AccessDenied"));
    }
}
