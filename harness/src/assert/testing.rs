//! Builders for the hand-written timelines and objects of the assertion tests.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::recorder::timeline::{ChangeKind, Timeline};

/// Snapshots a failure message under `src/assert/snapshots`, named after the test function
/// and its rstest case, so each case's wording is reviewed on its own.
macro_rules! assert_message_snapshot {
    ($context:expr, $message:expr) => {{
        let context: &rstest::Context = &$context;
        let name = format!("{}-{}", context.name, context.description.unwrap_or("case"));
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/src/assert/snapshots"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.as_str(), $message);
        });
    }};
}
pub(crate) use assert_message_snapshot;

/// Renders an outcome for a snapshot: its facts as one line of JSON, then its failure.
pub(crate) fn render_outcome(outcome: &crate::assert::Outcome) -> String {
    let facts = serde_json::to_string(&outcome.facts).expect("facts serialize");
    let failure = outcome.failure.as_deref().unwrap_or("(passed)");
    format!("facts: {facts}\nfailure:\n{failure}")
}

/// The instant hand-written recordings start at.
pub(crate) const START: &str = "2024-01-01T00:00:00Z";

pub(crate) fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test instants are RFC 3339")
        .with_timezone(&Utc)
}

/// A timeline written change by change, with increasing resourceVersions and a clock that
/// moves only on [`Recording::wait`].
pub(crate) struct Recording {
    timeline: Timeline,
    clock: DateTime<Utc>,
    resource_version: u64,
}

impl Recording {
    pub(crate) fn new() -> Self {
        Self {
            timeline: Timeline::new(),
            clock: instant(START),
            resource_version: 0,
        }
    }

    /// Moves the observation clock forward.
    pub(crate) fn wait(mut self, seconds: i64) -> Self {
        self.clock += chrono::Duration::seconds(seconds);
        self
    }

    pub(crate) fn existing(self, kind: &str, object: impl Into<Value>) -> Self {
        self.change(ChangeKind::Existing, kind, object.into())
    }

    pub(crate) fn add(self, kind: &str, object: impl Into<Value>) -> Self {
        self.change(ChangeKind::Added, kind, object.into())
    }

    pub(crate) fn modify(self, kind: &str, object: impl Into<Value>) -> Self {
        self.change(ChangeKind::Modified, kind, object.into())
    }

    pub(crate) fn delete(self, kind: &str, object: impl Into<Value>) -> Self {
        self.change(ChangeKind::Deleted, kind, object.into())
    }

    fn change(mut self, change: ChangeKind, kind: &str, mut object: Value) -> Self {
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.timeline.push(change, kind, object, self.clock);
        self
    }

    pub(crate) fn build(self) -> Timeline {
        self.timeline
    }
}

/// An object under construction: `Object::named("web-0").phase("Running").ready(true)`.
#[derive(Clone, Debug)]
pub(crate) struct Object(Value);

impl Object {
    pub(crate) fn named(name: &str) -> Self {
        Self(json!({"metadata": {"name": name, "namespace": "test"}}))
    }

    pub(crate) fn uid(self, uid: &str) -> Self {
        self.set(&["metadata", "uid"], json!(uid))
    }

    pub(crate) fn label(self, key: &str, value: &str) -> Self {
        self.set(&["metadata", "labels", key], json!(value))
    }

    pub(crate) fn annotation(self, key: &str, value: &str) -> Self {
        self.set(&["metadata", "annotations", key], json!(value))
    }

    pub(crate) fn created(self, timestamp: &str) -> Self {
        self.set(&["metadata", "creationTimestamp"], json!(timestamp))
    }

    /// Adds a controller ownerReference.
    pub(crate) fn owner(mut self, kind: &str, name: &str) -> Self {
        let reference = json!({"apiVersion": "v1", "kind": kind, "name": name,
                               "uid": format!("uid-{name}"), "controller": true});
        let refs = self.0["metadata"]
            .as_object_mut()
            .expect("metadata is an object")
            .entry("ownerReferences")
            .or_insert_with(|| json!([]));
        refs.as_array_mut()
            .expect("ownerReferences is a list")
            .push(reference);
        self
    }

    pub(crate) fn phase(self, phase: &str) -> Self {
        self.set(&["status", "phase"], json!(phase))
    }

    pub(crate) fn node(self, node: &str) -> Self {
        self.set(&["spec", "nodeName"], json!(node))
    }

    pub(crate) fn terminating(self) -> Self {
        self.set(
            &["metadata", "deletionTimestamp"],
            json!("2024-01-01T00:00:00Z"),
        )
    }

    /// Sets a status condition, replacing one of the same type.
    pub(crate) fn condition(mut self, type_: &str, status: &str) -> Self {
        let conditions = self
            .0
            .as_object_mut()
            .expect("objects are maps")
            .entry("status")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("status is a map")
            .entry("conditions")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("conditions is a list");
        conditions.retain(|condition| condition["type"] != type_);
        conditions.push(json!({"type": type_, "status": status}));
        self
    }

    /// Puts a pod in phase Running with its Ready condition set.
    pub(crate) fn running(self, ready: bool) -> Self {
        let status = if ready { "True" } else { "False" };
        self.phase("Running").condition("Ready", status)
    }

    /// Sets the value at a path of keys, creating maps on the way.
    pub(crate) fn set(mut self, path: &[&str], value: Value) -> Self {
        let (last, parents) = path.split_last().expect("paths are not empty");
        let mut current = &mut self.0;
        for key in parents {
            if !current.get(*key).is_some_and(Value::is_object) {
                current[*key] = Value::Object(Map::new());
            }
            current = &mut current[*key];
        }
        current[*last] = value;
        self
    }
}

impl From<Object> for Value {
    fn from(object: Object) -> Self {
        object.0
    }
}
