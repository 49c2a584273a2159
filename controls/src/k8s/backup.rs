//! HIPAA-K8S-BACKUP (audit only): every PHI namespace with PVCs is covered by a Velero Schedule
//! or, PVC by PVC, by a StorageClass that tags its volumes for AWS Backup.

use crate::check::{Check, Verdict};
use crate::context::BackupSchedule;
use crate::k8s::storage::{ClassLookup, class_for_claim, tags_for_aws_backup};
use crate::k8s::{PHI_LABEL, label};
use crate::object::Object;
use crate::policy::glob_matches;

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let Object::Namespace(ns) = check.object else {
        return Verdict::NotApplicable;
    };
    if label(ns.metadata.labels.as_ref(), PHI_LABEL) != Some("true") {
        return Verdict::NotApplicable;
    }
    let name = check.subject.name;
    let ctx = check.ctx;
    if !ctx.completeness.pvcs {
        return Verdict::Error(format!(
            "cannot evaluate {}: its PVCs are not known",
            check.subject
        ));
    }
    let mut pvcs = ctx.pvcs_in(name).peekable();
    if pvcs.peek().is_none() {
        return Verdict::Pass;
    }
    if ctx.completeness.backup_schedules && ctx.backup_schedules().iter().any(|s| includes(s, name))
    {
        return Verdict::Pass;
    }
    let mut uncovered = Vec::new();
    let mut unknown = false;
    for pvc in pvcs {
        let class = pvc
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref());
        match class_for_claim(ctx, class) {
            ClassLookup::Found(class) if tags_for_aws_backup(class) => {}
            ClassLookup::Unknown(_) => unknown = true,
            _ => uncovered.push(pvc.metadata.name.as_deref().unwrap_or("")),
        }
    }
    if uncovered.is_empty() && !unknown {
        return Verdict::Pass;
    }
    if !ctx.completeness.backup_schedules || (unknown && uncovered.is_empty()) {
        return Verdict::Error(format!(
            "cannot evaluate {}: its Velero Schedules or StorageClasses are not known",
            check.subject
        ));
    }
    uncovered.sort_unstable();
    let listed: Vec<&str> = uncovered.iter().copied().take(5).collect();
    let more = uncovered.len().saturating_sub(listed.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Verdict::Fail(format!(
        "{}: no Velero Schedule includes it, and its PVCs {}{more} carry no AWS Backup tag",
        check.subject,
        listed.join(", ")
    ))
}

/// Whether a Velero Schedule backs up `namespace` (empty or `*` includes every namespace).
fn includes(schedule: &BackupSchedule, namespace: &str) -> bool {
    let included = schedule.included_namespaces.is_empty()
        || schedule
            .included_namespaces
            .iter()
            .any(|p| glob_matches(p, namespace));
    included
        && !schedule
            .excluded_namespaces
            .iter()
            .any(|p| glob_matches(p, namespace))
}
