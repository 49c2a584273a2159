//! IAM roles with their policy documents: GetRole; the attached managed policies
//! (ListAttachedRolePolicies, GetPolicy for the default version, GetPolicyVersion) and the
//! inline ones (ListRolePolicies, GetRolePolicy). A managed policy's document is read once per
//! version and kept in a [`PolicyCache`] the caller keeps across cycles (a version's document
//! never changes); its default version is read once per cycle.

use std::collections::HashMap;
use std::sync::Mutex;

use hipaa_controls::aws::{IamRole, Lookup, LookupError, PolicyDocument, RolePolicy};

use super::super::clients::Clients;
use super::super::error::actions;
use super::super::wire::query::{decode, result_of};
use super::super::wire::{Wire, XmlNode, services};
use super::{call, missing};

/// The code of a policy document that is not a valid IAM policy.
pub const MALFORMED_POLICY_DOCUMENT: &str = "MalformedPolicyDocument";

/// Managed policy documents by (policy ARN, version), kept across cycles, and the default
/// versions read in the current cycle.
#[derive(Debug, Default)]
pub struct PolicyCache {
    documents: Mutex<HashMap<(String, String), Lookup<PolicyDocument>>>,
    default_versions: Mutex<HashMap<String, Lookup<String>>>,
}

impl PolicyCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a cycle: default versions are read again (a policy may have a new one), documents
    /// are kept.
    pub fn new_cycle(&self) {
        lock(&self.default_versions).clear();
    }

    /// Documents held.
    pub fn documents(&self) -> usize {
        lock(&self.documents).len()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The role named by `name_or_arn` (`name` or `arn:aws:iam::<account>:role/<path>/<name>`) with
/// every policy. A failed GetRole fails the whole lookup; a failed list is kept in
/// `policies_error`; a failed document in its policy.
pub async fn role(
    clients: &Clients,
    region: &str,
    name_or_arn: &str,
    cache: &PolicyCache,
) -> Lookup<IamRole> {
    let wire = clients.wire(region).await;
    let requested = role_name(name_or_arn);
    let get = call(&services::IAM, "GetRole", actions::IAM_GET_ROLE);
    let answer = wire.query(get, &[("RoleName", requested)]).await?;
    let (arn, name) = {
        let document = answer.document()?;
        let role = result_of(&document, "GetRole")
            .child("Role")
            .ok_or_else(|| missing(actions::IAM_GET_ROLE, "Role"))?;
        let arn = role
            .text_of("Arn")
            .ok_or_else(|| missing(actions::IAM_GET_ROLE, "Role.Arn"))?;
        (
            arn,
            role.text_of("RoleName")
                .unwrap_or_else(|| requested.to_string()),
        )
    };
    let mut policies = Vec::new();
    let mut policies_error = None;
    match attached(&wire, &name).await {
        Ok(list) => {
            for (policy_name, policy_arn) in list {
                policies.push(managed(&wire, policy_name, policy_arn, cache).await);
            }
        }
        Err(error) => policies_error = Some(error),
    }
    match inline_names(&wire, &name).await {
        Ok(names) => {
            for policy_name in names {
                policies.push(inline(&wire, &name, policy_name).await);
            }
        }
        Err(error) => policies_error = policies_error.or(Some(error)),
    }
    Ok(IamRole {
        arn,
        name,
        policies,
        policies_error,
        used_by: Vec::new(),
    })
}

/// The role name of a role ARN (its path dropped), or the name as given.
pub fn role_name(name_or_arn: &str) -> &str {
    match name_or_arn.strip_prefix("arn:") {
        Some(arn) => arn.split_once(":role/").map_or(name_or_arn, |(_, path)| {
            path.rsplit('/').next().unwrap_or(path)
        }),
        None => name_or_arn,
    }
}

/// (PolicyName, PolicyArn) of every attached managed policy.
async fn attached(wire: &Wire<'_>, role: &str) -> Lookup<Vec<(String, String)>> {
    let list = call(
        &services::IAM,
        "ListAttachedRolePolicies",
        actions::IAM_LIST_ATTACHED_ROLE_POLICIES,
    );
    let pages = wire
        .query_pages(list, &[("RoleName", role)], "Marker", "Marker")
        .await?;
    let mut found = Vec::new();
    for page in &pages {
        let document = page.document()?;
        for member in result_of(&document, list.operation).members("AttachedPolicies") {
            if let (Some(name), Some(arn)) =
                (member.text_of("PolicyName"), member.text_of("PolicyArn"))
            {
                found.push((name, arn));
            }
        }
    }
    Ok(found)
}

async fn inline_names(wire: &Wire<'_>, role: &str) -> Lookup<Vec<String>> {
    let list = call(
        &services::IAM,
        "ListRolePolicies",
        actions::IAM_LIST_ROLE_POLICIES,
    );
    let pages = wire
        .query_pages(list, &[("RoleName", role)], "Marker", "Marker")
        .await?;
    let mut names = Vec::new();
    for page in &pages {
        let document = page.document()?;
        names.extend(
            result_of(&document, list.operation)
                .members("PolicyNames")
                .iter()
                .filter_map(|n| n.text())
                .map(|n| n.trim().to_string()),
        );
    }
    Ok(names)
}

/// A managed policy: its default version (once per cycle), then its document (once per version).
async fn managed(wire: &Wire<'_>, name: String, arn: String, cache: &PolicyCache) -> RolePolicy {
    // Bound first: a guard in the match scrutinee would be held across the await below.
    let known = lock(&cache.default_versions).get(&arn).cloned();
    let version = match known {
        Some(known) => known,
        None => {
            let read = default_version(wire, &arn).await;
            lock(&cache.default_versions).insert(arn.clone(), read.clone());
            read
        }
    };
    let version = match version {
        Ok(version) => version,
        Err(error) => {
            return RolePolicy {
                name,
                arn: Some(arn),
                version: None,
                document: Err(error),
            };
        }
    };
    let key = (arn.clone(), version.clone());
    let cached = lock(&cache.documents).get(&key).cloned();
    let document = match cached {
        Some(document) => document,
        None => {
            let read = policy_version(wire, &arn, &version).await;
            // A document that could not be fetched is asked again next cycle (the permission may
            // be granted by then); one that was fetched, even malformed, is that version's.
            if read.as_ref().is_ok()
                || read
                    .as_ref()
                    .is_err_and(|e| e.code == MALFORMED_POLICY_DOCUMENT)
            {
                lock(&cache.documents).insert(key, read.clone());
            }
            read
        }
    };
    RolePolicy {
        name,
        arn: Some(arn),
        version: Some(version),
        document,
    }
}

async fn default_version(wire: &Wire<'_>, arn: &str) -> Lookup<String> {
    let get = call(&services::IAM, "GetPolicy", actions::IAM_GET_POLICY);
    let answer = wire.query(get, &[("PolicyArn", arn)]).await?;
    let document = answer.document()?;
    result_of(&document, get.operation)
        .find("DefaultVersionId")
        .and_then(|n| n.text())
        .map(|v| v.trim().to_string())
        .ok_or_else(|| missing(get.action, "Policy.DefaultVersionId"))
}

async fn policy_version(wire: &Wire<'_>, arn: &str, version: &str) -> Lookup<PolicyDocument> {
    let get = call(
        &services::IAM,
        "GetPolicyVersion",
        actions::IAM_GET_POLICY_VERSION,
    );
    let answer = wire
        .query(get, &[("PolicyArn", arn), ("VersionId", version)])
        .await?;
    let document = answer.document()?;
    let text = result_of(&document, get.operation)
        .find("Document")
        .and_then(|n| n.text())
        .ok_or_else(|| missing(get.action, "PolicyVersion.Document"))?;
    parse_document(text, get.action)
}

async fn inline(wire: &Wire<'_>, role: &str, name: String) -> RolePolicy {
    let get = call(
        &services::IAM,
        "GetRolePolicy",
        actions::IAM_GET_ROLE_POLICY,
    );
    let document = async {
        let answer = wire
            .query(get, &[("RoleName", role), ("PolicyName", &name)])
            .await?;
        let document = answer.document()?;
        let text = result_of(&document, get.operation)
            .text_of("PolicyDocument")
            .ok_or_else(|| missing(get.action, "PolicyDocument"))?;
        parse_document(&text, get.action)
    }
    .await;
    RolePolicy {
        name,
        arn: None,
        version: None,
        document,
    }
}

/// A document as IAM returns it (URL-encoded JSON).
pub fn parse_document(text: &str, action: &str) -> Lookup<PolicyDocument> {
    let malformed =
        |why: String| LookupError::new(MALFORMED_POLICY_DOCUMENT, why).with_action(action);
    let json = decode(text.trim())
        .ok_or_else(|| malformed("the policy document is not UTF-8 once decoded".to_string()))?;
    PolicyDocument::parse(&json).map_err(|error| malformed(error.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn role_names_come_from_arns_without_their_path() {
        assert_eq!(role_name("app"), "app");
        assert_eq!(role_name("arn:aws:iam::123456789012:role/app"), "app");
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/team/a/app"),
            "app"
        );
    }

    #[test]
    fn documents_are_decoded_then_parsed() {
        let encoded = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D";
        let document = parse_document(encoded, actions::IAM_GET_POLICY_VERSION).unwrap();
        assert_eq!(document.statements[0].actions, ["s3:*"]);
        let broken =
            parse_document("%7B%22Statement%22%3A3%7D", actions::IAM_GET_ROLE_POLICY).unwrap_err();
        assert_eq!(broken.code, MALFORMED_POLICY_DOCUMENT);
        assert_eq!(broken.action.as_deref(), Some("iam:GetRolePolicy"));
    }
}
