//! DynamoDB tables: ListTables for the inventory, then DescribeTable (encryption) and
//! DescribeContinuousBackups (point-in-time recovery) per table, each its own lookup.

use hipaa_controls::aws::{DynamoTable, Lookup, SseType, StoreLinks};
use serde_json::{Value, json};

use super::super::clients::Clients;
use super::super::error::actions;
use super::super::wire::json::{items, text};
use super::super::wire::services;
use super::{call, missing};

/// The names of the region's tables (ListTables, every page).
pub async fn list_tables(clients: &Clients, region: &str) -> Lookup<Vec<String>> {
    let list = call(
        &services::DYNAMODB,
        "ListTables",
        actions::DYNAMODB_LIST_TABLES,
    );
    let wire = clients.wire(region).await;
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    // ListTables pages by `ExclusiveStartTableName` / `LastEvaluatedTableName`.
    loop {
        let input = match &start {
            Some(name) => json!({ "ExclusiveStartTableName": name }),
            None => json!({}),
        };
        let page = wire.json(list, &input).await?;
        names.extend(
            items(&page, "TableNames")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        match text(&page, "LastEvaluatedTableName") {
            Some(next) if start.as_ref() != Some(&next) => start = Some(next),
            _ => return Ok(names),
        }
    }
}

/// Table `name`: its encryption (DescribeTable; a failure fails the table) and its
/// point-in-time recovery (DescribeContinuousBackups, its own lookup).
pub async fn table(clients: &Clients, region: &str, name: &str) -> Lookup<DynamoTable> {
    let wire = clients.wire(region).await;
    let describe = call(
        &services::DYNAMODB,
        "DescribeTable",
        actions::DYNAMODB_DESCRIBE_TABLE,
    );
    let answer = wire.json(describe, &json!({ "TableName": name })).await?;
    let table = answer
        .get("Table")
        .ok_or_else(|| missing(describe.action, "Table"))?;
    let backups = call(
        &services::DYNAMODB,
        "DescribeContinuousBackups",
        actions::DYNAMODB_DESCRIBE_CONTINUOUS_BACKUPS,
    );
    let point_in_time_recovery = wire
        .json(backups, &json!({ "TableName": name }))
        .await
        .map(|answer| {
            answer
                .pointer("/ContinuousBackupsDescription/PointInTimeRecoveryDescription/PointInTimeRecoveryStatus")
                .and_then(Value::as_str)
                == Some("ENABLED")
        });
    Ok(table_snapshot(name, table, point_in_time_recovery))
}

/// A DescribeTable `Table` as the snapshot keeps it.
pub fn table_snapshot(
    name: &str,
    table: &Value,
    point_in_time_recovery: Lookup<bool>,
) -> DynamoTable {
    let sse = table.get("SSEDescription");
    // An SSEDescription whose status is not ENABLED/UPDATING is the AWS-owned key's default.
    let sse_on = sse
        .and_then(|s| text(s, "Status"))
        .is_some_and(|status| status == "ENABLED" || status == "UPDATING");
    DynamoTable {
        name: text(table, "TableName").unwrap_or_else(|| name.to_string()),
        arn: text(table, "TableArn").unwrap_or_default(),
        sse_type: sse
            .filter(|_| sse_on)
            .and_then(|s| text(s, "SSEType"))
            .map(|t| SseType::from_aws(&t)),
        kms_key_arn: sse.and_then(|s| text(s, "KMSMasterKeyArn")),
        point_in_time_recovery,
        links: StoreLinks::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keep_their_key_only_while_encryption_is_on() {
        let kms = json!({"TableName": "t", "TableArn": "arn:aws:dynamodb:us-east-1:1:table/t",
            "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": "arn:k"}});
        let table = table_snapshot("t", &kms, Ok(true));
        assert_eq!(table.sse_type, Some(SseType::Kms));
        assert_eq!(table.kms_key_arn.as_deref(), Some("arn:k"));
        assert_eq!(table.point_in_time_recovery, Ok(true));
        let default = table_snapshot("t", &json!({"TableName": "t"}), Ok(false));
        assert_eq!(default.sse_type, None);
        assert_eq!(default.arn, "");
        let disabling = json!({"SSEDescription": {"Status": "DISABLED", "SSEType": "KMS"}});
        assert_eq!(table_snapshot("t", &disabling, Ok(false)).sse_type, None);
    }
}
