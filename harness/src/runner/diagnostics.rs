//! Attachments of a timed-out wait: the last recorded state of the objects it waited on and the
//! events of the namespace, so the failure can be understood without rerunning.

use std::fmt::Write;

use serde_json::Value;

use crate::dsl::{Check, KindInfo};
use crate::recorder::timeline::{ChangeKind, Timeline, str_at};

/// Maximum number of events listed; the most recent ones are kept.
const MAX_EVENTS: usize = 25;

/// Last states of the checked objects and the namespace's events, as indented text.
pub fn describe(timeline: &Timeline, check: &Check) -> String {
    let mut out = String::new();
    if let Some(target) = &check.target {
        match last_state(timeline, &target.kind, &target.name) {
            Some((state, deleted)) => {
                let heading = if deleted {
                    "last state before deletion"
                } else {
                    "last state"
                };
                let _ = writeln!(out, "{heading} of {target}:");
                out.push_str(&indent(&state_yaml(state)));
            }
            None => {
                let _ = writeln!(out, "{target} was never seen");
            }
        }
    }
    if let Some(count) = &check.count {
        let kind = count
            .kind
            .as_deref()
            .and_then(KindInfo::find)
            .map_or("Pod", |info| info.kind);
        let objects = timeline.current(kind);
        let _ = writeln!(out, "{} {kind} objects exist now:", objects.len());
        for object in objects.iter().take(20) {
            let name = str_at(object, &["metadata", "name"]).unwrap_or_default();
            let phase = str_at(object, &["status", "phase"]).unwrap_or("-");
            let deleting = if object.pointer("/metadata/deletionTimestamp").is_some() {
                ", being deleted"
            } else {
                ""
            };
            let _ = writeln!(out, "  {name} ({phase}{deleting})");
        }
    }
    out.push_str(&events(timeline));
    out
}

/// Finds the last recorded state of an object and whether that was its deletion.
fn last_state<'t>(timeline: &'t Timeline, kind: &str, name: &str) -> Option<(&'t Value, bool)> {
    timeline
        .changes()
        .iter()
        .rev()
        .find(|change| change.kind == kind && change.name() == name)
        .map(|change| (&*change.object, change.change == ChangeKind::Deleted))
}

/// Keeps the parts of an object worth reading in a failure: metadata essentials, spec, status.
fn state_yaml(object: &Value) -> String {
    let mut trimmed = serde_json::Map::new();
    if let Some(metadata) = object.get("metadata") {
        let mut essentials = serde_json::Map::new();
        for key in [
            "name",
            "generation",
            "deletionTimestamp",
            "labels",
            "annotations",
        ] {
            if let Some(value) = metadata.get(key) {
                essentials.insert(key.to_owned(), value.clone());
            }
        }
        trimmed.insert("metadata".to_owned(), Value::Object(essentials));
    }
    for key in ["spec", "status"] {
        if let Some(value) = object.get(key) {
            trimmed.insert(key.to_owned(), value.clone());
        }
    }
    serde_yaml::to_string(&Value::Object(trimmed)).unwrap_or_default()
}

/// Formats the namespace's events in recorded order as `Reason kind/name: message` lines.
fn events(timeline: &Timeline) -> String {
    let events: Vec<&Value> = timeline
        .changes()
        .iter()
        .filter(|change| change.kind == "Event" && change.change != ChangeKind::Deleted)
        .map(|change| &*change.object)
        .collect();
    if events.is_empty() {
        return "no events were recorded in the namespace\n".to_owned();
    }
    let skipped = events.len().saturating_sub(MAX_EVENTS);
    let mut out = format!("events ({} recorded", events.len());
    if skipped > 0 {
        let _ = write!(out, ", the last {MAX_EVENTS} shown");
    }
    out.push_str("):\n");
    for event in events.into_iter().skip(skipped) {
        let reason = str_at(event, &["reason"]).unwrap_or("-");
        let kind = str_at(event, &["involvedObject", "kind"]).unwrap_or("-");
        let name = str_at(event, &["involvedObject", "name"]).unwrap_or("-");
        let message = str_at(event, &["message"]).unwrap_or_default();
        let kind_type = str_at(event, &["type"]).unwrap_or("Normal");
        let _ = writeln!(
            out,
            "  {kind_type} {reason} {}/{name}: {message}",
            kind.to_lowercase()
        );
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::Target;
    use crate::recorder::timeline::ChangeKind;
    use serde_json::json;

    #[test]
    fn describe_lists_state_and_events() {
        let timeline = Timeline::from_changes([
            (
                ChangeKind::Added,
                "Job",
                json!({"metadata": {"name": "pi", "uid": "j1", "resourceVersion": "1"},
                       "spec": {"completions": 3}, "status": {"active": 1}}),
            ),
            (
                ChangeKind::Added,
                "Event",
                json!({"metadata": {"name": "pi.1", "uid": "e1", "resourceVersion": "2"},
                       "type": "Normal", "reason": "SuccessfulCreate",
                       "involvedObject": {"kind": "Job", "name": "pi"},
                       "message": "Created pod: pi-abcde"}),
            ),
        ]);
        let check = Check {
            target: Some(Target::new("Job", "pi")),
            ..Check::default()
        };
        insta::assert_snapshot!(describe(&timeline, &check), @r"
        last state of job/pi:
          metadata:
            name: pi
          spec:
            completions: 3
          status:
            active: 1
        events (1 recorded):
          Normal SuccessfulCreate job/pi: Created pod: pi-abcde
        ");
    }
}
