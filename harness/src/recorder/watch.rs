//! Watches that feed a [`Timeline`]: one per recorded kind, opened before the first apply.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
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
    /// API handles of the recorded kinds except Event, for [`Recorder::catch_up`].
    lists: Vec<(&'static str, Api<DynamicObject>)>,
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
        let mut lists = Vec::new();
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
            if info.kind != "Event" {
                lists.push((info.kind, api.clone()));
            }
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
            lists,
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

    /// Copies the timeline as it is now.
    pub fn snapshot(&self) -> Timeline {
        self.timeline().clone()
    }

    /// Returns a receiver whose value changes whenever a change is recorded.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Waits until the timeline has caught up with the cluster as a fresh list reads it, for
    /// at most `timeout`.
    ///
    /// Each kind has its own watch, so when one watch delivers a change, another may not yet
    /// have delivered an earlier one: right after a Job's deletion arrives, the deletion of its
    /// pod may still be on its way. Checks of the present state call this first. Events are
    /// not listed, because no check reads them. Returns false when the time ran out or a list
    /// failed, in which case the check goes ahead on what was recorded.
    pub async fn catch_up(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut listed = Vec::new();
        for (kind, api) in &self.lists {
            let list = match api.list(&kube::api::ListParams::default()).await {
                Ok(list) => list,
                Err(err) => {
                    debug!(kind, error = %err, "listing for catch-up failed");
                    return false;
                }
            };
            let collection_version = list
                .metadata
                .resource_version
                .as_deref()
                .and_then(|version| version.parse::<u64>().ok());
            let items: Vec<(String, Option<u64>)> = list
                .items
                .iter()
                .map(|object| {
                    let uid = object.metadata.uid.clone().unwrap_or_default();
                    let version = object
                        .metadata
                        .resource_version
                        .as_deref()
                        .and_then(|version| version.parse::<u64>().ok());
                    (uid, version)
                })
                .collect();
            listed.push(Listed {
                kind,
                collection_version,
                items,
            });
        }

        let mut changes = self.subscribe();
        loop {
            changes.borrow_and_update();
            if listed
                .iter()
                .all(|list| list.is_reflected(&self.timeline()))
            {
                return true;
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return false;
                    }
                }
                () = tokio::time::sleep_until(deadline) => return false,
            }
        }
    }
}

/// What a list returned for one kind: its resourceVersion and each object's uid and
/// resourceVersion.
struct Listed {
    kind: &'static str,
    collection_version: Option<u64>,
    items: Vec<(String, Option<u64>)>,
}

impl Listed {
    /// Whether the timeline shows every listed object at its listed version or later, and
    /// shows as deleted every object it recorded before the list that the list lacks.
    fn is_reflected(&self, timeline: &Timeline) -> bool {
        let mut latest: std::collections::HashMap<&str, (ChangeKind, Option<u64>)> =
            std::collections::HashMap::new();
        for change in timeline
            .changes()
            .iter()
            .filter(|change| change.kind == self.kind)
        {
            latest.insert(change.uid(), (change.change, change.resource_version));
        }
        // A listed object may have changed or gone since the list; a later version counts.
        let all_listed_seen = self.items.iter().all(|(uid, version)| {
            latest.get(uid.as_str()).is_some_and(|(_, seen)| {
                version.is_none_or(|listed| seen.is_some_and(|seen| seen >= listed))
            })
        });
        let listed: HashSet<&str> = self.items.iter().map(|(uid, _)| uid.as_str()).collect();
        let no_stale_objects = latest.iter().all(|(uid, (change, seen))| {
            let recorded_before_list = match (seen, self.collection_version) {
                (Some(seen), Some(collection)) => *seen <= collection,
                _ => true,
            };
            *change == ChangeKind::Deleted || listed.contains(uid) || !recorded_before_list
        });
        all_listed_seen && no_stale_objects
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Builds the API resource of a kind in the kind table.
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
/// 410 Gone; [`WatchState`] turns its events into timeline changes.
async fn record(
    api: Api<DynamicObject>,
    kind: &'static str,
    timeline: Arc<Mutex<Timeline>>,
    notify: Arc<watch::Sender<u64>>,
    synced: tokio::sync::oneshot::Sender<()>,
) {
    let mut synced = Some(synced);
    let mut state = WatchState::new(kind);
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
        let event = match event {
            Event::Apply(object) => Event::Apply(into_value(object)),
            Event::Delete(object) => Event::Delete(into_value(object)),
            Event::InitApply(object) => Event::InitApply(into_value(object)),
            Event::Init => Event::Init,
            Event::InitDone => Event::InitDone,
        };
        let initial_list_done = matches!(event, Event::InitDone);
        let recorded = {
            let mut timeline = timeline
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.on_event(event, &mut timeline, Utc::now())
        };
        if recorded {
            notify.send_modify(|count| *count += 1);
        }
        if initial_list_done && let Some(synced) = synced.take() {
            let _ = synced.send(());
        }
    }
}

/// What one kind's watch has delivered so far, to turn watcher events into timeline changes.
///
/// A relist after a dropped watch repeats objects the timeline already has, which the timeline
/// skips by resourceVersion. It also omits objects deleted while the watch was down, so those
/// are recorded as deleted when the relist ends. Intermediate states of an object that changed
/// several times while the watch was down cannot be recovered.
pub(crate) struct WatchState {
    kind: &'static str,
    /// Whether the first list has ended; objects it lists existed before the recording.
    initial_list_done: bool,
    /// Uids listed so far by a list in progress.
    listing: Option<HashSet<String>>,
    /// Uids that exist according to what was delivered.
    live: HashSet<String>,
}

impl WatchState {
    pub(crate) fn new(kind: &'static str) -> Self {
        Self {
            kind,
            initial_list_done: false,
            listing: None,
            live: HashSet::new(),
        }
    }

    /// Records one event; returns whether the timeline changed.
    pub(crate) fn on_event(
        &mut self,
        event: Event<Value>,
        timeline: &mut Timeline,
        now: DateTime<Utc>,
    ) -> bool {
        match event {
            Event::Init => {
                self.listing = Some(HashSet::new());
                false
            }
            Event::InitApply(object) => {
                let uid = uid_of(&object);
                if let Some(listed) = self.listing.as_mut() {
                    listed.insert(uid.clone());
                }
                let change = if !self.initial_list_done {
                    ChangeKind::Existing
                } else if self.live.contains(&uid) {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Added
                };
                self.live.insert(uid);
                timeline.push(change, self.kind, object, now).is_some()
            }
            Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                let vanished: Vec<String> = self.live.difference(&listed).cloned().collect();
                let mut recorded = false;
                for uid in vanished {
                    self.live.remove(&uid);
                    recorded |= record_vanished(timeline, self.kind, &uid, now);
                }
                self.initial_list_done = true;
                recorded
            }
            Event::Apply(object) => {
                let change = if self.live.insert(uid_of(&object)) {
                    ChangeKind::Added
                } else {
                    ChangeKind::Modified
                };
                timeline.push(change, self.kind, object, now).is_some()
            }
            Event::Delete(object) => {
                self.live.remove(&uid_of(&object));
                timeline
                    .push(ChangeKind::Deleted, self.kind, object, now)
                    .is_some()
            }
        }
    }
}

/// Records the deletion of an object that a relist no longer returned. Its last known state
/// is stamped with the highest resourceVersion seen, so the deletion sorts after everything
/// recorded before the relist.
fn record_vanished(timeline: &mut Timeline, kind: &str, uid: &str, now: DateTime<Utc>) -> bool {
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
        .push(ChangeKind::Deleted, kind, object, now)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, rv: u64, phase: &str) -> Value {
        json!({"metadata": {"name": name, "uid": format!("uid-{name}"),
                            "resourceVersion": rv.to_string()},
               "status": {"phase": phase}})
    }

    fn replay(events: Vec<Event<Value>>) -> Timeline {
        let mut timeline = Timeline::new();
        let mut state = WatchState::new("Pod");
        for event in events {
            state.on_event(event, &mut timeline, Utc::now());
        }
        timeline
    }

    fn summary(timeline: &Timeline) -> Vec<String> {
        timeline
            .changes()
            .iter()
            .map(|change| {
                let phase = change.object["status"]["phase"]
                    .as_str()
                    .unwrap_or_default();
                format!("{:?} {} {phase}", change.change, change.name())
            })
            .collect()
    }

    #[test]
    fn initial_list_is_existing() {
        let timeline = replay(vec![
            Event::Init,
            Event::InitApply(pod("a", 5, "Running")),
            Event::InitDone,
            Event::Apply(pod("b", 6, "Pending")),
        ]);
        assert_eq!(
            summary(&timeline),
            ["Existing a Running", "Added b Pending"]
        );
    }

    #[test]
    fn relist_adds_no_duplicates() {
        let timeline = replay(vec![
            Event::Init,
            Event::InitDone,
            Event::Apply(pod("a", 5, "Pending")),
            Event::Apply(pod("a", 6, "Running")),
            // The watch dropped with 410 Gone; the relist returns what the timeline has.
            Event::Init,
            Event::InitApply(pod("a", 6, "Running")),
            Event::InitDone,
        ]);
        assert_eq!(
            summary(&timeline),
            ["Added a Pending", "Modified a Running"]
        );
    }

    #[test]
    fn relist_records_changes_made_while_down() {
        let timeline = replay(vec![
            Event::Init,
            Event::InitDone,
            Event::Apply(pod("a", 5, "Running")),
            Event::Apply(pod("b", 6, "Running")),
            Event::Init,
            Event::InitApply(pod("a", 9, "Succeeded")),
            Event::InitApply(pod("c", 10, "Pending")),
            Event::InitDone,
        ]);
        assert_eq!(
            summary(&timeline),
            [
                "Added a Running",
                "Added b Running",
                "Modified a Succeeded",
                "Added c Pending",
                "Deleted b Running",
            ]
        );
        let deleted = timeline.changes().last().unwrap();
        assert_eq!(deleted.resource_version, Some(10));
    }
}
