//! The ordered record of every change a scenario's watches delivered.
//!
//! Changes are ordered by `metadata.resourceVersion`, which on etcd-backed clusters is one
//! counter shared by all kinds, so a Pod change and a Job change are placed in the order the
//! API server committed them. Kubernetes timestamps have one-second resolution and cannot do
//! this. Where a resourceVersion does not parse as an integer (the API contract calls it
//! opaque), the whole timeline falls back to arrival order.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What happened to an object in one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// The object existed before the watch opened; it came from the initial list.
    Existing,
    Added,
    Modified,
    Deleted,
}

/// One change of one object, as a watch delivered it.
#[derive(Clone, Debug)]
pub struct Change {
    /// Arrival order across all watches of the recording, starting at 0.
    pub seq: u64,
    /// `metadata.resourceVersion` parsed as an integer, when it parses.
    pub resource_version: Option<u64>,
    pub change: ChangeKind,
    /// Kind of the object, as in its manifest (`Pod`, `Job`, `Node`).
    pub kind: String,
    /// The whole object after the change; for a deletion, its last state.
    pub object: Arc<Value>,
    /// Local wall-clock time at which the change arrived.
    pub observed_at: DateTime<Utc>,
}

impl Change {
    pub fn name(&self) -> &str {
        str_at(&self.object, &["metadata", "name"]).unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        str_at(&self.object, &["metadata", "namespace"])
    }

    /// `metadata.uid`, or the name where an object has none (hand-written timelines).
    pub fn uid(&self) -> &str {
        str_at(&self.object, &["metadata", "uid"]).unwrap_or_else(|| self.name())
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            kind: self.kind.clone(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }
}

/// Kind, namespace and name of an object: what identifies it across delete and re-create.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.to_lowercase(), self.name)
    }
}

/// A point in a [`Timeline`], from [`Timeline::cursor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Version(Option<u64>),
    Position(usize),
}

/// Every change of one object incarnation (one uid), in timeline order.
#[derive(Clone, Debug)]
pub struct ObjectHistory<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    /// Positions in [`Timeline::changes`] together with the change at that position.
    pub changes: Vec<(usize, &'a Change)>,
}

impl<'a> ObjectHistory<'a> {
    /// Position of the first change of this object in the timeline.
    pub fn first_position(&self) -> usize {
        self.changes[0].0
    }

    pub fn first(&self) -> &'a Value {
        &self.changes[0].1.object
    }

    pub fn last(&self) -> &'a Value {
        &self.changes[self.changes.len() - 1].1.object
    }

    /// Position at which the object was deleted, if it was.
    pub fn deleted_at(&self) -> Option<usize> {
        self.changes
            .iter()
            .find(|(_, change)| change.change == ChangeKind::Deleted)
            .map(|(position, _)| *position)
    }

    /// First position at which `predicate` holds for the object's state.
    pub fn first_position_where(&self, predicate: impl Fn(&Value) -> bool) -> Option<usize> {
        self.changes
            .iter()
            .find(|(_, change)| change.change != ChangeKind::Deleted && predicate(&change.object))
            .map(|(position, _)| *position)
    }
}

/// The recording: changes in resourceVersion order (or arrival order, see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    changes: Vec<Change>,
    /// False once a change arrived whose resourceVersion does not parse as an integer.
    ordered_by_resource_version: bool,
    next_seq: u64,
    /// Last resourceVersion seen per uid, which makes relists after a dropped watch idempotent.
    last_seen: HashMap<String, Option<u64>>,
}

impl Timeline {
    pub fn new() -> Self {
        Self {
            ordered_by_resource_version: true,
            ..Self::default()
        }
    }

    /// Builds a timeline from changes given in order; for tests and replays.
    pub fn from_changes(
        changes: impl IntoIterator<Item = (ChangeKind, &'static str, Value)>,
    ) -> Self {
        let mut timeline = Self::new();
        let start = DateTime::<Utc>::UNIX_EPOCH;
        for (index, (change, kind, object)) in changes.into_iter().enumerate() {
            let observed_at = start + chrono::Duration::seconds(index as i64);
            timeline.push(change, kind, object, observed_at);
        }
        timeline
    }

    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether changes are ordered by resourceVersion (true) or by arrival (false).
    pub fn is_ordered_by_resource_version(&self) -> bool {
        self.ordered_by_resource_version
    }

    /// Records a change and returns its position, or `None` when the same object at the same
    /// resourceVersion was recorded already (a relist repeating what a watch delivered).
    pub fn push(
        &mut self,
        change: ChangeKind,
        kind: &str,
        object: Value,
        observed_at: DateTime<Utc>,
    ) -> Option<usize> {
        let resource_version_text = str_at(&object, &["metadata", "resourceVersion"]);
        let resource_version = resource_version_text.and_then(|text| text.parse::<u64>().ok());
        if resource_version_text.is_some() && resource_version.is_none() {
            self.fall_back_to_arrival_order();
        }

        let uid = str_at(&object, &["metadata", "uid"])
            .or_else(|| str_at(&object, &["metadata", "name"]))
            .unwrap_or_default()
            .to_owned();
        let uid_key = format!("{kind}/{uid}");
        if resource_version.is_some()
            && change != ChangeKind::Deleted
            && self.last_seen.get(&uid_key) == Some(&resource_version)
        {
            return None;
        }
        self.last_seen.insert(uid_key, resource_version);

        let seq = self.next_seq;
        self.next_seq += 1;
        let record = Change {
            seq,
            resource_version,
            change,
            kind: kind.to_owned(),
            object: Arc::new(object),
            observed_at,
        };

        let position = if self.ordered_by_resource_version {
            // Watches of different kinds deliver independently, so a change can arrive after
            // one with a higher resourceVersion; insert it where the server ordered it.
            let key = (record.resource_version.unwrap_or(u64::MAX), record.seq);
            self.changes
                .partition_point(|c| (c.resource_version.unwrap_or(u64::MAX), c.seq) <= key)
        } else {
            self.changes.len()
        };
        self.changes.insert(position, record);
        Some(position)
    }

    /// Uids (per kind) of every object the timeline saw and has not seen deleted.
    pub fn live_uids(&self, kind: &str) -> Vec<String> {
        let mut live = BTreeMap::new();
        for change in self.changes.iter().filter(|c| c.kind == kind) {
            if change.change == ChangeKind::Deleted {
                live.remove(change.uid());
            } else {
                live.insert(change.uid().to_owned(), ());
            }
        }
        live.into_keys().collect()
    }

    /// Last recorded state of every object of `kind` that was not deleted.
    pub fn current(&self, kind: &str) -> Vec<&Value> {
        let mut live: BTreeMap<&str, &Value> = BTreeMap::new();
        for change in self.changes.iter().filter(|c| c.kind == kind) {
            if change.change == ChangeKind::Deleted {
                live.remove(change.uid());
            } else {
                live.insert(change.uid(), &change.object);
            }
        }
        let mut objects: Vec<&Value> = live.into_values().collect();
        objects.sort_by_key(|object| str_at(object, &["metadata", "name"]).unwrap_or_default());
        objects
    }

    /// Last recorded state of the named object, unless it was deleted since.
    pub fn current_object(&self, kind: &str, name: &str) -> Option<&Value> {
        let last = self
            .changes
            .iter()
            .rev()
            .find(|c| c.kind == kind && c.name() == name)?;
        (last.change != ChangeKind::Deleted).then_some(&*last.object)
    }

    /// Histories of every object of `kind`, ordered by their first change.
    pub fn histories(&self, kind: &str) -> Vec<ObjectHistory<'_>> {
        let mut by_uid: Vec<ObjectHistory<'_>> = Vec::new();
        let mut index_of: HashMap<&str, usize> = HashMap::new();
        for (position, change) in self.changes.iter().enumerate() {
            if change.kind != kind {
                continue;
            }
            let uid = change.uid();
            let slot = *index_of.entry(uid).or_insert_with(|| {
                by_uid.push(ObjectHistory {
                    kind: &change.kind,
                    name: change.name(),
                    uid,
                    changes: Vec::new(),
                });
                by_uid.len() - 1
            });
            by_uid[slot].changes.push((position, change));
        }
        by_uid
    }

    /// A point in the recording that stays put when a late change is inserted before it: the
    /// highest resourceVersion so far, or the length when changes are in arrival order.
    pub fn cursor(&self) -> Cursor {
        if self.ordered_by_resource_version {
            Cursor::Version(self.changes.iter().filter_map(|c| c.resource_version).max())
        } else {
            Cursor::Position(self.changes.len())
        }
    }

    /// Number of changes up to and including `cursor`, which is the position just after it.
    pub fn position_of(&self, cursor: Cursor) -> usize {
        match cursor {
            Cursor::Version(None) => self
                .changes
                .partition_point(|change| change.resource_version.is_none()),
            Cursor::Version(Some(version)) => self.changes.partition_point(|change| {
                change.resource_version.is_some_and(|seen| seen <= version)
            }),
            Cursor::Position(position) => position.min(self.changes.len()),
        }
    }

    /// Position of the last change, or `None` for an empty timeline.
    pub fn end(&self) -> Option<usize> {
        self.changes.len().checked_sub(1)
    }

    fn fall_back_to_arrival_order(&mut self) {
        if self.ordered_by_resource_version {
            self.ordered_by_resource_version = false;
            self.changes.sort_by_key(|c| c.seq);
        }
    }
}

/// String at a path of object keys, such as `["metadata", "name"]`.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    value_at(value, path)?.as_str()
}

/// Value at a path of object keys.
pub fn value_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |current, key| current.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, rv: &str, phase: &str) -> Value {
        json!({"metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": rv},
               "status": {"phase": phase}})
    }

    #[test]
    fn push_orders_by_resource_version() {
        let mut timeline = Timeline::new();
        let now = Utc::now();
        timeline.push(ChangeKind::Added, "Pod", pod("a", "10", "Pending"), now);
        timeline.push(ChangeKind::Added, "Job", pod("j", "8", ""), now);
        let names: Vec<&str> = timeline.changes().iter().map(Change::name).collect();
        assert_eq!(names, ["j", "a"]);
    }

    #[test]
    fn push_skips_repeated_resource_version() {
        let mut timeline = Timeline::new();
        let now = Utc::now();
        assert!(
            timeline
                .push(ChangeKind::Added, "Pod", pod("a", "10", "Pending"), now)
                .is_some()
        );
        assert!(
            timeline
                .push(ChangeKind::Existing, "Pod", pod("a", "10", "Pending"), now)
                .is_none()
        );
        assert_eq!(timeline.len(), 1);
    }

    #[test]
    fn opaque_resource_version_falls_back_to_arrival() {
        let mut timeline = Timeline::new();
        let now = Utc::now();
        timeline.push(ChangeKind::Added, "Pod", pod("a", "10", "Pending"), now);
        timeline.push(ChangeKind::Added, "Pod", pod("b", "5", "Pending"), now);
        timeline.push(ChangeKind::Added, "Pod", pod("c", "opaque", "Pending"), now);
        let names: Vec<&str> = timeline.changes().iter().map(Change::name).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(!timeline.is_ordered_by_resource_version());
    }

    #[test]
    fn cursor_stays_put_when_late_change_arrives() {
        let mut timeline = Timeline::new();
        let now = Utc::now();
        timeline.push(ChangeKind::Added, "Pod", pod("a", "10", "Pending"), now);
        let cursor = timeline.cursor();
        timeline.push(ChangeKind::Added, "Pod", pod("b", "12", "Pending"), now);
        timeline.push(ChangeKind::Added, "Job", pod("j", "9", ""), now);
        assert_eq!(timeline.position_of(cursor), 2);
    }

    #[test]
    fn current_drops_deleted_objects() {
        let timeline = Timeline::from_changes([
            (ChangeKind::Added, "Pod", pod("a", "1", "Pending")),
            (ChangeKind::Added, "Pod", pod("b", "2", "Pending")),
            (ChangeKind::Deleted, "Pod", pod("a", "3", "Running")),
        ]);
        let names: Vec<&str> = timeline
            .current("Pod")
            .iter()
            .filter_map(|object| str_at(object, &["metadata", "name"]))
            .collect();
        assert_eq!(names, ["b"]);
        assert!(timeline.current_object("Pod", "a").is_none());
    }
}
