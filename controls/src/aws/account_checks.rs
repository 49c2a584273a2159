//! The account controls over the policy's region: a multi-region CloudTrail trail that is
//! logging with log-file validation, the retention of the EKS cluster's log group, GuardDuty with
//! EKS protection, and EBS encryption by default. The resource is the region; each control reads
//! only its own lookup, so that one missing permission makes only that control Error.

use chrono::{DateTime, Utc};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::account::{AccountPosture, Detector, LogGroup, Trail};
use super::judge::{Judge, Verdict};
use super::{AwsSnapshot, KIND_AWS_ACCOUNT, Lookup};

pub(crate) fn evaluate<'a>(
    account: &AccountPosture,
    snapshot: &AwsSnapshot,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let region = account.region.as_str();
    let resource = ResourceRef::new(KIND_AWS_ACCOUNT, None, region);
    let mut judge = Judge::new(policy, now, resource);
    judge.judge(ids::AWS_CLOUDTRAIL, |_| cloudtrail(region, &account.trails));
    // Without a linked EKS cluster there is no log group to judge.
    if let Some(log_group) = &account.eks_log_group {
        let expected = snapshot
            .eks
            .as_ref()
            .and_then(|eks| eks.result.as_ref().ok())
            .map(|cluster| format!("/aws/eks/{}/cluster", cluster.name));
        judge.judge(ids::AWS_LOG_RETENTION, |parameters| {
            log_retention(
                region,
                log_group,
                expected.as_deref(),
                parameters.min_retention_days,
            )
        });
    }
    judge.judge(ids::AWS_GUARDDUTY, |_| {
        guardduty(region, &account.guardduty)
    });
    judge.judge(ids::AWS_EBS_DEFAULT_ENCRYPTION, |_| {
        match &account.ebs_encryption_by_default {
            Ok(true) => Verdict::Pass,
            Ok(false) => Verdict::Fail(format!(
                "EBS encryption by default is off in {region}, so a volume created without encryption stores data in the clear: turn it on"
            )),
            Err(error) => Verdict::Error(format!(
                "cannot evaluate EBS encryption by default in {region}: {error}"
            )),
        }
    });
    judge
}

/// HIPAA-AWS-CLOUDTRAIL: a multi-region trail with log-file validation that is logging.
fn cloudtrail(region: &str, trails: &Lookup<Vec<Trail>>) -> Verdict {
    let trails = match trails {
        Ok(trails) => trails,
        Err(error) => {
            return Verdict::Error(format!("cannot evaluate CloudTrail in {region}: {error}"));
        }
    };
    let shaped = |trail: &&Trail| trail.multi_region && trail.log_file_validation;
    if trails
        .iter()
        .filter(shaped)
        .any(|trail| trail.is_logging == Ok(true))
    {
        return Verdict::Pass;
    }
    // A well-formed trail whose status is unknown may be the one that logs.
    if let Some((trail, error)) = trails
        .iter()
        .filter(shaped)
        .find_map(|trail| trail.is_logging.as_ref().err().map(|error| (trail, error)))
    {
        return Verdict::Error(format!(
            "cannot tell whether CloudTrail trail {} is logging: {error}",
            trail.name
        ));
    }
    if trails.is_empty() {
        return Verdict::Fail(format!(
            "no CloudTrail trail logs {region}: create a multi-region trail with log-file validation"
        ));
    }
    let reasons: Vec<String> = trails.iter().map(trail_problem).collect();
    Verdict::Fail(format!(
        "no CloudTrail trail in {region} is multi-region, validated and logging ({}): make one multi-region with log-file validation and start logging",
        reasons.join("; ")
    ))
}

fn trail_problem(trail: &Trail) -> String {
    let mut problems = Vec::new();
    if !trail.multi_region {
        problems.push("single-region");
    }
    if !trail.log_file_validation {
        problems.push("no log-file validation");
    }
    match &trail.is_logging {
        Ok(false) => problems.push("not logging"),
        Ok(true) => {}
        Err(_) => problems.push("status unknown"),
    }
    format!("{}: {}", trail.name, problems.join(", "))
}

/// HIPAA-AWS-LOG-RETENTION: the EKS log group keeps events at least `min_days` (or forever).
fn log_retention(
    region: &str,
    log_group: &Lookup<Option<LogGroup>>,
    expected: Option<&str>,
    min_days: i64,
) -> Verdict {
    let group = match log_group {
        Err(error) => {
            return Verdict::Error(format!(
                "cannot evaluate the EKS log group's retention in {region}: {error}"
            ));
        }
        Ok(None) => {
            let name = expected.unwrap_or("/aws/eks/<cluster>/cluster");
            return Verdict::Fail(format!(
                "the EKS cluster's log group {name} does not exist in {region}, so control-plane logs are not kept: enable control-plane logging and set the group's retention to at least {min_days} days"
            ));
        }
        Ok(Some(group)) => group,
    };
    match group.retention_days.map(i64::from) {
        None => Verdict::Pass,
        Some(days) if days >= min_days => Verdict::Pass,
        Some(days) => Verdict::Fail(format!(
            "log group {} keeps events {days} days, fewer than minRetentionDays {min_days}: set its retention to at least {min_days} days",
            group.name
        )),
    }
}

/// HIPAA-AWS-GUARDDUTY: an enabled detector with EKS audit-log protection.
fn guardduty(region: &str, detectors: &Lookup<Vec<Detector>>) -> Verdict {
    let detectors = match detectors {
        Ok(detectors) => detectors,
        Err(error) => {
            return Verdict::Error(format!("cannot evaluate GuardDuty in {region}: {error}"));
        }
    };
    let enabled: Vec<&Detector> = detectors
        .iter()
        .filter(|detector| detector.status.eq_ignore_ascii_case("ENABLED"))
        .collect();
    if enabled.iter().any(|d| d.eks_audit_logs == Some(true)) {
        return Verdict::Pass;
    }
    if let Some(unsaid) = enabled.iter().find(|d| d.eks_audit_logs.is_none()) {
        return Verdict::Error(format!(
            "cannot tell whether GuardDuty detector {} in {region} has EKS protection: it does not report the EKS_AUDIT_LOGS feature",
            unsaid.id
        ));
    }
    let state = match (detectors.is_empty(), enabled.first()) {
        (true, _) => "GuardDuty has no detector".to_string(),
        (false, None) => "GuardDuty's detector is disabled".to_string(),
        (false, Some(detector)) => format!(
            "GuardDuty detector {} has EKS audit-log protection off",
            detector.id
        ),
    };
    Verdict::Fail(format!(
        "{state} in {region}: enable GuardDuty with EKS Protection (EKS_AUDIT_LOGS)"
    ))
}
