//! The account's safeguards in one region: CloudTrail trails (DescribeTrails with shadow trails,
//! GetTrailStatus each), the EKS cluster's control-plane log group (DescribeLogGroups), GuardDuty
//! detectors (ListDetectors, GetDetector) and EBS encryption by default
//! (GetEbsEncryptionByDefault). Each is its own lookup.

use hipaa_controls::aws::{AccountPosture, Detector, LogGroup, Lookup, Trail};
use serde_json::{Value, json};

use super::super::clients::Clients;
use super::super::error::actions;
use super::super::wire::json::{items, text};
use super::super::wire::query::{encode, result_of};
use super::super::wire::{XmlNode, services};
use super::{call, missing};

/// Pages of ListDetectors at most.
const MAX_PAGES: usize = 100;

/// Everything [`AccountPosture`] holds; the log group only when `eks_cluster` is named.
pub async fn posture(clients: &Clients, region: &str, eks_cluster: Option<&str>) -> AccountPosture {
    let eks_log_group = match eks_cluster {
        Some(cluster) => Some(eks_log_group(clients, region, cluster).await),
        None => None,
    };
    AccountPosture {
        region: region.to_string(),
        trails: trails(clients, region).await,
        eks_log_group,
        guardduty: detectors(clients, region).await,
        ebs_encryption_by_default: ebs_encryption_by_default(clients, region).await,
    }
}

/// The trails that log `region` (shadow trails of other regions' multi-region trails included),
/// each with GetTrailStatus's `IsLogging` (asked by ARN, as shadow trails require).
pub async fn trails(clients: &Clients, region: &str) -> Lookup<Vec<Trail>> {
    let wire = clients.wire(region).await;
    let describe = call(
        &services::CLOUDTRAIL,
        "DescribeTrails",
        actions::CLOUDTRAIL_DESCRIBE_TRAILS,
    );
    let answer = wire
        .json(describe, &json!({ "includeShadowTrails": true }))
        .await?;
    let status = call(
        &services::CLOUDTRAIL,
        "GetTrailStatus",
        actions::CLOUDTRAIL_GET_TRAIL_STATUS,
    );
    let flag =
        |trail: &Value, field: &str| trail.get(field).and_then(Value::as_bool).unwrap_or(false);
    let mut found = Vec::new();
    for trail in items(&answer, "trailList") {
        let name = text(trail, "Name").unwrap_or_default();
        let arn = text(trail, "TrailARN");
        let asked = arn.clone().unwrap_or_else(|| name.clone());
        let is_logging = wire
            .json(status, &json!({ "Name": asked }))
            .await
            .and_then(|answer| {
                answer
                    .get("IsLogging")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| missing(status.action, "IsLogging"))
            });
        found.push(Trail {
            name,
            arn,
            home_region: text(trail, "HomeRegion"),
            multi_region: flag(trail, "IsMultiRegionTrail"),
            log_file_validation: flag(trail, "LogFileValidationEnabled"),
            is_logging,
        });
    }
    Ok(found)
}

/// The log group `/aws/eks/<cluster>/cluster`; `Ok(None)` when it does not exist.
pub async fn eks_log_group(
    clients: &Clients,
    region: &str,
    cluster: &str,
) -> Lookup<Option<LogGroup>> {
    let wire = clients.wire(region).await;
    let describe = call(
        &services::LOGS,
        "DescribeLogGroups",
        actions::LOGS_DESCRIBE_LOG_GROUPS,
    );
    let name = format!("/aws/eks/{cluster}/cluster");
    let pages = wire
        .json_pages(describe, json!({ "logGroupNamePrefix": name }), "nextToken")
        .await?;
    Ok(pages
        .iter()
        .flat_map(|page| items(page, "logGroups"))
        .find(|group| text(group, "logGroupName").as_deref() == Some(name.as_str()))
        .map(|group| LogGroup {
            name: name.clone(),
            retention_days: group
                .get("retentionInDays")
                .and_then(Value::as_i64)
                .and_then(|days| i32::try_from(days).ok()),
        }))
}

/// The region's GuardDuty detectors with their EKS protections.
pub async fn detectors(clients: &Clients, region: &str) -> Lookup<Vec<Detector>> {
    let wire = clients.wire(region).await;
    let list = call(
        &services::GUARDDUTY,
        "ListDetectors",
        actions::GUARDDUTY_LIST_DETECTORS,
    );
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &token {
            Some(token) => format!("/detector?nextToken={}", encode(token)),
            None => "/detector".to_string(),
        };
        let page = wire.rest_get(list, &path).await?;
        ids.extend(
            items(&page, "detectorIds")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        match text(&page, "nextToken").filter(|t| !t.is_empty()) {
            Some(next) if token.as_ref() != Some(&next) => token = Some(next),
            _ => break,
        }
    }
    let get = call(
        &services::GUARDDUTY,
        "GetDetector",
        actions::GUARDDUTY_GET_DETECTOR,
    );
    let mut found = Vec::new();
    for id in ids {
        let answer = wire
            .rest_get(get, &format!("/detector/{}", encode(&id)))
            .await?;
        found.push(detector(id, &answer));
    }
    Ok(found)
}

/// A GetDetector answer: `features` (current API) win over `dataSources` (older API).
pub fn detector(id: String, answer: &Value) -> Detector {
    let feature = |names: &[&str]| {
        items(answer, "features")
            .iter()
            .find(|f| text(f, "name").is_some_and(|n| names.contains(&n.as_str())))
            .and_then(|f| text(f, "status"))
            .map(|status| status == "ENABLED")
    };
    let audit_source = answer
        .pointer("/dataSources/kubernetes/auditLogs/status")
        .and_then(Value::as_str)
        .map(|status| status == "ENABLED");
    Detector {
        id,
        status: text(answer, "status").unwrap_or_default(),
        eks_audit_logs: feature(&["EKS_AUDIT_LOGS"]).or(audit_source),
        eks_runtime_monitoring: feature(&["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]),
    }
}

/// GetEbsEncryptionByDefault.
pub async fn ebs_encryption_by_default(clients: &Clients, region: &str) -> Lookup<bool> {
    let wire = clients.wire(region).await;
    let get = call(
        &services::EC2,
        "GetEbsEncryptionByDefault",
        actions::EC2_GET_EBS_ENCRYPTION_BY_DEFAULT,
    );
    let answer = wire.query(get, &[]).await?;
    let document = answer.document()?;
    let value = result_of(&document, get.operation)
        .text_of("ebsEncryptionByDefault")
        .ok_or_else(|| missing(get.action, "ebsEncryptionByDefault"))?;
    Ok(value.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors_read_features_before_data_sources() {
        let current = json!({"status": "ENABLED", "features": [
            {"name": "EKS_AUDIT_LOGS", "status": "ENABLED"},
            {"name": "RUNTIME_MONITORING", "status": "DISABLED"}],
            "dataSources": {"kubernetes": {"auditLogs": {"status": "DISABLED"}}}});
        let read = detector("d1".into(), &current);
        assert_eq!(read.eks_audit_logs, Some(true));
        assert_eq!(read.eks_runtime_monitoring, Some(false));
        let older = json!({"status": "ENABLED", "dataSources": {"kubernetes": {"auditLogs": {"status": "ENABLED"}}}});
        let read = detector("d2".into(), &older);
        assert_eq!(read.eks_audit_logs, Some(true));
        assert_eq!(read.eks_runtime_monitoring, None);
        assert_eq!(detector("d3".into(), &json!({})).status, "");
    }
}
