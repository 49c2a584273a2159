//! Who a binding names ([`Subject`]) and who a request comes from ([`Identity`]), matched as the
//! API server's RBAC authorizer matches them (`appliesToUser`): a ServiceAccount is a user named
//! `system:serviceaccount:<namespace>:<name>` in the groups of all ServiceAccounts and of its
//! namespace's.

use k8s_openapi::api::rbac::v1 as rbac;
use serde::Serialize;

/// A subject of a RoleBinding or ClusterRoleBinding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind")]
pub enum Subject {
    User { name: String },
    Group { name: String },
    ServiceAccount { namespace: String, name: String },
}

/// A binding subject the model cannot use, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnusableSubject(pub String);

impl Subject {
    /// The subject a binding names; `binding_namespace` is the RoleBinding's namespace, which a
    /// ServiceAccount without one defaults to (None for a ClusterRoleBinding).
    pub fn from_binding(
        subject: &rbac::Subject,
        binding_namespace: Option<&str>,
    ) -> Result<Subject, UnusableSubject> {
        let name = subject.name.clone();
        match subject.kind.as_str() {
            "User" => Ok(Subject::User { name }),
            "Group" => Ok(Subject::Group { name }),
            "ServiceAccount" => {
                let namespace = subject
                    .namespace
                    .as_deref()
                    .filter(|ns| !ns.is_empty())
                    .or(binding_namespace)
                    .ok_or_else(|| {
                        UnusableSubject(format!("ServiceAccount {name} has no namespace"))
                    })?;
                Ok(Subject::ServiceAccount {
                    namespace: namespace.to_owned(),
                    name,
                })
            }
            other => Err(UnusableSubject(format!("unknown subject kind {other:?}"))),
        }
    }

    /// Whether a request from `identity` is this subject's.
    pub fn applies_to(&self, identity: &Identity) -> bool {
        match self {
            Subject::User { name } => identity.user == *name,
            Subject::Group { name } => identity.groups.iter().any(|g| g == name),
            Subject::ServiceAccount { namespace, name } => {
                identity.user == service_account_user(namespace, name)
            }
        }
    }

    /// The subject's kind as RBAC names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User { .. } => "User",
            Subject::Group { .. } => "Group",
            Subject::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    /// The name allow-lists match: `alice`, `system:masters`, `billing/api` for a ServiceAccount.
    pub fn qualified_name(&self) -> String {
        match self {
            Subject::User { name } | Subject::Group { name } => name.clone(),
            Subject::ServiceAccount { namespace, name } => format!("{namespace}/{name}"),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind(), self.qualified_name())
    }
}

/// The user a request comes from, as a SubjectAccessReview names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl Identity {
    /// A user in `groups` (the API server adds `system:authenticated` to every authenticated one).
    pub fn user(name: &str, groups: &[&str]) -> Identity {
        let mut groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        groups.push("system:authenticated".to_owned());
        Identity {
            user: name.to_owned(),
            groups,
        }
    }

    /// A ServiceAccount's token, as the API server authenticates it.
    pub fn service_account(namespace: &str, name: &str) -> Identity {
        Identity {
            user: service_account_user(namespace, name),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_owned(),
            ],
        }
    }
}

fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn subject(kind: &str, name: &str, namespace: Option<&str>) -> rbac::Subject {
        rbac::Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(Into::into),
            api_group: None,
        }
    }

    #[test]
    fn a_service_account_defaults_to_the_role_bindings_namespace() {
        let sa = Subject::from_binding(&subject("ServiceAccount", "api", None), Some("billing"));
        let sa = sa.unwrap();
        assert!(sa.applies_to(&Identity::service_account("billing", "api")));
        assert!(!sa.applies_to(&Identity::service_account("claims", "api")));
        assert_eq!(sa.to_string(), "ServiceAccount billing/api");
        let unqualified = Subject::from_binding(&subject("ServiceAccount", "api", None), None);
        assert!(unqualified.is_err());
    }

    #[test]
    fn groups_cover_service_accounts_and_every_authenticated_user() {
        let all_in_billing = Subject::Group {
            name: "system:serviceaccounts:billing".into(),
        };
        assert!(all_in_billing.applies_to(&Identity::service_account("billing", "x")));
        assert!(!all_in_billing.applies_to(&Identity::user("alice", &[])));
        let everyone = Subject::Group {
            name: "system:authenticated".into(),
        };
        assert!(everyone.applies_to(&Identity::user("alice", &["devs"])));
        assert!(everyone.applies_to(&Identity::service_account("a", "b")));
        assert!(Subject::from_binding(&subject("Robot", "r2", None), None).is_err());
    }
}
