//! DynamoDB: a table encrypted with a customer-managed KMS key and point-in-time recovery on, and
//! one with the AWS-owned default key and no recovery; the fetcher lists both and reads each
//! setting as seeded.

use hipaa_controls::aws::SseType;
use hipaa_operator::aws::fetch::dynamodb::{list_tables, table};
use hipaa_operator::aws::wire::services::DYNAMODB;
use serde_json::json;

use super::seed::{DataSeed, clients};
use crate::aws_support::{ACCOUNT, REGION, unique};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

async fn create(seed: &DataSeed, name: &str, kms: bool) {
    let mut input = json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    if kms {
        input["SSESpecification"] =
            json!({"Enabled": true, "SSEType": "KMS", "KMSMasterKeyId": KEY});
    }
    seed.json(REGION, &DYNAMODB, "CreateTable", input).await;
}

#[tokio::test]
async fn tables_report_their_key_and_point_in_time_recovery() {
    let seed = DataSeed::new().await;
    let (safe, plain) = (unique("orders"), unique("cache"));
    create(&seed, &safe, true).await;
    create(&seed, &plain, false).await;
    seed.json(
        REGION,
        &DYNAMODB,
        "UpdateContinuousBackups",
        json!({"TableName": safe, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .await;

    let clients = clients(None).await;
    let names = list_tables(&clients, REGION).await.unwrap();
    assert!(names.contains(&safe) && names.contains(&plain), "{names:?}");

    let found = table(&clients, REGION, &safe).await.unwrap();
    assert_eq!(found.name, safe);
    assert_eq!(
        found.arn,
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{safe}")
    );
    assert_eq!(found.sse_type, Some(SseType::Kms));
    assert_eq!(found.kms_key_arn.as_deref(), Some(KEY));
    assert_eq!(found.point_in_time_recovery, Ok(true));

    let found = table(&clients, REGION, &plain).await.unwrap();
    assert_eq!(found.sse_type, None);
    assert_eq!(found.kms_key_arn, None);
    assert_eq!(found.point_in_time_recovery, Ok(false));

    let missing = table(&clients, REGION, &unique("absent"))
        .await
        .unwrap_err();
    assert_eq!(missing.code, "ResourceNotFoundException");
    assert_eq!(missing.action.as_deref(), Some("dynamodb:DescribeTable"));
}
