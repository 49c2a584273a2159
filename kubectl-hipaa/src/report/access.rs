//! The report's access review: for each PHI namespace in the report's scope, who can read its
//! Secrets, exec into its pods or rewrite its workloads, and through which binding, role and
//! rule (the same answer as `kubectl hipaa access`, docs/access.md). A reader who may not list
//! RBAC objects still gets the rest of the report, with the review marked unavailable and why.
//! The IAM principals behind the EKS clusters' access entries follow (`eks_access`).

use hipaa_controls::HipaaPolicy;
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client};
use serde::Serialize;

use crate::access::{NamespaceAccess, ReviewedGrant, access_document};
use crate::cluster::read::list_all;

use super::eks_access::{EksClusterPrincipals, eks_principals};

/// The sections of 45 CFR the review is evidence for.
pub const ACCESS_SECTIONS: &str = "164.308(a)(3)(ii)(B), 164.308(a)(4)(ii)(B)–(C), 164.312(a)(1)";

pub const ACCESS_HEADERS: [&str; 6] = [
    "Subject",
    "Access",
    "Allowed",
    "Verbs",
    "Resources",
    "Granted by",
];

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessReview {
    /// Why there is no review (the RBAC objects could not be read); None when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    pub namespaces: Vec<NamespaceAccess>,
    /// The IAM principals mapped into each linked EKS cluster (from the policies' status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eks_clusters: Vec<EksClusterPrincipals>,
}

/// Reads what the review needs; a failure becomes the review's `unavailable` reason.
pub async fn read(
    client: &Client,
    policies: &[HipaaPolicy],
    only_namespace: Option<&str>,
) -> AccessReview {
    let review = async {
        let namespaces = list_all(&Api::<Namespace>::all(client.clone()))
            .await?
            .unwrap_or_default();
        let rbac = crate::cluster::read::rbac(client).await?;
        access_document(policies, &namespaces, &rbac, only_namespace, None)
    };
    match review.await {
        Ok(document) => AccessReview {
            unavailable: None,
            namespaces: document.namespaces,
            eks_clusters: eks_principals(policies),
        },
        Err(err) => AccessReview {
            unavailable: Some(format!("{err:#}")),
            namespaces: Vec::new(),
            eks_clusters: eks_principals(policies),
        },
    }
}

/// One row of a namespace's table.
pub fn access_row(reviewed: &ReviewedGrant) -> [String; 6] {
    let grant = &reviewed.grant;
    let mut resources = grant.resources.join(", ");
    if let Some(names) = &grant.names {
        resources.push_str(&format!(" (only {})", names.join(", ")));
    }
    [
        grant.subject.to_string(),
        grant.access.to_string(),
        reviewed.allowed_text().to_owned(),
        grant.verbs.join(", "),
        resources,
        grant.path(),
    ]
}

/// The sentence under the section's title.
pub fn introduction() -> String {
    format!(
        "Who can read Secrets, exec, attach, port-forward or debug into pods, or create and \
         rewrite workloads in each PHI namespace, with the binding, role and rule that grant it \
         (45 CFR {ACCESS_SECTIONS}). Members of system:masters bypass RBAC and appear only where \
         a binding names the group."
    )
}

/// A namespace's heading: `billing (HipaaPolicy production-phi)`.
pub fn heading(namespace: &NamespaceAccess) -> String {
    if namespace.policies.is_empty() {
        format!("{} (no HipaaPolicy selects it)", namespace.namespace)
    } else {
        format!(
            "{} (HipaaPolicy {})",
            namespace.namespace,
            namespace.policies.join(", ")
        )
    }
}
