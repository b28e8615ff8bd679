//! Watches that feed a [`Timeline`]: one per recorded kind, opened before the first apply.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::timeline::{ChangeKind, Timeline};
use crate::dsl::values::KindInfo;

/// Kinds recorded in the scenario's namespace.
pub const NAMESPACED_KINDS: &[&str] = &[
    "Pod",
    "Job",
    "CronJob",
    "DaemonSet",
    "StatefulSet",
    "Service",
    "EndpointSlice",
    "PersistentVolumeClaim",
    "Event",
];

/// Kinds recorded cluster-wide.
pub const CLUSTER_KINDS: &[&str] = &["Node", "PersistentVolume"];

/// Errors of starting a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error(
        "open the {kind} watch within {timeout:?} (hint: check that the API server is reachable and that the credentials may list and watch {kind})"
    )]
    SyncTimedOut { kind: String, timeout: Duration },
}

/// A running recording: the timeline, a change counter to wait on, and the watch tasks.
///
/// Dropping the recorder stops its watches.
pub struct Recorder {
    timeline: Arc<Mutex<Timeline>>,
    changes: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Recorder {
    /// Opens the watches and returns once each has delivered its initial list, so no change
    /// made after this returns can be missed.
    pub async fn start(client: &Client, namespace: &str) -> Result<Self, RecorderError> {
        const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

        let timeline = Arc::new(Mutex::new(Timeline::new()));
        let (notify, changes) = watch::channel(0u64);
        let notify = Arc::new(notify);

        let mut tasks = Vec::new();
        let mut synced = Vec::new();
        let kinds = NAMESPACED_KINDS
            .iter()
            .map(|kind| (*kind, Some(namespace)))
            .chain(CLUSTER_KINDS.iter().map(|kind| (*kind, None)));
        for (kind, namespace) in kinds {
            let info = KindInfo::find(kind).expect("recorded kinds are in the kind table");
            let resource = api_resource(info);
            let api: Api<DynamicObject> = match namespace {
                Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
                None => Api::all_with(client.clone(), &resource),
            };
            let (synced_tx, synced_rx) = tokio::sync::oneshot::channel();
            let task = tokio::spawn(record(
                api,
                info.kind,
                Arc::clone(&timeline),
                Arc::clone(&notify),
                synced_tx,
            ));
            tasks.push(task);
            synced.push((info.kind, synced_rx));
        }

        let recorder = Self {
            timeline,
            changes,
            tasks,
        };
        for (kind, synced_rx) in synced {
            if tokio::time::timeout(SYNC_TIMEOUT, synced_rx).await.is_err() {
                return Err(RecorderError::SyncTimedOut {
                    kind: kind.to_owned(),
                    timeout: SYNC_TIMEOUT,
                });
            }
        }
        Ok(recorder)
    }

    /// Locks the timeline; hold the guard only briefly, watches wait on it.
    pub fn timeline(&self) -> MutexGuard<'_, Timeline> {
        self.timeline
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the timeline as it is now.
    pub fn snapshot(&self) -> Timeline {
        self.timeline().clone()
    }

    /// A receiver whose value changes whenever a change is recorded.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The API resource of a kind in the kind table.
pub fn api_resource(info: &KindInfo) -> ApiResource {
    let (group, version) = match info.api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", info.api_version),
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, info.kind),
        info.plural,
    )
}

/// Feeds one kind's watch into the timeline until the task is aborted.
///
/// kube-runtime's watcher resumes a dropped watch from the last resourceVersion and relists on
/// 410 Gone. A relist repeats objects the timeline has (skipped by resourceVersion) and omits
/// objects deleted while disconnected, which are recorded as deleted here. Intermediate states
/// of an object that changed several times while disconnected cannot be recovered.
async fn record(
    api: Api<DynamicObject>,
    kind: &'static str,
    timeline: Arc<Mutex<Timeline>>,
    notify: Arc<watch::Sender<u64>>,
    synced: tokio::sync::oneshot::Sender<()>,
) {
    let mut synced = Some(synced);
    let mut listing: Option<HashSet<String>> = None;
    let mut live: HashSet<String> = HashSet::new();
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);

    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                if is_forbidden(&err) {
                    warn!(kind, error = %err, "watch forbidden; grant list and watch on {kind}");
                } else {
                    debug!(kind, error = %err, "watch failed; retrying");
                }
                continue;
            }
        };

        let mut recorded = false;
        match event {
            Event::Init => listing = Some(HashSet::new()),
            Event::InitApply(object) => {
                let object = into_value(object);
                let uid = uid_of(&object);
                if let Some(listed) = listing.as_mut() {
                    listed.insert(uid.clone());
                }
                let change = if synced.is_some() {
                    ChangeKind::Existing
                } else if live.contains(&uid) {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Added
                };
                live.insert(uid);
                recorded |= push(&timeline, change, kind, object);
            }
            Event::InitDone => {
                let listed = listing.take().unwrap_or_default();
                let vanished: Vec<String> = live.difference(&listed).cloned().collect();
                for uid in vanished {
                    live.remove(&uid);
                    recorded |= record_vanished(&timeline, kind, &uid);
                }
                if let Some(synced) = synced.take() {
                    let _ = synced.send(());
                }
            }
            Event::Apply(object) => {
                let object = into_value(object);
                let uid = uid_of(&object);
                let change = if live.insert(uid) {
                    ChangeKind::Added
                } else {
                    ChangeKind::Modified
                };
                recorded |= push(&timeline, change, kind, object);
            }
            Event::Delete(object) => {
                let object = into_value(object);
                live.remove(&uid_of(&object));
                recorded |= push(&timeline, ChangeKind::Deleted, kind, object);
            }
        }
        if recorded {
            notify.send_modify(|count| *count += 1);
        }
    }
}

fn push(timeline: &Mutex<Timeline>, change: ChangeKind, kind: &str, object: Value) -> bool {
    let mut timeline = timeline
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    timeline.push(change, kind, object, Utc::now()).is_some()
}

/// Records the deletion of an object that a relist no longer returned. Its last known state
/// is stamped with the highest resourceVersion seen, so the deletion sorts after everything
/// recorded before the relist.
fn record_vanished(timeline: &Mutex<Timeline>, kind: &str, uid: &str) -> bool {
    let mut timeline = timeline
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let last = timeline
        .changes()
        .iter()
        .rev()
        .find(|change| change.kind == kind && change.uid() == uid)
        .map(|change| (*change.object).clone());
    let highest = timeline
        .changes()
        .iter()
        .filter_map(|change| change.resource_version)
        .max();
    let Some(mut object) = last else {
        return false;
    };
    if let (Some(highest), Some(metadata)) = (highest, object.get_mut("metadata")) {
        metadata["resourceVersion"] = Value::String(highest.to_string());
    }
    timeline
        .push(ChangeKind::Deleted, kind, object, Utc::now())
        .is_some()
}

/// Converts a watched object to JSON, dropping `managedFields`, which no assertion reads and
/// which would otherwise dominate the recording's memory.
fn into_value(object: DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    value
}

fn uid_of(object: &Value) -> String {
    object
        .pointer("/metadata/uid")
        .or_else(|| object.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn is_forbidden(err: &watcher::Error) -> bool {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(response))
        | watcher::Error::WatchStartFailed(kube::Error::Api(response)) => response.code == 403,
        watcher::Error::WatchError(response) => response.code == 403,
        _ => false,
    }
}
