//! The operator's own account (STS GetCallerIdentity, which needs no permission): DynamoDB's
//! ListTables names tables without their ARNs, and role policies grant tables by ARN.

use hipaa_controls::aws::Lookup;

use super::super::clients::Clients;
use super::super::wire::query::{XmlNode, result_of};
use super::super::wire::services;
use super::{call, missing};

/// The IAM action of GetCallerIdentity (allowed to every principal).
pub const STS_GET_CALLER_IDENTITY: &str = "sts:GetCallerIdentity";

/// The account ID of the operator's credentials.
pub async fn caller_account(clients: &Clients, region: &str) -> Lookup<String> {
    let wire = clients.wire(region).await;
    let identity = call(&services::STS, "GetCallerIdentity", STS_GET_CALLER_IDENTITY);
    let answer = wire.query(identity, &[]).await?;
    let document = answer.document()?;
    result_of(&document, "GetCallerIdentity")
        .text_of("Account")
        .filter(|account| !account.is_empty())
        .ok_or_else(|| missing(STS_GET_CALLER_IDENTITY, "Account"))
}
