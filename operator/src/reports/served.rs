//! Which report APIs the API server serves, asked again at most once a minute (a CRD can be
//! installed or removed while the operator runs), with a serving epoch per API: the epoch moves
//! each time an API comes back, so that every policy reads its existing reports again instead
//! of trusting what it remembers writing before the CRD was removed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kube::Client;

use super::ReportApi;

/// How long an answer of discovery is trusted.
const REDISCOVER_AFTER: Duration = Duration::from_secs(60);

/// The report APIs served now, with their epochs.
#[derive(Debug, Default)]
pub struct ServedApis {
    asked: Option<Instant>,
    /// The served APIs and the epoch each is in.
    served: HashMap<ReportApi, u64>,
    /// Epochs so far, per API (served or not).
    epochs: HashMap<ReportApi, u64>,
}

impl ServedApis {
    /// The APIs served and their epochs, asking the API server when the answer is old.
    pub async fn current(
        &mut self,
        client: &Client,
        now: Instant,
    ) -> Result<Vec<(ReportApi, u64)>, kube::Error> {
        let fresh = self
            .asked
            .is_some_and(|asked| now.duration_since(asked) < REDISCOVER_AFTER);
        if !fresh {
            let mut found = Vec::new();
            for api in ReportApi::ALL {
                if serves(client, api).await? {
                    found.push(api);
                }
            }
            self.update(&found, now);
        }
        let mut served: Vec<(ReportApi, u64)> = self.served.iter().map(|(a, e)| (*a, *e)).collect();
        served.sort();
        Ok(served)
    }

    /// Records what discovery found; an API that appears starts a new epoch.
    pub fn update(&mut self, found: &[ReportApi], now: Instant) {
        let first = self.asked.is_none() && self.epochs.is_empty();
        for api in ReportApi::ALL {
            let serving = found.contains(&api);
            match (serving, self.served.contains_key(&api)) {
                (true, false) => {
                    let epoch = self.epochs.entry(api).or_insert(0);
                    *epoch += 1;
                    self.served.insert(api, *epoch);
                    tracing::info!(%api, "report API served; writing its reports");
                }
                (false, true) => {
                    self.served.remove(&api);
                    tracing::info!(%api, "report API no longer served");
                }
                (false, false) if first => {
                    tracing::info!(%api, "report API not served; its reports are not written");
                }
                _ => {}
            }
        }
        self.asked = Some(now);
    }

    /// Forgets the last answer, so that the next write asks again (after a write found the
    /// resource gone).
    pub fn invalidate(&mut self) {
        self.asked = None;
    }
}

/// Whether the API server serves both the namespaced and the cluster-scoped kind of `api`.
async fn serves(client: &Client, api: ReportApi) -> Result<bool, kube::Error> {
    match client.list_api_group_resources(&api.api_version()).await {
        Ok(list) => {
            let names: Vec<&str> = list.resources.iter().map(|r| r.name.as_str()).collect();
            let wanted = [
                api.resource(&super::ReportKey::Namespace(String::new()))
                    .plural,
                api.resource(&super::ReportKey::Cluster).plural,
            ];
            Ok(wanted.iter().all(|plural| names.contains(&plural.as_str())))
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_api_that_comes_back_starts_a_new_epoch() {
        let mut apis = ServedApis::default();
        let now = Instant::now();
        apis.update(&[ReportApi::PolicyReport], now);
        assert_eq!(apis.served.get(&ReportApi::PolicyReport), Some(&1));
        assert_eq!(apis.served.get(&ReportApi::OpenReports), None);
        // Still served: the same epoch, so nothing is read again.
        apis.update(&[ReportApi::PolicyReport], now);
        assert_eq!(apis.served.get(&ReportApi::PolicyReport), Some(&1));
        // Removed, then installed again: a new epoch.
        apis.update(&[], now);
        assert!(apis.served.is_empty());
        apis.update(&[ReportApi::PolicyReport, ReportApi::OpenReports], now);
        assert_eq!(apis.served.get(&ReportApi::PolicyReport), Some(&2));
        assert_eq!(apis.served.get(&ReportApi::OpenReports), Some(&1));
    }
}
