//! Which decision judges a review: a Namespace's (`crate::namespaces`), a HipaaPolicy's
//! (`crate::policies`), an RBAC object's (`crate::decide::rbac`), or that of every object in a
//! namespace (`crate::decide`).

use chrono::{DateTime, Utc};
use hipaa_controls::object::ObjectKind;

use crate::decide::{Exemptions, Judgement, Review};
use crate::kinds::Judged;
use crate::snapshot::Snapshot;

/// Judges one review.
pub fn judge(
    review: &Review<'_>,
    snapshot: &Snapshot,
    exemptions: &Exemptions,
    now: DateTime<Utc>,
) -> Judgement {
    let judged = review.kind.filter(|kind| {
        kind.info()
            .admission
            .judges(review.operation, review.sub_resource)
    });
    match judged {
        Some(Judged::Policy) => crate::policies::judge(review, now),
        Some(Judged::Rbac(row)) => {
            crate::decide::rbac::judge(review, row, snapshot, exemptions, now)
        }
        Some(Judged::Object(ObjectKind::Namespace)) => {
            crate::namespaces::judge(review, snapshot, exemptions, now)
        }
        _ => crate::decide::judge(review, snapshot, exemptions, now),
    }
}
