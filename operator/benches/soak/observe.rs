//! Change → status: the policy's status is watched, and each change the churn sent is matched
//! with the first status update that shows it (the namespace's Deployment listed as a violation
//! after it turned privileged, no longer listed after it turned back). A change overtaken by the
//! next change of its namespace before any status showed it is counted as coalesced, with the
//! latency of the change that overtook it (an upper bound: the operator never showed it alone).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use hipaa_crds::HipaaPolicy;
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

use crate::churn::Change;

/// One change seen in the status.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    /// When the change was due (the row of the table it belongs to).
    pub due: Instant,
    pub latency: Duration,
    pub coalesced: bool,
}

/// What the watch saw.
#[derive(Default)]
pub struct Observed {
    pub seen: Vec<Seen>,
    /// Changes no status showed by the end.
    pub pending: usize,
    /// Status updates received, and those whose violation list was truncated (where a change
    /// that turned compliant cannot be told apart).
    pub updates: u64,
    pub truncated: u64,
}

/// Matches changes with status updates until `changes` closes and everything pending was shown
/// or `patience` passed after that.
pub async fn watch(
    client: Client,
    policy: String,
    namespaces: Vec<String>,
    mut changes: mpsc::UnboundedReceiver<Change>,
    patience: Duration,
) -> Observed {
    let api: Api<HipaaPolicy> = Api::all(client);
    let config = watcher::Config::default().fields(&format!("metadata.name={policy}"));
    let mut stream = std::pin::pin!(watcher(api, config).default_backoff().applied_objects());
    let index: HashMap<&str, usize> = namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| (ns.as_str(), i))
        .collect();
    // Per namespace: the changes sent and not shown yet, oldest first.
    let mut waiting: HashMap<usize, Vec<Change>> = HashMap::new();
    let mut observed = Observed::default();
    let mut closed_at: Option<Instant> = None;
    loop {
        if let Some(closed) = closed_at
            && (waiting.values().all(Vec::is_empty) || closed.elapsed() > patience)
        {
            break;
        }
        tokio::select! {
            change = changes.recv(), if closed_at.is_none() => match change {
                Some(change) => waiting.entry(change.namespace).or_default().push(change),
                None => closed_at = Some(Instant::now()),
            },
            update = stream.try_next() => {
                let now = Instant::now();
                let Ok(Some(policy)) = update else { continue };
                let Some(status) = policy.status else { continue };
                observed.updates += 1;
                if status.truncated {
                    observed.truncated += 1;
                }
                let violating: HashSet<usize> = status
                    .violations
                    .iter()
                    .filter(|v| v.kind == "Deployment" && v.name == "churn")
                    .filter_map(|v| index.get(v.namespace.as_deref()?).copied())
                    .collect();
                for (namespace, sent) in &mut waiting {
                    let Some(last) = sent.last() else { continue };
                    let shown = if last.privileged {
                        violating.contains(namespace)
                    } else {
                        !violating.contains(namespace) && !status.truncated
                    };
                    if !shown {
                        continue;
                    }
                    let count = sent.len();
                    for (i, change) in sent.drain(..).enumerate() {
                        observed.seen.push(Seen {
                            due: change.due,
                            latency: now.saturating_duration_since(change.sent),
                            coalesced: i + 1 < count,
                        });
                    }
                }
            }
        }
    }
    observed.pending = waiting.values().map(Vec::len).sum();
    observed
}
