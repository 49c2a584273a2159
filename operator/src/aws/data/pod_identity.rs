//! EKS Pod Identity associations: ListPodIdentityAssociations (paginated) for the cluster, then
//! DescribePodIdentityAssociation for each association of a ServiceAccount in-scope workloads run
//! as (the listing does not carry the role). Any call that fails fails the lookup, so that a role
//! bound through Pod Identity is never silently missing from the links.

use futures::future::try_join_all;
use hipaa_controls::aws::Lookup;

use super::found::PodIdentity;
use super::link::DataLinks;
use crate::aws::clients::{Clients, RegionClients};
use crate::aws::error::actions::{
    EKS_DESCRIBE_POD_IDENTITY_ASSOCIATION, EKS_LIST_POD_IDENTITY_ASSOCIATIONS,
};
use crate::aws::error::lookup_error;

/// The associations of `cluster` for the ServiceAccounts `links` names, with their roles.
pub async fn pod_identities(
    clients: &Clients,
    regional: &RegionClients,
    cluster: &str,
    links: &DataLinks,
) -> Lookup<Vec<PodIdentity>> {
    let listed = list(clients, regional, cluster).await?;
    let wanted = listed
        .into_iter()
        .filter(|(namespace, account, _)| links.workloads_of(namespace, account).is_some());
    let mut found = try_join_all(wanted.map(|(namespace, service_account, id)| async move {
        let role_arn = describe(clients, regional, cluster, &id).await?;
        Ok::<_, hipaa_controls::aws::LookupError>(role_arn.map(|role_arn| PodIdentity {
            namespace,
            service_account,
            role_arn,
        }))
    }))
    .await?
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    found.sort();
    Ok(found)
}

/// (namespace, ServiceAccount, association ID) of every association, every page.
async fn list(
    clients: &Clients,
    regional: &RegionClients,
    cluster: &str,
) -> Lookup<Vec<(String, String, String)>> {
    let mut associations = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let output = {
            let _permit = clients.permit().await;
            regional
                .eks
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| lookup_error(&error, EKS_LIST_POD_IDENTITY_ASSOCIATIONS))?
        };
        for summary in output.associations() {
            if let (Some(namespace), Some(account), Some(id)) = (
                summary.namespace(),
                summary.service_account(),
                summary.association_id(),
            ) {
                associations.push((namespace.to_string(), account.to_string(), id.to_string()));
            }
        }
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(associations),
        }
    }
}

/// The role of one association.
async fn describe(
    clients: &Clients,
    regional: &RegionClients,
    cluster: &str,
    id: &str,
) -> Lookup<Option<String>> {
    let _permit = clients.permit().await;
    let output = regional
        .eks
        .describe_pod_identity_association()
        .cluster_name(cluster)
        .association_id(id)
        .send()
        .await
        .map_err(|error| lookup_error(&error, EKS_DESCRIBE_POD_IDENTITY_ASSOCIATION))?;
    Ok(output
        .association()
        .and_then(|association| association.role_arn())
        .filter(|arn| !arn.is_empty())
        .map(str::to_string))
}
