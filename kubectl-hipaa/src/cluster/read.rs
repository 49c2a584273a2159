//! Reading from the cluster: paged lists of every object of a kind, tolerating kinds whose CRD
//! is not installed (Velero, or HIPAA Guard itself), and the context `scan --cluster` needs.

use std::fmt::Debug;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use hipaa_controls::access::RbacSet;
use hipaa_controls::object::KindInfo;
use hipaa_controls::object::kind::table;
use hipaa_controls::{BackupSchedule, ContextObjects, HipaaPolicy};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

const PAGE_SIZE: u32 = 500;

/// What `--cluster` read from the live cluster.
#[derive(Clone, Debug, Default)]
pub struct LiveContext {
    pub context: ContextObjects,
    /// Why the cluster's RBAC (in `context.rbac`) could not be read, if it could not.
    pub rbac_unreadable: Option<String>,
    pub policies: Vec<HipaaPolicy>,
}

/// Every object of `api`, page by page. `Ok(None)` when the kind is not served (404).
pub async fn list_all<K>(api: &Api<K>) -> Result<Option<Vec<K>>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(PAGE_SIZE);
    loop {
        let page = match api.list(&params).await {
            Ok(page) => page,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(err),
        };
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(Some(items)),
        }
    }
}

fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 404)
}

/// The resource a row of the kind table names, at its preferred version.
pub fn api_resource(row: &KindInfo) -> ApiResource {
    let gvk = GroupVersionKind::gvk(row.group(), row.version(), row.kind);
    ApiResource::from_gvk_with_plural(&gvk, row.plural)
}

/// Every HipaaPolicy; `Ok(None)` when the CRD is not installed.
pub async fn hipaa_policies(client: &Client) -> anyhow::Result<Option<Vec<HipaaPolicy>>> {
    list_all(&Api::<HipaaPolicy>::all(client.clone()))
        .await
        .context("cannot list HipaaPolicies")
}

/// Velero `Schedule` objects (velero.io/v1), as dynamic objects; empty when Velero is absent.
pub async fn velero_schedules(client: &Client) -> anyhow::Result<Vec<DynamicObject>> {
    let resource = api_resource(&table::VELERO_SCHEDULE);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    Ok(list_all(&api)
        .await
        .context("cannot list Velero Schedules")?
        .unwrap_or_default())
}

/// Every RBAC object and ServiceAccount; a kind the caller may not list is an error naming the
/// permission, since a review without it would leave subjects out.
pub async fn rbac(client: &Client) -> anyhow::Result<RbacSet> {
    async fn shared<K>(client: &Client, plural: &str) -> anyhow::Result<Vec<Arc<K>>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        let items = every(Api::<K>::all(client.clone()), plural).await?;
        Ok(items.into_iter().map(Arc::new).collect())
    }
    Ok(RbacSet {
        roles: shared(client, "roles").await?,
        cluster_roles: shared(client, "clusterroles").await?,
        role_bindings: shared(client, "rolebindings").await?,
        cluster_role_bindings: shared(client, "clusterrolebindings").await?,
        service_accounts: shared(client, "serviceaccounts").await?,
    })
}

/// Every object of `api`; not being served or allowed is an error that says which kind.
pub async fn every<K>(api: Api<K>, plural: &str) -> anyhow::Result<Vec<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match list_all(&api).await {
        Ok(Some(items)) => Ok(items),
        Ok(None) => bail!("the API server does not serve {plural}"),
        Err(kube::Error::Api(status)) if status.code == 403 => bail!(
            "not allowed to list {plural} in every namespace: the access review needs \
             `list` on {plural} cluster-wide ({})",
            status.message
        ),
        Err(err) => Err(err).with_context(|| format!("cannot list {plural}")),
    }
}

/// The context `scan --cluster` judges against, and the cluster's HipaaPolicies.
pub async fn live_context(client: &Client) -> anyhow::Result<LiveContext> {
    async fn all<K>(client: &Client, what: &str) -> anyhow::Result<Vec<Arc<K>>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        let items = list_all(&Api::<K>::all(client.clone()))
            .await
            .with_context(|| format!("cannot list {what}"))?
            .unwrap_or_default();
        Ok(items.into_iter().map(Arc::new).collect())
    }
    let schedules = velero_schedules(client).await?;
    let context = ContextObjects {
        namespaces: all::<Namespace>(client, "Namespaces").await?,
        network_policies: all::<NetworkPolicy>(client, "NetworkPolicies").await?,
        pvcs: all::<PersistentVolumeClaim>(client, "PersistentVolumeClaims").await?,
        storage_classes: all::<StorageClass>(client, "StorageClasses").await?,
        autoscalers: all::<HorizontalPodAutoscaler>(client, "HorizontalPodAutoscalers").await?,
        backup_schedules: schedules
            .iter()
            .map(|s| BackupSchedule::of(s.name_any(), s.data.get("spec")))
            .collect(),
        rbac: RbacSet::default(),
    };
    // Without RBAC read rights the scan still judges everything else; the access checks say why
    // they cannot.
    let (rbac, rbac_unreadable) = match rbac(client).await {
        Ok(set) => (set, None),
        Err(error) => (RbacSet::default(), Some(format!("{error:#}"))),
    };
    Ok(LiveContext {
        context: ContextObjects { rbac, ..context },
        rbac_unreadable,
        policies: hipaa_policies(client).await?.unwrap_or_default(),
    })
}
