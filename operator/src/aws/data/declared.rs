//! Data stores declared in the cluster: ACK (`s3.services.k8s.aws`, `rds.services.k8s.aws`) and
//! Crossplane (`s3.aws.upbound.io`, `rds.aws.upbound.io` and their namespaced `.m.` groups)
//! objects of the in-scope namespaces name S3 buckets and RDS databases, which link to the policy
//! as the workloads' stores do. Read once per refresh cycle, only for the kinds the API server
//! serves; a kind the operator may not list is skipped with a warning, never an error of the
//! policy (its stores may still be linked through roles).

use std::collections::BTreeSet;

use hipaa_controls::aws::{LookupError, RdsKind};
use hipaa_controls::model::ResourceRef;
use hipaa_controls::redact::Redacted;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::{Client, ResourceExt, discovery};

/// The Crossplane annotation naming the external resource.
const EXTERNAL_NAME: &str = "crossplane.io/external-name";
/// The label Crossplane sets on a cluster-scoped managed resource made for a namespaced claim.
const CLAIM_NAMESPACE: &str = "crossplane.io/claim-namespace";

/// What a declaring object names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeclaredName {
    Bucket(String),
    Database { kind: RdsKind, identifier: String },
}

/// A store an in-scope object declares.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeclaredStore {
    /// The object, its kind qualified by group (`Bucket.s3.services.k8s.aws`).
    pub object: ResourceRef,
    pub store: DeclaredName,
}

/// How a kind of object names its store.
#[derive(Clone, Copy, Debug)]
enum Naming {
    /// A spec field (ACK), else the object's name.
    Spec(&'static str),
    /// The external-name annotation (Crossplane), else the object's name.
    ExternalName,
}

/// One kind of declaring object.
#[derive(Clone, Debug)]
struct DeclaringKind {
    group: &'static str,
    kind: &'static str,
    naming: Naming,
    store: Option<RdsKind>,
}

const fn ack(
    group: &'static str,
    kind: &'static str,
    field: &'static str,
    store: Option<RdsKind>,
) -> DeclaringKind {
    DeclaringKind {
        group,
        kind,
        naming: Naming::Spec(field),
        store,
    }
}

const fn crossplane(
    group: &'static str,
    kind: &'static str,
    store: Option<RdsKind>,
) -> DeclaringKind {
    DeclaringKind {
        group,
        kind,
        naming: Naming::ExternalName,
        store,
    }
}

const KINDS: &[DeclaringKind] = &[
    ack("s3.services.k8s.aws", "Bucket", "name", None),
    ack(
        "rds.services.k8s.aws",
        "DBInstance",
        "dbInstanceIdentifier",
        Some(RdsKind::Instance),
    ),
    ack(
        "rds.services.k8s.aws",
        "DBCluster",
        "dbClusterIdentifier",
        Some(RdsKind::Cluster),
    ),
    crossplane("s3.aws.upbound.io", "Bucket", None),
    crossplane("rds.aws.upbound.io", "Instance", Some(RdsKind::Instance)),
    crossplane("rds.aws.upbound.io", "Cluster", Some(RdsKind::Cluster)),
    crossplane("s3.aws.m.upbound.io", "Bucket", None),
    crossplane("rds.aws.m.upbound.io", "Instance", Some(RdsKind::Instance)),
    crossplane("rds.aws.m.upbound.io", "Cluster", Some(RdsKind::Cluster)),
];

/// Every store the objects of the served declaring kinds in `scope` name. One discovery call
/// when none is installed (the usual case): the kinds of groups the API server does not serve
/// are not asked for.
pub async fn declared_stores(
    kube: Option<&Client>,
    scope: &BTreeSet<String>,
) -> Result<Vec<DeclaredStore>, LookupError> {
    let Some(client) = kube else {
        return Err(LookupError::new(
            "NoKubernetesClient",
            "the ACK and Crossplane objects cannot be read before the operator has started",
        ));
    };
    let served = client.list_api_groups().await.map_err(|error| {
        LookupError::new(
            "KubernetesApiError",
            format!("discovering the API groups: {}", Redacted(&error)),
        )
    })?;
    let mut stores = Vec::new();
    for kind in KINDS {
        let Some(group) = served.groups.iter().find(|g| g.name == kind.group) else {
            continue;
        };
        // The preferred version first, then the others the group serves.
        let mut versions: Vec<&str> = group
            .preferred_version
            .iter()
            .map(|v| v.version.as_str())
            .collect();
        versions.extend(group.versions.iter().map(|v| v.version.as_str()));
        for object in list_kind(client, kind, &versions).await {
            if let Some(store) = declared(kind, &object, scope) {
                stores.push(store);
            }
        }
    }
    stores.sort();
    stores.dedup();
    Ok(stores)
}

/// The objects of `kind` in the first of `versions` that serves it; none when it may not be
/// listed (logged).
async fn list_kind(client: &Client, kind: &DeclaringKind, versions: &[&str]) -> Vec<DynamicObject> {
    for version in versions {
        let gvk = GroupVersionKind::gvk(kind.group, version, kind.kind);
        let resource = match discovery::pinned_kind(client, &gvk).await {
            Ok((resource, _)) => resource,
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(kube::Error::Discovery(_)) => continue,
            Err(error) => {
                tracing::warn!(group = kind.group, kind = kind.kind, error = %Redacted(&error), "discovering a declaring kind failed; its stores are not linked this cycle");
                return Vec::new();
            }
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        return match api.list(&ListParams::default()).await {
            Ok(list) => list.items,
            Err(error) => {
                tracing::warn!(group = kind.group, kind = kind.kind, error = %Redacted(&error), "listing a declaring kind failed; its stores are not linked this cycle");
                Vec::new()
            }
        };
    }
    Vec::new()
}

/// The store `object` declares, when it is in scope (its namespace, or the namespace of the
/// claim it was made for) and names one.
fn declared(
    kind: &DeclaringKind,
    object: &DynamicObject,
    scope: &BTreeSet<String>,
) -> Option<DeclaredStore> {
    let namespace = object
        .namespace()
        .or_else(|| object.labels().get(CLAIM_NAMESPACE).cloned())?;
    if !scope.contains(&namespace) {
        return None;
    }
    let named = match kind.naming {
        Naming::Spec(field) => object
            .data
            .get("spec")
            .and_then(|spec| spec.get(field))
            .and_then(|value| value.as_str())
            .map(str::to_string),
        Naming::ExternalName => object.annotations().get(EXTERNAL_NAME).cloned(),
    };
    let name = named
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| object.name_any());
    let store = match &kind.store {
        None => DeclaredName::Bucket(name),
        Some(rds) => DeclaredName::Database {
            kind: rds.clone(),
            identifier: name,
        },
    };
    Some(DeclaredStore {
        object: ResourceRef::new(
            format!("{}.{}", kind.kind, kind.group),
            object.namespace().as_deref(),
            object.name_any(),
        ),
        store,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn object(value: serde_json::Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn ack_and_crossplane_objects_in_scope_name_their_stores() {
        let scope = BTreeSet::from(["billing".to_string()]);
        let bucket = object(
            serde_json::json!({"apiVersion": "s3.services.k8s.aws/v1alpha1",
            "kind": "Bucket", "metadata": {"name": "records", "namespace": "billing"},
            "spec": {"name": "billing-records-prod"}}),
        );
        let found = declared(&KINDS[0], &bucket, &scope).unwrap();
        assert_eq!(
            found.store,
            DeclaredName::Bucket("billing-records-prod".into())
        );
        assert_eq!(found.object.kind, "Bucket.s3.services.k8s.aws");

        let instance = object(
            serde_json::json!({"apiVersion": "rds.aws.upbound.io/v1beta3",
            "kind": "Instance", "metadata": {"name": "db-x7k2", "labels": {CLAIM_NAMESPACE: "billing"},
            "annotations": {EXTERNAL_NAME: "billing-db"}}, "spec": {}}),
        );
        let found = declared(&KINDS[4], &instance, &scope).unwrap();
        assert_eq!(
            found.store,
            DeclaredName::Database {
                kind: RdsKind::Instance,
                identifier: "billing-db".into()
            }
        );
        assert_eq!(
            found.object.namespace, None,
            "a cluster-scoped managed resource"
        );

        let elsewhere = object(
            serde_json::json!({"apiVersion": "s3.services.k8s.aws/v1alpha1",
            "kind": "Bucket", "metadata": {"name": "x", "namespace": "dev"}, "spec": {"name": "x"}}),
        );
        assert!(declared(&KINDS[0], &elsewhere, &scope).is_none());
        let unclaimed = object(
            serde_json::json!({"apiVersion": "s3.aws.upbound.io/v1beta1",
            "kind": "Bucket", "metadata": {"name": "logs"}, "spec": {}}),
        );
        assert!(
            declared(&KINDS[3], &unclaimed, &scope).is_none(),
            "no claim namespace: not in scope"
        );
    }
}
