//! The real [`AwsSnapshots`] provider: per policy, a refresh cycle that starts when the audit
//! interval has elapsed or the spec changed (a new generation or region), looks up everything the
//! policy links once, and within the cycle looks up only what the links add (and failures due
//! for another try). Between those, an audit gets the cached snapshot without calling AWS. The
//! admission webhook never calls this: only the operator's audit does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, join_all};
use hipaa_controls::aws::{
    AwsSnapshot, EcrRepository, EksCluster, KmsKey, Lookup, ScanFindings, SecretsManagerSecret,
};
use hipaa_controls::duration::parse_duration;
use hipaa_crds::{HipaaPolicy, default_audit_interval};
use kube::{Client, ResourceExt};
use tokio::sync::{OnceCell, broadcast};

use super::assemble::assemble;
use super::cache::{
    Fetched, Found, Job, KeyKey, first_jobs, has_failures_due, key_jobs, principals_failed, prune,
    second_jobs,
};
use super::call_metrics::AwsCallMetrics;
use super::clients::{CallSettings, Clients};
use super::data::plan::applies_account_controls;
use super::data::run::DataRun;
use super::ecr::RegistryScan;
use super::fetch::iam::PolicyCache;
use super::link::{Links, RepositoryKey, SecretKey, link};
use super::secret_refs::{SecretIndex, SecretSources};
use super::watch::{DEFAULT_REDISCOVERY, SecretWatch};
use super::{AwsRequest, AwsSnapshots, access_entries, ecr, eks, kms, secrets};
use crate::observe::triggers::Change;

/// A periodic requeue may come up to a second before the interval has elapsed (the status keeps
/// whole seconds): a cycle this close to its end counts as ended.
const CYCLE_SLACK: chrono::Duration = chrono::Duration::seconds(2);
/// A policy not audited for this long is forgotten (it was deleted or lost its `spec.aws`).
const FORGET_AFTER: chrono::Duration = chrono::Duration::days(1);

/// One policy's cycle.
#[derive(Default)]
struct PolicyState {
    generation: Option<i64>,
    region: String,
    cycle_started: Option<DateTime<Utc>>,
    links: Links,
    found: Found,
    snapshot: Option<Arc<AwsSnapshot>>,
    last_used: Option<DateTime<Utc>>,
}

/// Looks up the AWS resources policies link, through the SDK, with a cache per policy.
pub struct AwsCollector {
    clients: Clients,
    watch: OnceCell<SecretWatch>,
    /// The operator's Kubernetes client, for the aws-auth ConfigMap (set by `start`).
    kube: OnceLock<Client>,
    /// How often the secret integrations not installed yet are looked for again.
    rediscovery: Duration,
    /// Managed IAM policy documents by ARN and version, shared by every policy's refresh.
    policy_documents: PolicyCache,
    policies: Mutex<HashMap<String, Arc<tokio::sync::Mutex<PolicyState>>>>,
}

impl AwsCollector {
    /// A collector on the default AWS configuration chain (IRSA on EKS, `AWS_ENDPOINT_URL`).
    pub fn new(settings: CallSettings) -> Self {
        Self::with_clients(Clients::from_default_chain(settings))
    }

    /// A collector on a given AWS configuration (its credentials and endpoint).
    pub fn with_config(settings: CallSettings, config: SdkConfig) -> Self {
        Self::with_clients(Clients::from_config(settings, config))
    }

    fn with_clients(clients: Clients) -> Self {
        AwsCollector {
            clients,
            watch: OnceCell::new(),
            kube: OnceLock::new(),
            rediscovery: DEFAULT_REDISCOVERY,
            policy_documents: PolicyCache::new(),
            policies: Mutex::new(HashMap::new()),
        }
    }

    /// Looks for secret integrations installed after the start every `interval` (default
    /// [`DEFAULT_REDISCOVERY`]).
    pub fn with_rediscovery(mut self, interval: Duration) -> Self {
        self.rediscovery = interval;
        self
    }

    /// Reads the aws-auth ConfigMap with `client` (the operator's own, given at `start`).
    pub fn with_kubernetes(self, client: Client) -> Self {
        let _ = self.kube.set(client);
        self
    }

    /// AWS calls started so far.
    pub fn calls(&self) -> u64 {
        self.clients.calls()
    }

    /// The metrics of the collector's AWS calls.
    pub fn call_metrics(&self) -> &AwsCallMetrics {
        self.clients.metrics()
    }

    /// The policy's snapshot: cached, or refreshed as its cycle requires.
    pub async fn refresh(&self, request: AwsRequest<'_>) -> Option<Arc<AwsSnapshot>> {
        let policy = request.policy;
        let aws = policy.spec.aws.as_ref()?;
        let sources = match self.watch.get() {
            Some(watch) => watch.sources().await,
            None => SecretSources::default(),
        };
        let mut links = link(aws, request.observation, &SecretIndex::new(&sources));
        links.data.account_controls = applies_account_controls(policy);
        let state = self.state_of(&policy.name_any(), request.now);
        let mut state = state.lock().await;
        let now = request.now;
        state.last_used = Some(now);
        let cycle_ended = state
            .cycle_started
            .is_none_or(|started| now - started + CYCLE_SLACK >= audit_interval(policy));
        let spec_changed =
            state.generation != policy.metadata.generation || state.region != links.region;
        if cycle_ended || spec_changed {
            state.found = Found::default();
            state.cycle_started = Some(now);
            state.generation = policy.metadata.generation;
            state.region = links.region.clone();
        } else if state.links == links
            && !has_failures_due(&state.found, now)
            && let Some(snapshot) = &state.snapshot
        {
            return Some(snapshot.clone());
        }
        let started = Instant::now();
        let calls_before = self.clients.calls();
        let mut found = std::mem::take(&mut state.found);
        prune(&mut found, &links);
        self.run(first_jobs(&links, &found, now), &mut found, now)
            .await;
        self.run(second_jobs(&links, &found, now), &mut found, now)
            .await;
        if cycle_ended || spec_changed {
            self.policy_documents.new_cycle();
        }
        let data = DataRun {
            clients: &self.clients,
            kube: self.kube.get(),
            policies: &self.policy_documents,
            region: &links.region,
        };
        data.refresh(&links.data, &mut found.data, now).await;
        self.run(key_jobs(&links, &found, now), &mut found, now)
            .await;
        prune(&mut found, &links);
        // Whole seconds, as the API server keeps `checkedAt`: a status computed from this
        // snapshot then equals the same status read back, and is not rewritten each audit.
        let taken_at = whole_seconds(state.cycle_started.unwrap_or(now));
        let snapshot = Arc::new(assemble(&links, &found, taken_at));
        tracing::info!(
            policy = %policy.name_any(),
            new_cycle = cycle_ended || spec_changed,
            calls = self.clients.calls().saturating_sub(calls_before),
            failed = failed_lookups(&snapshot),
            took = ?started.elapsed(),
            "AWS snapshot refreshed"
        );
        state.found = found;
        state.links = links;
        state.snapshot = Some(snapshot.clone());
        Some(snapshot)
    }

    fn state_of(&self, policy: &str, now: DateTime<Utc>) -> Arc<tokio::sync::Mutex<PolicyState>> {
        let mut policies = self
            .policies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        policies.retain(|name, state| {
            name == policy
                || state.try_lock().map_or(true, |s| {
                    s.last_used.is_none_or(|used| now - used < FORGET_AFTER)
                })
        });
        policies.entry(policy.to_string()).or_default().clone()
    }

    /// Runs `jobs` concurrently (bounded by the clients' limit) and keeps their results.
    async fn run(&self, jobs: Vec<Job>, found: &mut Found, now: DateTime<Utc>) {
        if jobs.is_empty() {
            return;
        }
        let outcomes = join_all(jobs.into_iter().map(|job| self.run_job(job))).await;
        for outcome in outcomes {
            outcome.keep(found, now);
        }
    }

    async fn run_job(&self, job: Job) -> Outcome {
        let clients = &self.clients;
        match job {
            Job::Cluster { region, name } => {
                let regional = clients.region(&region).await;
                let mut result = eks::describe_cluster(clients, &regional, &name).await;
                if let Ok(cluster) = &mut result {
                    let kube = self.kube.get();
                    access_entries::add_principals(clients, &regional, kube, cluster).await;
                }
                Outcome::Cluster((region, name), result)
            }
            Job::RepositoryList { region } => {
                let regional = clients.region(&region).await;
                Outcome::RepositoryList(region, ecr::list_repositories(clients, &regional).await)
            }
            Job::RegistryScan { region } => {
                let regional = clients.region(&region).await;
                Outcome::RegistryScan(region, ecr::registry_scanning(clients, &regional).await)
            }
            Job::SecretList { region } => {
                let regional = clients.region(&region).await;
                Outcome::SecretList(region, secrets::list_secrets(clients, &regional).await)
            }
            Job::Repository(key) => {
                let regional = clients.region(&key.region).await;
                let result = ecr::describe_repository(clients, &regional, &key).await;
                Outcome::Repository(key, result)
            }
            Job::Findings(key, reference) => {
                let regional = clients.region(&key.region).await;
                let result = ecr::image_scan_findings(clients, &regional, &key, &reference).await;
                Outcome::Findings((key, reference), result)
            }
            Job::Secret(key) => {
                let regional = clients.region(&key.region).await;
                let result = secrets::describe_secret(clients, &regional, &key.id).await;
                Outcome::Secret(key, result)
            }
            Job::Key(key) => {
                let regional = clients.region(&key.region).await;
                let result = kms::describe_key(clients, &regional, &key.identifier).await;
                Outcome::Key(key, result)
            }
        }
    }
}

/// The result of one job.
enum Outcome {
    Cluster((String, String), Lookup<EksCluster>),
    RepositoryList(String, Lookup<Vec<EcrRepository>>),
    RegistryScan(String, Lookup<RegistryScan>),
    SecretList(String, Lookup<Vec<SecretsManagerSecret>>),
    Repository(RepositoryKey, Lookup<EcrRepository>),
    Findings((RepositoryKey, String), Lookup<ScanFindings>),
    Secret(SecretKey, Lookup<SecretsManagerSecret>),
    Key(KeyKey, Lookup<KmsKey>),
}

impl Outcome {
    fn keep(self, found: &mut Found, at: DateTime<Utc>) {
        macro_rules! keep {
            ($map:ident, $key:expr, $result:expr) => {{
                found.$map.insert(
                    $key,
                    Fetched {
                        at,
                        result: $result,
                    },
                );
            }};
        }
        match self {
            Outcome::Cluster(key, result) => keep!(clusters, key, result),
            Outcome::RepositoryList(key, result) => keep!(repository_lists, key, result),
            Outcome::RegistryScan(key, result) => keep!(registry_scans, key, result),
            Outcome::SecretList(key, result) => keep!(secret_lists, key, result),
            Outcome::Repository(key, result) => keep!(repositories, key, result),
            Outcome::Findings(key, result) => keep!(findings, key, result),
            Outcome::Secret(key, result) => keep!(secrets, key, result),
            Outcome::Key(key, result) => keep!(keys, key, result),
        }
    }
}

impl AwsSnapshots for AwsCollector {
    fn snapshot<'a>(&'a self, request: AwsRequest<'a>) -> BoxFuture<'a, Option<Arc<AwsSnapshot>>> {
        Box::pin(self.refresh(request))
    }

    fn start<'a>(
        &'a self,
        client: &'a Client,
        changes: &'a broadcast::Sender<Change>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let _ = self.kube.set(client.clone());
            self.watch
                .get_or_init(|| SecretWatch::start(client, changes, self.rediscovery))
                .await;
        })
    }

    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        self.call_metrics().register(registry);
    }
}

/// The policy's audit interval (the CRD's default when unreadable).
fn audit_interval(policy: &HipaaPolicy) -> chrono::Duration {
    let interval = parse_duration(&policy.spec.audit_interval)
        .or_else(|_| parse_duration(&default_audit_interval()))
        .unwrap_or(Duration::from_secs(600));
    chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::minutes(10))
}

fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// How many looked-up resources (and images, and key rotation statuses) failed.
fn failed_lookups(snapshot: &AwsSnapshot) -> usize {
    let eks = snapshot
        .eks
        .iter()
        .filter(|e| e.result.as_ref().map_or(true, principals_failed))
        .count();
    let repositories: usize = snapshot
        .ecr_repositories
        .iter()
        .map(|r| match &r.result {
            Err(_) => 1,
            Ok(repository) => repository
                .images
                .iter()
                .filter(|i| i.findings.is_err())
                .count(),
        })
        .sum();
    let secrets = snapshot
        .secrets
        .iter()
        .filter(|s| s.result.is_err())
        .count();
    let keys = snapshot
        .kms_keys
        .iter()
        .filter(|k| {
            k.result
                .as_ref()
                .map_or(true, |key| key.rotation_enabled.is_err())
        })
        .count();
    eks + repositories + secrets + keys
}
