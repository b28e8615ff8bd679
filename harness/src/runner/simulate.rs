//! Writing a scenario's `simulate` block into pod templates as `kspec.dev/` annotations,
//! which the local cluster's simulated nodes obey.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::cluster::local::annotations;
use crate::dsl::{Simulation, Target};

/// Annotations for one workload's pods.
pub fn annotations_for(simulation: &Simulation) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(run_for) = simulation.run_for {
        out.insert(
            annotations::RUN_FOR.to_owned(),
            format!("{}ms", run_for.0.as_millis()),
        );
    }
    if let Some(code) = simulation.exit_code {
        out.insert(annotations::EXIT_CODE.to_owned(), code.to_string());
    }
    for (index, code) in &simulation.exit_code_by_index {
        out.insert(
            format!("{}{index}", annotations::EXIT_CODE_INDEX_PREFIX),
            code.to_string(),
        );
    }
    if let Some(ready) = simulation.ready {
        out.insert(annotations::READY.to_owned(), ready.to_string());
    }
    if let Some(start_after) = simulation.start_after {
        out.insert(
            annotations::START_AFTER.to_owned(),
            format!("{}ms", start_after.0.as_millis()),
        );
    }
    out
}

/// JSON pointer to the pod template's metadata of a workload kind, or to the metadata of a
/// Pod itself.
fn pod_metadata_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/metadata"),
        "Job" | "DaemonSet" | "StatefulSet" | "Deployment" | "ReplicaSet" => {
            Some("/spec/template/metadata")
        }
        "CronJob" => Some("/spec/jobTemplate/spec/template/metadata"),
        _ => None,
    }
}

/// Adds the annotations of every `simulate` entry to the matching manifest. Returns the
/// targets that name no manifest or a kind without pods.
pub fn inject(manifests: &mut [Value], simulate: &BTreeMap<Target, Simulation>) -> Vec<String> {
    let mut problems = Vec::new();
    for (target, simulation) in simulate {
        let Some(pointer) = pod_metadata_pointer(&target.kind) else {
            problems.push(format!(
                "simulate target {target} is a {}, which has no pods; name a Pod or a workload",
                target.kind
            ));
            continue;
        };
        let manifest = manifests.iter_mut().find(|manifest| {
            manifest.get("kind").and_then(Value::as_str) == Some(target.kind.as_str())
                && manifest.pointer("/metadata/name").and_then(Value::as_str)
                    == Some(target.name.as_str())
        });
        let Some(manifest) = manifest else {
            problems.push(format!(
                "simulate target {target} names no manifest of the scenario"
            ));
            continue;
        };
        let metadata = ensure_object(manifest, pointer);
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !annotations.is_object() {
            *annotations = Value::Object(Map::new());
        }
        let annotations = annotations
            .as_object_mut()
            .expect("replaced by an object above");
        for (key, value) in annotations_for(simulation) {
            annotations.insert(key, Value::String(value));
        }
    }
    problems
}

/// The object at `pointer`, creating empty objects along the way.
fn ensure_object<'a>(root: &'a mut Value, pointer: &str) -> &'a mut Map<String, Value> {
    let mut current = root;
    for key in pointer.split('/').skip(1) {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        current = current
            .as_object_mut()
            .expect("made an object above")
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    current.as_object_mut().expect("made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::Duration;
    use serde_json::json;

    #[test]
    fn inject_reaches_cronjob_pod_template() {
        let mut manifests = vec![json!({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}
        })];
        let simulate = BTreeMap::from([(
            Target::new("CronJob", "backup"),
            Simulation {
                run_for: Some(Duration::from_secs(2)),
                exit_code: Some(3),
                ..Simulation::default()
            },
        )]);
        let problems = inject(&mut manifests, &simulate);
        assert!(problems.is_empty(), "{problems:?}");
        let annotations =
            &manifests[0]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations[annotations::RUN_FOR], "2000ms");
        assert_eq!(annotations[annotations::EXIT_CODE], "3");
    }

    #[test]
    fn inject_reports_unknown_target() {
        let mut manifests = vec![json!({"kind": "Job", "metadata": {"name": "a"}})];
        let simulate = BTreeMap::from([(Target::new("Job", "b"), Simulation::default())]);
        let problems = inject(&mut manifests, &simulate);
        assert_eq!(
            problems,
            ["simulate target job/b names no manifest of the scenario"]
        );
    }
}
