//! Data linking, the Kubernetes half: which ServiceAccounts in-scope workloads run as (and the
//! IRSA role each names), which in-scope Ingresses an AWS Load Balancer Controller serves, and
//! which in-scope claims live on EFS. A plain function of the observation, so that an unchanged
//! result means nothing new to look up; the AWS half (Pod Identity associations, roles, stores)
//! is looked up from these.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hipaa_controls::aws::{IdentitySource, RoleUse};
use hipaa_controls::model::ResourceRef;
use hipaa_controls::object::{Object, ObjectKind};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::networking::v1::Ingress;

use crate::observe::{Cached, Observation};

/// The Ingress class of the AWS Load Balancer Controller.
pub const ALB_INGRESS_CLASS: &str = "alb";
/// The IngressGroup annotation: Ingresses of one group share one ALB.
pub const ALB_GROUP_ANNOTATION: &str = "alb.ingress.kubernetes.io/group.name";
/// The legacy class annotation.
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// An in-scope Ingress an ALB may serve.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IngressLink {
    pub ingress: ResourceRef,
    /// `status.loadBalancer.ingress[].hostname`: the ALB's DNS name once provisioned.
    pub hostnames: BTreeSet<String>,
    /// The controller's `ingress.k8s.aws/stack` tag value: the group name, or `namespace/name`.
    pub stack: String,
}

/// A bound in-scope claim: its file system is read from its PersistentVolume.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoundClaim {
    pub claim: ResourceRef,
    pub volume: String,
}

/// Everything data linking starts from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataLinks {
    /// The in-scope namespaces (ACK and Crossplane objects in them declare stores).
    pub scope: BTreeSet<String>,
    /// The policy's EKS cluster (`spec.aws.eksClusterName`): its Pod Identity associations, and
    /// the `elbv2.k8s.aws/cluster` tag of the load balancers its controller made.
    pub cluster: Option<String>,
    /// Namespace → ServiceAccount → the in-scope workloads that run as it.
    pub accounts: BTreeMap<String, BTreeMap<String, BTreeSet<Arc<ResourceRef>>>>,
    /// Role ARN → the (namespace, ServiceAccount) pairs whose IRSA annotation names it.
    pub irsa: BTreeMap<String, BTreeSet<(String, String)>>,
    /// In-scope Ingresses of the ALB class, or with a load balancer hostname.
    pub ingresses: Vec<IngressLink>,
    /// EFS file system → in-scope claims of a StorageClass that provisions on it.
    pub efs_claims: BTreeMap<String, BTreeSet<ResourceRef>>,
    /// Bound in-scope claims whose PersistentVolume may be on EFS.
    pub bound_claims: Vec<BoundClaim>,
    /// Whether the policy applies any of the account-wide controls: their lookups (CloudTrail,
    /// CloudWatch Logs, GuardDuty, EC2) are made only then.
    pub account_controls: bool,
}

impl DataLinks {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.ingresses.is_empty()
            && self.efs_claims.is_empty()
            && self.bound_claims.is_empty()
    }

    /// The workloads that run as `service_account` in `namespace`.
    pub fn workloads_of(
        &self,
        namespace: &str,
        service_account: &str,
    ) -> Option<&BTreeSet<Arc<ResourceRef>>> {
        self.accounts.get(namespace)?.get(service_account)
    }

    /// The uses of a role by the workloads of the ServiceAccounts in `accounts`, bound by
    /// `source` (built on refresh only: an audit compares the links, not the uses).
    pub fn uses<'a>(
        &'a self,
        accounts: impl IntoIterator<Item = (&'a str, &'a str)> + 'a,
        source: IdentitySource,
    ) -> impl Iterator<Item = RoleUse> + 'a {
        accounts.into_iter().flat_map(move |(namespace, account)| {
            let source = source.clone();
            self.workloads_of(namespace, account)
                .into_iter()
                .flatten()
                .map(move |workload| RoleUse {
                    workload: workload.as_ref().clone(),
                    service_account: account.to_string(),
                    source: source.clone(),
                })
        })
    }
}

/// What `observation` links to AWS data.
pub fn link_data(observation: &Observation, cluster: Option<&str>) -> DataLinks {
    let mut links = DataLinks::start(observation, cluster);
    for cached in &observation.objects {
        if let Cached::Compact(object) = cached
            && let Some(facts) = object.pod.as_deref()
        {
            let workload = Arc::new(object.resource_ref());
            links.add_workload(&object.namespace, &facts.service_account, workload);
        }
    }
    links.finish(observation);
    links
}

impl DataLinks {
    /// The links of everything but the workloads: the Ingresses and the claims. The caller
    /// adds each workload ([`DataLinks::add_workload`], sharing the reference it made for the
    /// other links) and then [`DataLinks::finish`]es.
    pub fn start(observation: &Observation, cluster: Option<&str>) -> DataLinks {
        let mut links = DataLinks {
            scope: observation.scope.clone(),
            cluster: cluster.map(str::to_string),
            ..DataLinks::default()
        };
        for cached in &observation.objects {
            match cached {
                Cached::Compact(object) => {
                    if object.kind == ObjectKind::Ingress
                        && let Ok(Object::Ingress(ingress)) = object.decode()
                        && let Some(link) = ingress_link(&ingress, object.resource_ref())
                    {
                        links.ingresses.push(link);
                    }
                }
                Cached::PersistentVolumeClaim(claim) => links.add_claim(cached, claim, observation),
                Cached::Namespace(_) => {}
            }
        }
        links.ingresses.sort();
        links.bound_claims.sort();
        links
    }

    /// A workload that runs as `service_account` in `namespace`.
    pub fn add_workload(
        &mut self,
        namespace: &str,
        service_account: &str,
        workload: Arc<ResourceRef>,
    ) {
        // Looked up by reference first: most workloads share their namespace's few
        // ServiceAccounts, and an audit links every workload.
        let accounts = match self.accounts.get_mut(namespace) {
            Some(accounts) => accounts,
            None => self.accounts.entry(namespace.to_string()).or_default(),
        };
        match accounts.get_mut(service_account) {
            Some(workloads) => {
                workloads.insert(workload);
            }
            None => {
                accounts.insert(service_account.to_string(), BTreeSet::from([workload]));
            }
        }
    }

    /// The IRSA roles of the ServiceAccounts the workloads run as.
    pub fn finish(&mut self, observation: &Observation) {
        for ((namespace, account), role) in &observation.aws.service_account_roles {
            if self.workloads_of(namespace, account).is_some() {
                self.irsa
                    .entry(role.clone())
                    .or_default()
                    .insert((namespace.clone(), account.clone()));
            }
        }
    }

    fn add_claim(
        &mut self,
        cached: &Cached,
        claim: &PersistentVolumeClaim,
        observation: &Observation,
    ) {
        let reference = cached.resource_ref();
        let spec = claim.spec.as_ref();
        if let Some(volume) = spec.and_then(|s| s.volume_name.as_deref())
            && !volume.is_empty()
        {
            self.bound_claims.push(BoundClaim {
                claim: reference.clone(),
                volume: volume.to_string(),
            });
        }
        let class = spec.and_then(|s| s.storage_class_name.as_deref());
        if let Some(file_system) = class.and_then(|c| observation.aws.efs_storage_classes.get(c)) {
            self.efs_claims
                .entry(file_system.clone())
                .or_default()
                .insert(reference);
        }
    }
}

/// The Ingress as an ALB link, when the AWS Load Balancer Controller may serve it.
fn ingress_link(ingress: &Ingress, reference: ResourceRef) -> Option<IngressLink> {
    let annotations = ingress.metadata.annotations.as_ref();
    let class = ingress
        .spec
        .as_ref()
        .and_then(|spec| spec.ingress_class_name.as_deref())
        .or_else(|| annotations?.get(CLASS_ANNOTATION).map(String::as_str));
    let hostnames: BTreeSet<String> = ingress
        .status
        .as_ref()
        .and_then(|status| status.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.hostname.clone())
        .filter(|hostname| !hostname.is_empty())
        .collect();
    if class != Some(ALB_INGRESS_CLASS) && hostnames.is_empty() {
        return None;
    }
    let stack = match annotations.and_then(|a| a.get(ALB_GROUP_ANNOTATION)) {
        Some(group) if !group.trim().is_empty() => group.trim().to_string(),
        _ => format!(
            "{}/{}",
            reference.namespace.as_deref().unwrap_or_default(),
            reference.name
        ),
    };
    Some(IngressLink {
        ingress: reference,
        hostnames,
        stack,
    })
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
