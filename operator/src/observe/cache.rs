//! The watch cache of compact objects: the same list-then-watch semantics as kube's reflector
//! store (an initial list is buffered and swapped in whole at its end, so a relist drops what
//! was deleted meanwhile), holding [`Compact`] entries instead of structs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kube::runtime::watcher::Event;
use tokio::sync::watch;

use super::compact::{Compact, CompactResource};

type Key = (String, String);
type Entries = HashMap<Key, Arc<Compact>>;

/// Read handle on a compact cache.
#[derive(Clone, Debug)]
pub struct CompactStore {
    entries: Arc<RwLock<Entries>>,
    ready: watch::Receiver<bool>,
}

impl CompactStore {
    /// Every cached object.
    pub fn state(&self) -> Vec<Arc<Compact>> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once the first complete list is in; fails if the writer is gone before that.
    pub async fn wait_until_ready(&self) -> Result<(), watch::error::RecvError> {
        let mut ready = self.ready.clone();
        ready.wait_for(|ready| *ready).await.map(|_| ())
    }
}

/// The writing side, fed with watch events.
#[derive(Debug)]
pub struct CompactWriter {
    entries: Arc<RwLock<Entries>>,
    buffer: Option<Entries>,
    ready: watch::Sender<bool>,
}

impl Default for CompactWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CompactWriter {
    pub fn new() -> Self {
        CompactWriter {
            entries: Arc::default(),
            buffer: None,
            ready: watch::channel(false).0,
        }
    }

    pub fn as_reader(&self) -> CompactStore {
        CompactStore {
            entries: self.entries.clone(),
            ready: self.ready.subscribe(),
        }
    }

    /// Applies one watch event.
    pub fn apply<K: CompactResource>(&mut self, event: &Event<K>) {
        match event {
            Event::Apply(object) => {
                if let Some(entry) = encode(object) {
                    self.write().insert(key(&entry), Arc::new(entry));
                }
            }
            Event::Delete(object) => {
                let meta = object.meta();
                let key = (
                    meta.namespace.clone().unwrap_or_default(),
                    meta.name.clone().unwrap_or_default(),
                );
                self.write().remove(&key);
            }
            Event::Init => self.buffer = Some(Entries::new()),
            Event::InitApply(object) => {
                if let Some(entry) = encode(object) {
                    self.buffer
                        .get_or_insert_with(Entries::new)
                        .insert(key(&entry), Arc::new(entry));
                }
            }
            Event::InitDone => {
                let listed = self.buffer.take().unwrap_or_default();
                *self.write() = listed;
                self.ready.send_replace(true);
            }
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn key(entry: &Compact) -> Key {
    (entry.namespace.clone(), entry.name.clone())
}

fn encode<K: CompactResource>(object: &K) -> Option<Compact> {
    match Compact::encode(object) {
        Ok(entry) => Some(entry),
        Err(error) => {
            // Serializing a struct that was just deserialized does not fail; if it ever does,
            // the object is missing from the audit, so say so loudly.
            tracing::error!(error = %hipaa_controls::redact::Redacted(&error), kind = K::KIND.as_str(), "cannot cache an object");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::api::core::v1::Service;

    fn service(name: &str) -> Service {
        yaml_serde::from_str(&format!(
            "metadata: {{name: {name}, namespace: ns}}\nspec: {{type: ClusterIP}}\n"
        ))
        .unwrap()
    }

    fn names(store: &CompactStore) -> Vec<String> {
        let mut names: Vec<String> = store.state().iter().map(|e| e.name.clone()).collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_list_is_swapped_in_whole_and_watch_events_update_it() {
        let mut writer = CompactWriter::new();
        let store = writer.as_reader();
        writer.apply(&Event::<Service>::Init);
        writer.apply(&Event::InitApply(service("a")));
        writer.apply(&Event::InitApply(service("b")));
        assert!(
            store.is_empty(),
            "nothing visible before the list is complete"
        );
        writer.apply(&Event::<Service>::InitDone);
        store.wait_until_ready().await.unwrap();
        assert_eq!(names(&store), ["a", "b"]);
        writer.apply(&Event::Apply(service("c")));
        writer.apply(&Event::Delete(service("a")));
        assert_eq!(names(&store), ["b", "c"]);
        // A relist replaces everything: "b" was deleted while the watch was down.
        writer.apply(&Event::<Service>::Init);
        writer.apply(&Event::InitApply(service("c")));
        writer.apply(&Event::<Service>::InitDone);
        assert_eq!(names(&store), ["c"]);
    }
}
