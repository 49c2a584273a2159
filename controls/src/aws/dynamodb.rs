//! The DynamoDB controls over the tables in-scope workloads reach: encryption with a
//! customer-managed KMS key, and point-in-time recovery.

use chrono::{DateTime, Utc};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::eks::customer_managed;
use super::judge::{Judge, Verdict};
use super::kms::is_aws_managed_alias;
use super::stores::{DynamoTable, SseType};
use super::{AwsSnapshot, KIND_DYNAMODB_TABLE, LookedUp};

const DYNAMODB_CONTROLS: &[&str] = &[ids::DYNAMODB_KMS, ids::DYNAMODB_PITR];

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<DynamoTable>,
    snapshot: &AwsSnapshot,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let table = match &looked_up.result {
        Ok(table) => table,
        Err(error) => {
            let resource = ResourceRef::new(KIND_DYNAMODB_TABLE, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("DynamoDB table {}", looked_up.requested);
            judge.lookup_failed(DYNAMODB_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_DYNAMODB_TABLE, None, table.name.clone());
    let mut judge = Judge::new(policy, now, resource).also_named([table.arn.clone()]);
    judge.judge(ids::DYNAMODB_KMS, |_| customer_key(table, snapshot));
    judge.judge(ids::DYNAMODB_PITR, |_| point_in_time_recovery(table));
    judge
}

/// HIPAA-DYNAMODB-KMS: SSE type KMS with a key KMS reports as customer-managed. The ARN of the
/// AWS-managed aws/dynamodb key is a plain key ARN, so only KMS can tell: a key that was not
/// looked up is an Error, never a Pass.
fn customer_key(table: &DynamoTable, snapshot: &AwsSnapshot) -> Verdict {
    let name = &table.name;
    let fix = "switch the table to a customer-managed KMS key";
    match &table.sse_type {
        Some(SseType::Kms) => {}
        None => {
            return Verdict::Fail(format!(
                "DynamoDB table {name} is encrypted with the AWS-owned default key, not a customer-managed KMS key: {fix}"
            ));
        }
        Some(other) => {
            return Verdict::Fail(format!(
                "DynamoDB table {name} has SSE type {other}, not KMS with a customer-managed key: {fix}"
            ));
        }
    }
    let Some(key_arn) = table
        .kms_key_arn
        .as_deref()
        .filter(|arn| !arn.trim().is_empty())
    else {
        return Verdict::Error(format!(
            "cannot evaluate DynamoDB table {name}: DescribeTable reported SSE type KMS but no KMSMasterKeyArn"
        ));
    };
    let subject = format!("DynamoDB table {name} is encrypted");
    if is_aws_managed_alias(key_arn) {
        return Verdict::Fail(format!(
            "{subject} with the AWS-managed KMS key {key_arn}, not a customer-managed key: {fix}"
        ));
    }
    match snapshot.kms_key(key_arn).map(|found| &found.result) {
        None => Verdict::Error(format!(
            "cannot evaluate DynamoDB table {name}: its key {key_arn} was not looked up in KMS, so whether it is the AWS-managed aws/dynamodb key is unknown"
        )),
        Some(Err(error)) => Verdict::Error(format!(
            "cannot evaluate DynamoDB table {name}: KMS key {key_arn}: {error}"
        )),
        Some(Ok(key)) => customer_managed(key, key_arn, &subject),
    }
}

/// HIPAA-DYNAMODB-PITR: continuous backups on.
fn point_in_time_recovery(table: &DynamoTable) -> Verdict {
    let name = &table.name;
    match &table.point_in_time_recovery {
        Ok(true) => Verdict::Pass,
        Ok(false) => Verdict::Fail(format!(
            "DynamoDB table {name} has point-in-time recovery off: enable continuous backups"
        )),
        Err(error) => Verdict::Error(format!("cannot evaluate DynamoDB table {name}: {error}")),
    }
}
