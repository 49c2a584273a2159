//! The AWS SDK clients: the shared configuration (default credential chain, so IRSA on EKS;
//! `AWS_ENDPOINT_URL` honoured; the HTTPS client of [`super::https`]), loaded once; one set of
//! EKS, ECR, Secrets Manager, KMS and S3 clients per region, built on first use and reused (and
//! the signed calls of `wire` on the same configuration); the
//! standard retry mode with backoff on throttling; the limit on concurrent calls shared by every
//! policy's refresh; and the call metrics every client records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

use super::call_metrics::AwsCallMetrics;

/// How the collectors call AWS.
#[derive(Clone, Debug)]
pub struct CallSettings {
    /// AWS calls in flight at once, over every policy.
    pub concurrency: usize,
    /// Attempts per call (the first one included) in the SDK's standard retry mode, which backs
    /// off exponentially with jitter on throttling and transient errors.
    pub max_attempts: u32,
    /// The first retry's backoff (doubled per attempt, with jitter).
    pub initial_backoff: Duration,
    /// Time limit of one attempt.
    pub attempt_timeout: Duration,
    /// Time limit of one call, its retries and backoff included.
    pub call_timeout: Duration,
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            concurrency: 6,
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(20),
            call_timeout: Duration::from_secs(60),
        }
    }
}

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub region: String,
    pub eks: aws_sdk_eks::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub kms: aws_sdk_kms::Client,
    /// Path-style addressing when an endpoint is configured (moto, a VPC endpoint), as the
    /// evidence history does it.
    pub s3: aws_sdk_s3::Client,
}

/// Clients per region, built once from one shared configuration.
pub struct Clients {
    settings: CallSettings,
    /// A configuration given up front (tests); otherwise the default chain's, loaded on first use.
    preset: Option<SdkConfig>,
    base: OnceCell<SdkConfig>,
    regions: Mutex<HashMap<String, Arc<RegionClients>>>,
    limiter: Semaphore,
    calls: AtomicU64,
    metrics: AwsCallMetrics,
    /// The connector and credentials of the signed calls without an SDK crate ([`super::wire`]).
    transport: super::transport_state::Transport,
}

impl Clients {
    /// Clients on the default AWS configuration chain (environment, web identity / IRSA,
    /// profiles, container and instance metadata), loaded when first needed.
    pub fn from_default_chain(settings: CallSettings) -> Self {
        Self::build(settings, None)
    }

    /// Clients on a given configuration (its credentials and endpoint; the region is always the
    /// policy's).
    pub fn from_config(settings: CallSettings, config: SdkConfig) -> Self {
        Self::build(settings, Some(config))
    }

    fn build(settings: CallSettings, preset: Option<SdkConfig>) -> Self {
        let permits = settings.concurrency.max(1);
        Clients {
            settings,
            preset,
            base: OnceCell::new(),
            regions: Mutex::new(HashMap::new()),
            limiter: Semaphore::new(permits),
            calls: AtomicU64::new(0),
            metrics: AwsCallMetrics::default(),
            transport: super::transport_state::Transport::default(),
        }
    }

    /// The clients of `region`, built on first use.
    pub async fn region(&self, region: &str) -> Arc<RegionClients> {
        if let Some(known) = self.lock().get(region) {
            return known.clone();
        }
        let base = self.base_config(region).await;
        let built = Arc::new(self.clients_for(base, region));
        self.lock()
            .entry(region.to_string())
            .or_insert(built)
            .clone()
    }

    /// How calls are made: attempts, backoff, timeouts, concurrency.
    pub fn settings(&self) -> &CallSettings {
        &self.settings
    }

    pub(crate) fn transport(&self) -> &super::transport_state::Transport {
        &self.transport
    }

    /// Waits for a free slot before an AWS call; the slot is held until the permit drops.
    pub async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.limiter.acquire().await.ok()
    }

    /// AWS calls started so far (each counted once, however many retries it took).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The metrics every client records its attempts and calls into.
    pub fn metrics(&self) -> &AwsCallMetrics {
        &self.metrics
    }

    pub(crate) async fn base_config(&self, fallback_region: &str) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                match &self.preset {
                    Some(config) => config.clone(),
                    None => {
                        // The region only matters to credential providers (STS for IRSA): every
                        // client gets the policy's region. The loader's own region chain is the
                        // default one, on the loader's HTTP client; a chain built here would get
                        // none (there is no default HTTPS client in this build) and panic on
                        // its first IMDS lookup.
                        let loaded = aws_config::defaults(BehaviorVersion::latest())
                            .http_client(super::https::https_client())
                            .load()
                            .await;
                        match loaded.region() {
                            Some(_) => loaded,
                            None => loaded
                                .into_builder()
                                .region(Region::new(fallback_region.to_string()))
                                .build(),
                        }
                    }
                }
            })
            .await
    }

    fn clients_for(&self, base: &SdkConfig, region: &str) -> RegionClients {
        let retry = RetryConfig::standard()
            .with_max_attempts(self.settings.max_attempts.max(1))
            .with_initial_backoff(self.settings.initial_backoff);
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(self.settings.attempt_timeout)
            .operation_timeout(self.settings.call_timeout)
            .build();
        let region_name = Region::new(region.to_string());
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(base)
                        .region(region_name.clone())
                        .retry_config(retry.clone())
                        .timeout_config(timeouts.clone())
                        .interceptor(self.metrics.interceptor())
                        .build(),
                )
            };
        }
        RegionClients {
            region: region.to_string(),
            eks: client!(aws_sdk_eks),
            ecr: client!(aws_sdk_ecr),
            secrets: client!(aws_sdk_secretsmanager),
            kms: client!(aws_sdk_kms),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(base)
                    .region(region_name.clone())
                    .force_path_style(base.endpoint_url().is_some())
                    .retry_config(retry.clone())
                    .timeout_config(timeouts.clone())
                    .interceptor(self.metrics.interceptor())
                    .build(),
            ),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<RegionClients>>> {
        self.regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
