//! Reading Kubernetes objects stored as JSON: labels, owners, phases and conditions.
//!
//! Every accessor tolerates missing fields, because hand-written and partially recorded
//! objects omit what the API server would default.

use serde_json::{Map, Value};

use crate::dsl::values::{KindInfo, Target};
use crate::recorder::timeline::{Timeline, str_at, value_at};

/// How many controller hops [`owned_by`] follows, enough for CronJob → Job → Pod and
/// Deployment → ReplicaSet → Pod with room to spare.
const MAX_OWNER_DEPTH: usize = 4;

pub(crate) fn name(object: &Value) -> &str {
    str_at(object, &["metadata", "name"]).unwrap_or_default()
}

pub(crate) fn labels(object: &Value) -> Option<&Map<String, Value>> {
    value_at(object, &["metadata", "labels"])?.as_object()
}

pub(crate) fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    value_at(object, &["metadata", "annotations", key])?.as_str()
}

/// Checks whether the API server accepted a delete for the object (`metadata.deletionTimestamp`).
pub(crate) fn is_terminating(object: &Value) -> bool {
    value_at(object, &["metadata", "deletionTimestamp"]).is_some_and(|value| !value.is_null())
}

pub(crate) fn phase(object: &Value) -> Option<&str> {
    str_at(object, &["status", "phase"])
}

/// Checks whether a pod phase is terminal: the pod's containers will not run again.
pub(crate) fn is_terminal_phase(phase: Option<&str>) -> bool {
    matches!(phase, Some("Succeeded" | "Failed"))
}

/// Checks whether a pod is active the way the Job controller counts it: not in a terminal phase and
/// not being deleted. The caller decides whether the pod exists at all.
pub(crate) fn pod_is_active(pod: &Value) -> bool {
    !is_terminal_phase(phase(pod)) && !is_terminating(pod)
}

/// Checks whether a pod is in phase Running and not being deleted.
pub(crate) fn pod_is_running(pod: &Value) -> bool {
    phase(pod) == Some("Running") && !is_terminating(pod)
}

/// Checks whether a pod is Running with its Ready condition True, which OrderedReady waits for.
pub(crate) fn pod_is_running_and_ready(pod: &Value) -> bool {
    phase(pod) == Some("Running") && condition_status(pod, "Ready") == Some("True")
}

/// Returns the node a pod runs on or is bound for: `spec.nodeName`, or for a daemon pod that is
/// not scheduled yet the single `metadata.name` its required node affinity names.
pub(crate) fn pod_node(pod: &Value) -> Option<&str> {
    if let Some(node) = str_at(pod, &["spec", "nodeName"]).filter(|node| !node.is_empty()) {
        return Some(node);
    }
    let terms = value_at(
        pod,
        &[
            "spec",
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        ],
    )?
    .as_array()?;
    terms.iter().find_map(|term| {
        term.get("matchFields")?
            .as_array()?
            .iter()
            .find_map(|field| {
                let is_name = field.get("key")?.as_str()? == "metadata.name";
                let is_in = field.get("operator")?.as_str()? == "In";
                let values = field.get("values")?.as_array()?;
                (is_name && is_in && values.len() == 1).then(|| values[0].as_str())?
            })
    })
}

/// Finds a status condition by type.
pub(crate) fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    value_at(object, &["status", "conditions"])?
        .as_array()?
        .iter()
        .find(|condition| condition.get("type").and_then(Value::as_str) == Some(type_))
}

pub(crate) fn condition_status<'a>(object: &'a Value, type_: &str) -> Option<&'a str> {
    condition(object, type_)?.get("status")?.as_str()
}

/// Describes the conditions of an object as `Type=Status` pairs, for messages.
pub(crate) fn describe_conditions(object: &Value) -> String {
    let Some(conditions) = value_at(object, &["status", "conditions"]).and_then(Value::as_array)
    else {
        return "no conditions".to_owned();
    };
    if conditions.is_empty() {
        return "no conditions".to_owned();
    }
    let pairs: Vec<String> = conditions
        .iter()
        .map(|condition| {
            let type_ = condition.get("type").and_then(Value::as_str).unwrap_or("?");
            let status = condition
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!("{type_}={status}")
        })
        .collect();
    format!("conditions {}", pairs.join(", "))
}

/// The result of a finished Job, from its Complete or Failed condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobResult {
    Complete,
    Failed,
}

pub(crate) fn job_result(job: &Value) -> Option<JobResult> {
    if condition_status(job, "Complete") == Some("True") {
        Some(JobResult::Complete)
    } else if condition_status(job, "Failed") == Some("True") {
        Some(JobResult::Failed)
    } else {
        None
    }
}

/// Checks whether an object is active in the sense of a `count: {active: true}` check: a pod
/// that [`pod_is_active`], a Job without a Complete or Failed condition, and any other object
/// that is not being deleted.
pub(crate) fn is_active(kind: &str, object: &Value) -> bool {
    match kind {
        "Pod" => pod_is_active(object),
        "Job" => job_result(object).is_none() && !is_terminating(object),
        _ => !is_terminating(object),
    }
}

/// One entry of `metadata.ownerReferences`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OwnerRef<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub controller: bool,
}

pub(crate) fn owner_refs(object: &Value) -> Vec<OwnerRef<'_>> {
    let Some(refs) = value_at(object, &["metadata", "ownerReferences"]).and_then(Value::as_array)
    else {
        return Vec::new();
    };
    refs.iter()
        .filter_map(|owner| {
            Some(OwnerRef {
                kind: owner.get("kind")?.as_str()?,
                name: owner.get("name")?.as_str()?,
                controller: owner.get("controller").and_then(Value::as_bool) == Some(true),
            })
        })
        .collect()
}

/// Checks whether `object` has an ownerReference to `owner`, directly or through a chain of
/// controllers recorded in the timeline (a Deployment's pods through their ReplicaSet, a
/// CronJob's pods through their Job).
///
/// Owners are compared by kind and name, so the pods of a deleted and re-created owner of the
/// same name count as its pods too.
pub(crate) fn owned_by(object: &Value, owner: &Target, timeline: &Timeline) -> bool {
    let mut current = object;
    for _ in 0..MAX_OWNER_DEPTH {
        let refs = owner_refs(current);
        if refs
            .iter()
            .any(|r| r.kind == owner.kind && r.name == owner.name)
        {
            return true;
        }
        let Some(controller) = refs.iter().find(|r| r.controller) else {
            return false;
        };
        let Some(next) = last_recorded(timeline, controller.kind, controller.name) else {
            return false;
        };
        current = next;
    }
    false
}

/// Checks whether any recorded state of an object incarnation has an ownerReference to
/// `owner`, so a dependent still counts after the garbage collector removed the reference.
pub(crate) fn ever_owned_by<'a>(
    states: impl IntoIterator<Item = &'a Value>,
    owner: &Target,
    timeline: &Timeline,
) -> bool {
    states
        .into_iter()
        .any(|state| owned_by(state, owner, timeline))
}

/// Finds the last recorded state of an object, whether or not it was deleted since.
pub(crate) fn last_recorded<'a>(
    timeline: &'a Timeline,
    kind: &str,
    name: &str,
) -> Option<&'a Value> {
    timeline
        .changes()
        .iter()
        .rev()
        .find(|change| change.kind == kind && change.name() == name)
        .map(|change| &*change.object)
}

/// Resolves the kind a scenario names (`pvc`, `Pod`, `jobs`) to the kind in manifests.
pub(crate) fn resolve_kind(name: &str) -> Result<&'static str, String> {
    KindInfo::find(name).map(|info| info.kind).ok_or_else(|| {
        let aliases = crate::dsl::values::KINDS
            .iter()
            .flat_map(|info| info.aliases.iter().copied());
        let hint = crate::dsl::nearest(name, aliases)
            .map(|alias| format!(" (did you mean `{alias}`?)"))
            .unwrap_or_default();
        format!("unknown kind `{name}`{hint}")
    })
}

/// Writes a kind as `kubectl` prints it in `kind/name`: lower case.
pub(crate) fn kind_prefix(kind: &str) -> String {
    kind.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case::bound(json!({"spec": {"nodeName": "w-1"}}), Some("w-1"))]
    #[case::daemon_affinity(json!({"spec": {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["w-2"]}]}
        ]}}}}}), Some("w-2"))]
    #[case::unscheduled(json!({"spec": {}}), None)]
    fn pod_node_reads_binding_or_affinity(#[case] pod: Value, #[case] expected: Option<&str>) {
        assert_eq!(pod_node(&pod), expected);
    }

    #[rstest]
    #[case::pending(json!({"status": {"phase": "Pending"}}), true)]
    #[case::running(json!({"status": {"phase": "Running"}}), true)]
    #[case::succeeded(json!({"status": {"phase": "Succeeded"}}), false)]
    #[case::failed(json!({"status": {"phase": "Failed"}}), false)]
    #[case::terminating(
        json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"},
               "status": {"phase": "Running"}}),
        false
    )]
    fn pod_activity_follows_job_controller(#[case] pod: Value, #[case] active: bool) {
        assert_eq!(pod_is_active(&pod), active);
    }

    #[test]
    fn owned_by_follows_controller_chain() {
        use crate::recorder::timeline::ChangeKind;
        let timeline = Timeline::from_changes([(
            ChangeKind::Added,
            "ReplicaSet",
            json!({"metadata": {"name": "web-6d4", "ownerReferences": [
                {"kind": "Deployment", "name": "web", "controller": true}]}}),
        )]);
        let pod = json!({"metadata": {"name": "web-6d4-x", "ownerReferences": [
            {"kind": "ReplicaSet", "name": "web-6d4", "controller": true}]}});
        assert!(owned_by(&pod, &Target::new("Deployment", "web"), &timeline));
        assert!(owned_by(
            &pod,
            &Target::new("ReplicaSet", "web-6d4"),
            &timeline
        ));
        assert!(!owned_by(
            &pod,
            &Target::new("Deployment", "api"),
            &timeline
        ));
    }
}
