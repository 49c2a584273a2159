//! The edge of the reports: reads the reports a policy already has (once per leadership term
//! and serving epoch), then applies the changed ones with server-side apply and deletes those of
//! namespaces that left the scope. A failed write is remembered as not written, so the next
//! reconcile (retried with backoff) writes it again.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tokio::sync::Mutex;

use super::build::{ReportOwner, ReportPart, render};
use super::plan::{ReportMemory, plan};
use super::served::ServedApis;
use super::{
    HASH_ANNOTATION, MANAGED_BY_LABEL, POLICY_ANNOTATION, POLICY_LABEL, ReportApi, ReportKey,
    SOURCE, policy_label_value, report_name,
};

/// Why writing a policy's reports failed (the reconcile is retried).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("discovering the report APIs: {0}")]
    Discovery(#[source] kube::Error),
    #[error("listing the {api} reports of the policy: {source}")]
    List { api: ReportApi, source: kube::Error },
    #[error("writing the {api} report of the {key}: {source}")]
    Apply {
        api: ReportApi,
        key: ReportKey,
        source: kube::Error,
    },
    #[error("deleting the {api} report of the {key}: {source}")]
    Delete {
        api: ReportApi,
        key: ReportKey,
        source: kube::Error,
    },
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    api: String,
    /// `apply` or `delete`.
    operation: &'static str,
    /// `ok` or `error`.
    result: &'static str,
}

/// What one write of a policy's reports did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub applied: usize,
    pub deleted: usize,
}

/// Writes every policy's reports; one per operator.
pub struct ReportWriter {
    client: Client,
    enabled: bool,
    served: Mutex<ServedApis>,
    writes: Family<WriteLabels, Counter>,
}

impl ReportWriter {
    /// `enabled: false` (`--policy-reports=false`) writes nothing and asks nothing.
    pub fn new(client: Client, enabled: bool) -> Self {
        ReportWriter {
            client,
            enabled,
            served: Mutex::new(ServedApis::default()),
            writes: Family::default(),
        }
    }

    /// `hipaaguard_operator_report_writes_total{api, operation, result}`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "report_writes",
            "PolicyReport and OpenReports writes, by API, operation and result",
            self.writes.clone(),
        );
    }

    /// Brings the policy's reports in every served API in step with `parts`.
    pub async fn write(
        &self,
        memory: &mut ReportMemory,
        owner: ReportOwner<'_>,
        parts: &BTreeMap<ReportKey, ReportPart<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Written, ReportError> {
        if !self.enabled {
            return Ok(Written::default());
        }
        let served = self
            .served
            .lock()
            .await
            .current(&self.client, Instant::now())
            .await
            .map_err(ReportError::Discovery)?;
        let mut written = Written::default();
        let mut first_error = None;
        for (api, epoch) in served {
            if memory.needs_seed(api, epoch) {
                let existing = self.existing(api, owner.policy).await?;
                memory.seed(api, epoch, existing);
            }
            let plan = plan(api, memory, parts);
            for key in plan.apply {
                let Some(part) = parts.get(&key) else {
                    continue;
                };
                match self.apply(api, owner, &key, part, now).await {
                    Ok(()) => {
                        memory.written.insert((api, key), part.hash);
                        written.applied += 1;
                    }
                    Err(error) => first_error = first_error.or(Some(error)),
                }
            }
            for key in plan.delete {
                match self.delete(api, owner.policy, &key).await {
                    Ok(()) => {
                        memory.written.remove(&(api, key));
                        written.deleted += 1;
                    }
                    Err(error) => first_error = first_error.or(Some(error)),
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(written),
        }
    }

    /// The reports of `policy` in `api` and the content hash each says it holds.
    async fn existing(
        &self,
        api: ReportApi,
        policy: &str,
    ) -> Result<Vec<(ReportKey, u64)>, ReportError> {
        let selector = format!(
            "{MANAGED_BY_LABEL}={SOURCE},{POLICY_LABEL}={}",
            policy_label_value(policy)
        );
        let params = ListParams::default().labels(&selector);
        let mut existing = Vec::new();
        for key in [ReportKey::Namespace(String::new()), ReportKey::Cluster] {
            let resource = api.resource(&key);
            let list = Api::<DynamicObject>::all_with(self.client.clone(), &resource)
                .list(&params)
                .await
                .map_err(|source| ReportError::List { api, source })?;
            for report in list.items {
                // Another policy whose name shortens to the same label value.
                if report
                    .annotations()
                    .get(POLICY_ANNOTATION)
                    .map(String::as_str)
                    != Some(policy)
                {
                    continue;
                }
                // An unreadable hash is a report to write again.
                let hash = report
                    .annotations()
                    .get(HASH_ANNOTATION)
                    .and_then(|hash| u64::from_str_radix(hash, 16).ok())
                    .unwrap_or(0);
                let key = match report.namespace() {
                    Some(namespace) => ReportKey::Namespace(namespace),
                    None => ReportKey::Cluster,
                };
                existing.push((key, hash));
            }
        }
        Ok(existing)
    }

    async fn apply(
        &self,
        api: ReportApi,
        owner: ReportOwner<'_>,
        key: &ReportKey,
        part: &ReportPart<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), ReportError> {
        let report = render(api, owner, key, part, now);
        let params = PatchParams::apply(SOURCE).force();
        let result = self
            .api(api, key)
            .patch(&report_name(owner.policy), &params, &Patch::Apply(&report))
            .await;
        match result {
            Ok(_) => {
                self.count(api, "apply", "ok");
                Ok(())
            }
            // The namespace is being deleted, or is gone: nothing to report there (the next
            // audit no longer has it in scope).
            Err(kube::Error::Api(status)) if namespace_gone(&status) => {
                tracing::debug!(%api, %key, "namespace going or gone; its report not written");
                Ok(())
            }
            Err(source) => {
                self.count(api, "apply", "error");
                self.forget_discovery_on_404(&source).await;
                Err(ReportError::Apply {
                    api,
                    key: key.clone(),
                    source,
                })
            }
        }
    }

    async fn delete(
        &self,
        api: ReportApi,
        policy: &str,
        key: &ReportKey,
    ) -> Result<(), ReportError> {
        match self
            .api(api, key)
            .delete(&report_name(policy), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(source) => {
                self.count(api, "delete", "error");
                return Err(ReportError::Delete {
                    api,
                    key: key.clone(),
                    source,
                });
            }
        }
        self.count(api, "delete", "ok");
        Ok(())
    }

    fn api(&self, api: ReportApi, key: &ReportKey) -> Api<DynamicObject> {
        let resource = api.resource(key);
        match key.namespace() {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }

    fn count(&self, api: ReportApi, operation: &'static str, result: &'static str) {
        self.writes
            .get_or_create(&WriteLabels {
                api: api.to_string(),
                operation,
                result,
            })
            .inc();
    }

    /// A 404 on a write means the resource (its CRD) went away: ask discovery again next time.
    async fn forget_discovery_on_404(&self, error: &kube::Error) {
        if matches!(error, kube::Error::Api(status) if status.code == 404) {
            self.served.lock().await.invalidate();
        }
    }
}

/// The API server's answer to a write into a namespace that is being deleted or no longer exists.
fn namespace_gone(status: &kube::core::Status) -> bool {
    let terminating = status.code == 403 && status.message.contains("being terminated");
    let missing = status.code == 404
        && status
            .details
            .as_ref()
            .is_some_and(|details| details.kind == "namespaces");
    terminating || missing
}
