//! The IAM side of data-store linking: the roles in-scope workloads assume (through IRSA or EKS
//! Pod Identity), their attached and inline policy documents, and the path a workload takes to a
//! data store (workload → ServiceAccount → role → store). The operator's collectors fill these;
//! nothing here calls AWS.

use serde::{Deserialize, Serialize};

use crate::model::ResourceRef;

use super::{Lookup, aws_enum};

/// The ServiceAccount annotation of IAM Roles for Service Accounts (IRSA).
pub const IRSA_ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

aws_enum! {
    /// How a ServiceAccount is bound to its IAM role.
    IdentitySource {
        /// The ServiceAccount's `eks.amazonaws.com/role-arn` annotation.
        Irsa = "IRSA",
        /// An EKS Pod Identity association for the namespace and ServiceAccount.
        PodIdentity = "PodIdentity",
    }
}

/// One workload that runs with a role: the workload, its ServiceAccount, and how the role is
/// bound to it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleUse {
    pub workload: ResourceRef,
    pub service_account: String,
    pub source: IdentitySource,
}

/// An IAM role as GetRole, ListAttachedRolePolicies / GetPolicy / GetPolicyVersion and
/// ListRolePolicies / GetRolePolicy report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamRole {
    /// `Role.Arn`.
    pub arn: String,
    /// `Role.RoleName`.
    pub name: String,
    /// The attached managed policies and the inline ones, each with its document or why it could
    /// not be read.
    #[serde(default)]
    pub policies: Vec<RolePolicy>,
    /// Why the policy lists could not be read (ListAttachedRolePolicies, ListRolePolicies); the
    /// role's grants are then unknown, which is an Error, never a Pass.
    #[serde(default)]
    pub policies_error: Option<super::LookupError>,
    /// The workloads that run with the role.
    #[serde(default)]
    pub used_by: Vec<RoleUse>,
}

/// One policy of a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolePolicy {
    /// The policy's name (an inline policy's name, or a managed policy's `PolicyName`).
    pub name: String,
    /// A managed policy's ARN; `None` for an inline policy.
    #[serde(default)]
    pub arn: Option<String>,
    /// A managed policy's default version (`v3`): documents are cached by ARN and version.
    #[serde(default)]
    pub version: Option<String>,
    /// The policy document.
    pub document: Lookup<PolicyDocument>,
}

aws_enum! {
    /// A statement's `Effect`.
    Effect {
        Allow = "Allow",
        Deny = "Deny",
    }
}

/// An IAM policy document, as far as linking reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

/// One statement. `Action`/`NotAction` and `Resource`/`NotResource` are kept apart: a statement
/// with `NotAction` grants every action but those.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(default)]
    pub sid: Option<String>,
    pub effect: Option<Effect>,
    /// `Action` patterns (`s3:GetObject`, `s3:Get*`, `*`).
    #[serde(default)]
    pub actions: Vec<String>,
    /// `NotAction` patterns.
    #[serde(default)]
    pub not_actions: Vec<String>,
    /// `Resource` patterns (ARNs with `*` and `?`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// `NotResource` patterns.
    #[serde(default)]
    pub not_resources: Vec<String>,
    /// `Principal` (bucket policies); `"*"` or `{"AWS": "*"}` is everyone.
    #[serde(default)]
    pub principal: Option<serde_json::Value>,
    /// `Condition`, kept as written: conditions are reported, not evaluated.
    #[serde(default)]
    pub condition: Option<serde_json::Value>,
}

/// Why a policy document could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid IAM policy document: {0}")]
pub struct PolicyParseError(pub String);

impl PolicyDocument {
    /// Parses a policy document as IAM returns it (JSON; `Statement` an object or an array;
    /// `Action`, `Resource` and their `Not` forms a string or an array of strings).
    pub fn parse(json: &str) -> Result<PolicyDocument, PolicyParseError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| PolicyParseError(e.to_string()))?;
        let statements = match value.get("Statement") {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) => items.iter().collect(),
            Some(single @ serde_json::Value::Object(_)) => vec![single],
            Some(_) => {
                return Err(PolicyParseError(
                    "Statement is neither an object nor an array".to_string(),
                ));
            }
        };
        let statements = statements
            .into_iter()
            .map(statement)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PolicyDocument { statements })
    }
}

fn statement(value: &serde_json::Value) -> Result<Statement, PolicyParseError> {
    let serde_json::Value::Object(fields) = value else {
        return Err(PolicyParseError("a statement is not an object".to_string()));
    };
    let strings = |name: &str| -> Result<Vec<String>, PolicyParseError> {
        match fields.get(name) {
            None => Ok(Vec::new()),
            Some(serde_json::Value::String(one)) => Ok(vec![one.clone()]),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        PolicyParseError(format!("{name} holds a value that is not a string"))
                    })
                })
                .collect(),
            Some(_) => Err(PolicyParseError(format!(
                "{name} is neither a string nor an array"
            ))),
        }
    };
    Ok(Statement {
        sid: fields
            .get("Sid")
            .and_then(|s| s.as_str())
            .map(str::to_string),
        effect: fields
            .get("Effect")
            .and_then(|e| e.as_str())
            .map(Effect::from_aws),
        actions: strings("Action")?,
        not_actions: strings("NotAction")?,
        resources: strings("Resource")?,
        not_resources: strings("NotResource")?,
        principal: fields.get("Principal").cloned(),
        condition: fields.get("Condition").cloned(),
    })
}

/// How one workload reaches one data store: through which role, with which allowed actions, and
/// whether the granting statements carry conditions (reported, not evaluated).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreAccess {
    pub workload: ResourceRef,
    pub role_arn: String,
    /// The allowed action patterns that grant access to this store (as written, deduplicated).
    #[serde(default)]
    pub actions: Vec<String>,
    /// True when a granting statement has a `Condition`.
    #[serde(default)]
    pub conditional: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_listed_forms() {
        let document = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::a","arn:aws:s3:::a/*"],"Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#,
        )
        .unwrap_or_default();
        let [statement] = document.statements.as_slice() else {
            panic!("one statement expected: {document:?}");
        };
        assert_eq!(statement.effect, Some(Effect::Allow));
        assert_eq!(statement.actions, vec!["s3:*"]);
        assert_eq!(statement.resources.len(), 2);
        assert!(statement.condition.is_some());
    }

    #[test]
    fn rejects_what_is_not_a_policy() {
        assert!(PolicyDocument::parse("not json").is_err());
        assert!(PolicyDocument::parse(r#"{"Statement": 3}"#).is_err());
        assert!(PolicyDocument::parse(r#"{"Statement": [{"Action": 3}]}"#).is_err());
    }
}
