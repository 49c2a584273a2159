//! Runs the data plan of one refresh: each phase's lookups concurrently (within the clients'
//! limit on calls in flight), each result kept with when it was made. The AWS calls are the
//! fetchers' ([`crate::aws::fetch`]); the PersistentVolumes come from the Kubernetes API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use hipaa_controls::aws::{AccountPosture, Lookup, LookupError, RdsKind};
use k8s_openapi::api::core::v1::PersistentVolume;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use super::declared::{DeclaredStore, declared_stores};
use super::found::{DataFound, ListedTable, PodIdentity, TaggedLoadBalancer};
use super::link::DataLinks;
use super::matching::file_system_of_handle;
use super::plan::{DataJob, first_data_jobs, prune_data, second_data_jobs, third_data_jobs};
use super::pod_identity::pod_identities;
use super::reach::ReachedStores;
use crate::aws::clients::Clients;
use crate::aws::fetch::{self, iam::PolicyCache};
use crate::aws::fetched::Fetched;
use crate::observe::aws_inputs::EFS_CSI_DRIVER;

/// What the data lookups of one refresh use.
pub struct DataRun<'a> {
    pub clients: &'a Clients,
    pub kube: Option<&'a Client>,
    pub policies: &'a PolicyCache,
    pub region: &'a str,
}

/// The result of one job.
enum DataOutcome {
    PodIdentities(Lookup<Vec<PodIdentity>>),
    Role(String, Lookup<hipaa_controls::aws::IamRole>),
    LoadBalancers(Lookup<Vec<TaggedLoadBalancer>>),
    Volumes(Lookup<BTreeMap<String, String>>),
    Account(Box<AccountPosture>),
    Declared(Lookup<Vec<DeclaredStore>>),
    Buckets(Lookup<Vec<String>>),
    Databases(Lookup<Vec<hipaa_controls::aws::RdsDatabase>>),
    Tables(Lookup<Vec<ListedTable>>),
    FileSystems(Lookup<Vec<hipaa_controls::aws::EfsFileSystem>>),
    Listeners(String, Lookup<Vec<hipaa_controls::aws::Listener>>),
    Bucket(String, Box<hipaa_controls::aws::S3Bucket>),
    Table(String, Lookup<hipaa_controls::aws::DynamoTable>),
    Tls((String, String, bool), Lookup<Option<bool>>),
}

impl DataRun<'_> {
    /// Looks up what `links` need and `found` lacks, phase by phase.
    pub async fn refresh(&self, links: &DataLinks, found: &mut DataFound, now: DateTime<Utc>) {
        self.run(links, first_data_jobs(links, found, now), found, now)
            .await;
        self.run(links, second_data_jobs(links, found, now), found, now)
            .await;
        let reached = ReachedStores::compute(links, found);
        self.run(links, third_data_jobs(&reached, found, now), found, now)
            .await;
        prune_data(found, links, &reached);
    }

    async fn run(
        &self,
        links: &DataLinks,
        mut jobs: Vec<DataJob>,
        found: &mut DataFound,
        at: DateTime<Utc>,
    ) {
        if self.kube.is_none() {
            // Without a Kubernetes client (a collector used before `start`, or outside a
            // cluster) no ACK or Crossplane object can be read: none is declared, which is not
            // an error of the policy's stores.
            jobs.retain(|job| *job != DataJob::Declared);
        }
        if jobs.is_empty() {
            return;
        }
        let outcomes = join_all(jobs.into_iter().map(|job| self.job(links, job))).await;
        for outcome in outcomes {
            keep(outcome, found, at);
        }
    }

    async fn job(&self, links: &DataLinks, job: DataJob) -> DataOutcome {
        let (clients, region) = (self.clients, self.region);
        match job {
            DataJob::PodIdentities { cluster } => {
                let regional = clients.region(region).await;
                DataOutcome::PodIdentities(
                    pod_identities(clients, &regional, &cluster, links).await,
                )
            }
            DataJob::Role(arn) => {
                let result = fetch::iam::role(clients, region, &arn, self.policies).await;
                DataOutcome::Role(arn, result)
            }
            DataJob::LoadBalancers => {
                DataOutcome::LoadBalancers(load_balancers(clients, region).await)
            }
            DataJob::Volumes => DataOutcome::Volumes(efs_volumes(self.kube).await),
            DataJob::Account { cluster } => DataOutcome::Account(Box::new(
                fetch::account::posture(clients, region, cluster.as_deref()).await,
            )),
            DataJob::Declared => {
                DataOutcome::Declared(declared_stores(self.kube, &links.scope).await)
            }
            DataJob::Buckets => {
                DataOutcome::Buckets(fetch::s3::list_buckets(clients, region).await)
            }
            DataJob::Databases => {
                DataOutcome::Databases(fetch::rds::databases(clients, region).await)
            }
            DataJob::Tables => DataOutcome::Tables(tables(clients, region).await),
            DataJob::FileSystems => {
                DataOutcome::FileSystems(fetch::edge::file_systems(clients, region, None).await)
            }
            DataJob::Listeners(arn) => {
                let result = fetch::edge::listeners(clients, region, &arn).await;
                DataOutcome::Listeners(arn, result)
            }
            DataJob::Bucket(name) => {
                let bucket = fetch::s3::bucket(clients, region, &name).await;
                DataOutcome::Bucket(name, Box::new(bucket))
            }
            DataJob::Table(name) => {
                let result = fetch::dynamodb::table(clients, region, &name).await;
                DataOutcome::Table(name, result)
            }
            DataJob::Tls {
                group,
                engine,
                cluster,
            } => {
                let kind = if cluster {
                    RdsKind::Cluster
                } else {
                    RdsKind::Instance
                };
                let result =
                    fetch::rds::tls_enforced(clients, region, &kind, &group, &engine).await;
                DataOutcome::Tls((group, engine, cluster), result)
            }
        }
    }
}

fn keep(outcome: DataOutcome, found: &mut DataFound, at: DateTime<Utc>) {
    fn fetched<T>(at: DateTime<Utc>, result: Lookup<T>) -> Fetched<T> {
        Fetched { at, result }
    }
    match outcome {
        DataOutcome::PodIdentities(r) => found.pod_identities = Some(fetched(at, r)),
        DataOutcome::Role(arn, r) => {
            found.roles.insert(arn, fetched(at, r));
        }
        DataOutcome::LoadBalancers(r) => found.load_balancers = Some(fetched(at, r)),
        DataOutcome::Volumes(r) => found.volumes = Some(fetched(at, r)),
        DataOutcome::Account(account) => found.account = Some(fetched(at, Ok(*account))),
        DataOutcome::Declared(r) => found.declared = Some(fetched(at, r)),
        DataOutcome::Buckets(r) => found.listings.buckets = Some(fetched(at, r)),
        DataOutcome::Databases(r) => found.listings.databases = Some(fetched(at, r)),
        DataOutcome::Tables(r) => found.listings.tables = Some(fetched(at, r)),
        DataOutcome::FileSystems(r) => found.file_systems = Some(fetched(at, r)),
        DataOutcome::Listeners(arn, r) => {
            found.listeners.insert(arn, fetched(at, r));
        }
        DataOutcome::Bucket(name, bucket) => {
            found.buckets.insert(name, fetched(at, Ok(*bucket)));
        }
        DataOutcome::Table(name, r) => {
            found.tables.insert(name, fetched(at, r));
        }
        DataOutcome::Tls(key, r) => {
            found.tls.insert(key, fetched(at, r));
        }
    }
}

/// The region's load balancers with their tags; a failed DescribeTags fails the listing (an
/// Ingress without a hostname is matched by tags only).
async fn load_balancers(clients: &Clients, region: &str) -> Lookup<Vec<TaggedLoadBalancer>> {
    fetch::edge::load_balancers(clients, region)
        .await?
        .into_iter()
        .map(|tagged| {
            Ok(TaggedLoadBalancer {
                load_balancer: tagged.balancer,
                tags: tagged.tags?.into_iter().collect(),
            })
        })
        .collect()
}

/// The region's tables with their ARNs in the caller's account.
async fn tables(clients: &Clients, region: &str) -> Lookup<Vec<ListedTable>> {
    let names = fetch::dynamodb::list_tables(clients, region).await?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let account = fetch::sts::caller_account(clients, region).await?;
    let partition = fetch::s3::partition(region);
    Ok(names
        .into_iter()
        .map(|name| ListedTable {
            arn: format!("arn:{partition}:dynamodb:{region}:{account}:table/{name}"),
            name,
        })
        .collect())
}

/// PersistentVolume name → EFS file system, for the EFS CSI driver's volumes.
async fn efs_volumes(kube: Option<&Client>) -> Lookup<BTreeMap<String, String>> {
    let Some(kube) = kube else {
        return Err(LookupError::new(
            "NoKubernetesClient",
            "the PersistentVolumes cannot be read before the operator has started",
        ));
    };
    let volumes = Api::<PersistentVolume>::all(kube.clone())
        .list(&ListParams::default())
        .await
        .map_err(|error| {
            let code = match &error {
                kube::Error::Api(status) if status.code == 403 => "Forbidden",
                _ => "KubernetesApiError",
            };
            LookupError::new(code, format!("listing PersistentVolumes: {error}"))
                .with_action("list persistentvolumes")
        })?;
    Ok(volumes
        .items
        .iter()
        .filter_map(|volume| {
            let csi = volume.spec.as_ref()?.csi.as_ref()?;
            if csi.driver != EFS_CSI_DRIVER {
                return None;
            }
            let file_system = file_system_of_handle(&csi.volume_handle)?;
            Some((volume.name_any(), file_system.to_string()))
        })
        .collect())
}
