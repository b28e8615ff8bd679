//! Undoing what a scenario did: node changes, cluster-scoped objects and its namespace.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Node, Taint};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

use super::Runner;
use super::apply::ResolvedKind;
use super::scenario::PID_ANNOTATION;
use crate::dsl::NodeStep;
use crate::dsl::values::KINDS;
use crate::recorder::watch::api_resource;

/// Annotation on a node a scenario changed: its labels and taints from before, with the id of
/// the kspec process, so that a later run can restore a node that a killed run left changed.
pub const ORIGINAL_ANNOTATION: &str = "kspec.dev/original";

/// How long cleanup waits for the namespace to disappear before it reports a problem.
const NAMESPACE_DELETE_TIMEOUT: Duration = Duration::from_secs(120);

/// Changes a scenario made outside its namespace, and whether it got a namespace.
#[derive(Debug, Default)]
pub struct Tracker {
    pub namespace: String,
    pub namespace_created: bool,
    /// Cluster-scoped objects the scenario created (not ones that existed before it applied).
    pub cluster_objects: Vec<(ResolvedKind, String)>,
    /// Nodes as they were before the scenario first changed them.
    pub node_originals: BTreeMap<String, Original>,
}

impl Tracker {
    pub fn new(namespace: String) -> Self {
        Self {
            namespace,
            ..Self::default()
        }
    }

    /// Returns whether the scenario already created this cluster-scoped object.
    pub fn owns(&self, kind: &ResolvedKind, name: &str) -> bool {
        self.cluster_objects
            .iter()
            .any(|(owned, owned_name)| owned.resource == kind.resource && owned_name == name)
    }
}

/// Applies a `node` step: sets or removes labels and taints, remembering the originals.
pub async fn change_nodes(
    runner: &Runner,
    tracker: &mut Tracker,
    step: &NodeStep,
) -> Result<(), String> {
    let api: Api<Node> = Api::all(runner.connection.client.clone());
    let nodes = match (&step.name, &step.selector) {
        (Some(name), None) => vec![
            api.get(name)
                .await
                .map_err(|err| format!("failed to get node {name}: {err}"))?,
        ],
        (None, Some(selector)) => {
            api.list(&ListParams::default().labels(selector))
                .await
                .map_err(|err| format!("failed to list nodes -l {selector}: {err}"))?
                .items
        }
        _ => return Err("a node step needs exactly one of `name` and `selector`".to_owned()),
    };
    if nodes.is_empty() {
        return Err(format!(
            "no node matches the selector {}",
            step.selector.as_deref().unwrap_or_default()
        ));
    }

    let added: Vec<Taint> = step
        .add_taints
        .iter()
        .map(|text| parse_taint(text))
        .collect::<Result<_, _>>()?;
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let original = remember(tracker, &node);
        let current_taints = node
            .spec
            .as_ref()
            .and_then(|spec| spec.taints.clone())
            .unwrap_or_default();
        let mut new_taints: Vec<Taint> = current_taints
            .into_iter()
            .filter(|taint| !step.remove_taints.contains(&taint.key))
            .filter(|taint| {
                !added
                    .iter()
                    .any(|add| add.key == taint.key && add.effect == taint.effect)
            })
            .collect();
        new_taints.extend(added.iter().cloned());
        let mut patch = json!({
            "metadata": {"labels": step.labels},
            "spec": {"taints": new_taints},
        });
        if let Some(original) = original {
            patch["metadata"]["annotations"] = json!({ORIGINAL_ANNOTATION: original});
        }
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|err| format!("failed to patch node {name}: {err}"))?;
    }
    Ok(())
}

/// Undoes what runs killed before their cleanup left on the cluster: their namespaces, the
/// cluster-scoped objects they created and the node changes they made. The node changes are
/// undone under the node lock, so that no placement check of another process runs while they
/// change. Returns one line per kind of thing undone, and per problem.
///
/// Only runs on this machine are recognised, by their process ids, so callers use it for the
/// local cluster only.
pub async fn clean_up_leftovers(connection: &crate::cluster::Connection) -> Vec<String> {
    let client = &connection.client;
    let mut lines = Vec::new();
    match super::scenario::delete_leftover_namespaces(client).await {
        Ok(0) => {}
        Ok(count) => lines.push(format!("deleted {count} namespaces left by killed runs")),
        Err(err) => lines.push(format!(
            "warning: listing leftover namespaces failed: {err}"
        )),
    }

    let lock_path = super::node_lock::lock_path(&connection.server);
    let _lock = match super::node_lock::acquire(&lock_path, true).await {
        Ok(lock) => Some(lock),
        Err(err) => {
            lines.push(format!(
                "warning: taking the node lock {} failed: {err}",
                lock_path.display()
            ));
            None
        }
    };
    match delete_leftover_cluster_objects(client).await {
        Ok(objects) if objects.is_empty() => {}
        Ok(objects) => lines.push(format!(
            "deleted objects that killed runs created: {}",
            objects.join(", ")
        )),
        Err(err) => lines.push(format!("warning: {err}")),
    }
    match restore_leftover_nodes(client).await {
        Ok(nodes) if nodes.is_empty() => {}
        Ok(nodes) => lines.push(format!(
            "restored the nodes that killed runs left changed: {}",
            nodes.join(", ")
        )),
        Err(err) => lines.push(format!("warning: {err}")),
    }
    lines
}

/// Label on the cluster-scoped objects a scenario creates, with the scenario's namespace as
/// its value, so that a later run can delete what a killed run created.
pub const OWNER_LABEL: &str = "kspec.dev/owner-namespace";

/// Returns the manifest of a cluster-scoped object the scenario creates, with
/// [`OWNER_LABEL`] and the id of this process in [`PID_ANNOTATION`].
pub fn mark_owned(manifest: &Value, namespace: &str) -> Value {
    let mut marked = manifest.clone();
    if let Some(metadata) = marked.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = metadata.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(OWNER_LABEL.to_owned(), json!(namespace));
        }
        let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(
                PID_ANNOTATION.to_owned(),
                json!(std::process::id().to_string()),
            );
        }
    }
    marked
}

/// Deletes the cluster-scoped objects that runs killed before their cleanup created: those
/// with [`OWNER_LABEL`] whose [`PID_ANNOTATION`] names a process that no longer runs on this
/// machine. Returns them as `kind/name`.
async fn delete_leftover_cluster_objects(client: &kube::Client) -> Result<Vec<String>, String> {
    let mut deleted = Vec::new();
    let kinds = KINDS
        .iter()
        .filter(|info| !info.namespaced && info.kind != "Namespace");
    for info in kinds {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(info));
        let listed = match api.list(&ListParams::default().labels(OWNER_LABEL)).await {
            Ok(listed) => listed,
            // A kind this cluster does not serve has nothing left over.
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(err) => return Err(format!("failed to list {}: {err}", info.plural)),
        };
        for object in listed.items {
            let pid = object
                .metadata
                .annotations
                .as_ref()
                .and_then(|annotations| annotations.get(PID_ANNOTATION));
            let owner_runs = pid.is_some_and(|pid| process_runs(pid));
            let Some(name) = object.metadata.name else {
                continue;
            };
            if owner_runs || object.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let target = format!("{}/{name}", info.kind.to_ascii_lowercase());
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => deleted.push(target),
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(err) => return Err(format!("failed to delete {target}: {err}")),
            }
        }
    }
    Ok(deleted)
}

/// Checks whether the process with this id runs on this machine; false for anything but
/// digits.
pub(crate) fn process_runs(pid: &str) -> bool {
    !pid.is_empty()
        && pid.chars().all(|c| c.is_ascii_digit())
        && std::path::Path::new("/proc").join(pid).exists()
}

/// Records a node's originals before a `patch` step changes it, in the tracker and in the
/// node's [`ORIGINAL_ANNOTATION`].
pub async fn remember_node(
    runner: &Runner,
    tracker: &mut Tracker,
    name: &str,
) -> Result<(), String> {
    let api: Api<Node> = Api::all(runner.connection.client.clone());
    let node = api
        .get(name)
        .await
        .map_err(|err| format!("failed to get node {name}: {err}"))?;
    let Some(original) = remember(tracker, &node) else {
        return Ok(());
    };
    let patch = json!({"metadata": {"annotations": {ORIGINAL_ANNOTATION: original}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|err| format!("failed to annotate node {name}: {err}"))?;
    Ok(())
}

/// Records the node's originals in the tracker the first time the scenario changes it, and
/// returns them as the text of [`ORIGINAL_ANNOTATION`]; None when they are recorded already.
/// A node that a killed run left changed keeps the originals that run recorded.
fn remember(tracker: &mut Tracker, node: &Node) -> Option<String> {
    let name = node.metadata.name.clone().unwrap_or_default();
    if tracker.node_originals.contains_key(&name) {
        return None;
    }
    let spec = node.spec.as_ref();
    let mut original = leftover_original(node).unwrap_or_else(|| Original {
        pid: String::new(),
        labels: node.metadata.labels.clone().unwrap_or_default(),
        taints: spec
            .and_then(|spec| spec.taints.clone())
            .unwrap_or_default(),
        unschedulable: spec.and_then(|spec| spec.unschedulable),
    });
    original.pid = std::process::id().to_string();
    let text = serde_json::to_string(&original).expect("node originals serialize to JSON");
    tracker.node_originals.insert(name, original);
    Some(text)
}

/// Parses `key=value:Effect` or `key:Effect`, the syntax of `kubectl taint`.
pub fn parse_taint(text: &str) -> Result<Taint, String> {
    let (key_value, effect) = text.rsplit_once(':').ok_or_else(|| {
        format!("invalid taint `{text}`: expected key=value:Effect or key:Effect")
    })?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "invalid taint `{text}`: effect `{effect}` is not NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let (key, value) = match key_value.split_once('=') {
        Some((key, value)) => (key, Some(value.to_owned())),
        None => (key_value, None),
    };
    Ok(Taint {
        key: key.to_owned(),
        value,
        effect: effect.to_owned(),
        time_added: None,
    })
}

/// Deletes everything the scenario created and restores nodes. Returns every problem,
/// so a failed cleanup is reported rather than hidden.
pub async fn run(runner: &Runner, tracker: &Tracker) -> Vec<String> {
    let mut problems = Vec::new();
    let client = &runner.connection.client;

    let nodes: Api<Node> = Api::all(client.clone());
    for (name, original) in &tracker.node_originals {
        if let Err(problem) = restore_node(&nodes, name, original).await {
            problems.push(problem);
        }
    }

    // The namespace goes first: pods on a Node the scenario added are finished by that node's
    // simulated kubelet, and after the node is gone only the pod garbage collector removes them.
    if tracker.namespace_created
        && let Err(problem) = delete_namespace(client, &tracker.namespace).await
    {
        problems.push(problem);
    }
    for (kind, name) in tracker.cluster_objects.iter().rev() {
        let api = runner.applier.api(kind, &tracker.namespace);
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(err) => problems.push(format!(
                "failed to delete {}/{name}: {err}",
                kind.resource.kind.to_lowercase()
            )),
        }
    }

    problems
}

/// Sets a node's labels, taints and `spec.unschedulable` back to `original` and removes
/// [`ORIGINAL_ANNOTATION`]. A node that no longer exists needs nothing.
async fn restore_node(nodes: &Api<Node>, name: &str, original: &Original) -> Result<(), String> {
    let labels = &original.labels;
    let current = match nodes.get_opt(name).await {
        Ok(Some(node)) => node,
        Ok(None) => return Ok(()),
        Err(err) => return Err(format!("failed to read node {name} to restore it: {err}")),
    };
    // A merge patch removes labels set to null, so null out the labels added since.
    let mut label_patch: BTreeMap<String, Value> = current
        .metadata
        .labels
        .unwrap_or_default()
        .into_keys()
        .filter(|key| !labels.contains_key(key))
        .map(|key| (key, Value::Null))
        .collect();
    label_patch.extend(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone()))),
    );
    let patch = json!({
        "metadata": {"labels": label_patch, "annotations": {ORIGINAL_ANNOTATION: null}},
        "spec": {"taints": original.taints, "unschedulable": original.unschedulable},
    });
    nodes
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|err| format!("failed to restore labels and taints of node {name}: {err}"))?;
    Ok(())
}

/// Restores the nodes that runs killed before their cleanup left changed: each node whose
/// [`ORIGINAL_ANNOTATION`] names a process that no longer runs on this machine. Returns the
/// names of the nodes restored.
async fn restore_leftover_nodes(client: &kube::Client) -> Result<Vec<String>, String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes
        .list(&ListParams::default())
        .await
        .map_err(|err| format!("failed to list nodes: {err}"))?;
    let mut restored = Vec::new();
    for node in list.items {
        let Some(name) = node.metadata.name.clone() else {
            continue;
        };
        let Some(original) = leftover_original(&node) else {
            continue;
        };
        restore_node(&nodes, &name, &original).await?;
        restored.push(name);
    }
    Ok(restored)
}

/// Reads the originals recorded on a node by a process that no longer runs on this machine.
fn leftover_original(node: &Node) -> Option<Original> {
    let text = node
        .metadata
        .annotations
        .as_ref()?
        .get(ORIGINAL_ANNOTATION)?;
    let original = parse_original(text)?;
    let owner_runs = process_runs(&original.pid);
    (!owner_runs).then_some(original)
}

/// A node as it was before a scenario changed it: the contents of [`ORIGINAL_ANNOTATION`].
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct Original {
    /// Id of the kspec process that changed the node.
    pid: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    taints: Vec<Taint>,
    #[serde(default)]
    unschedulable: Option<bool>,
}

fn parse_original(text: &str) -> Option<Original> {
    let original: Original = serde_json::from_str(text).ok()?;
    let digits = !original.pid.is_empty() && original.pid.chars().all(|c| c.is_ascii_digit());
    digits.then_some(original)
}

/// Deletes the namespace and waits until it is gone, so the PersistentVolumes of its claims
/// are released before the run ends.
async fn delete_namespace(client: &kube::Client, namespace: &str) -> Result<(), String> {
    let api: Api<Namespace> = Api::all(client.clone());
    let uid = match api.get_opt(namespace).await {
        Ok(Some(object)) => object.metadata.uid.unwrap_or_default(),
        Ok(None) => return Ok(()),
        Err(err) => return Err(format!("failed to read namespace {namespace}: {err}")),
    };
    match api.delete(namespace, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
        Err(err) => return Err(format!("failed to delete namespace {namespace}: {err}")),
    }
    let gone = await_condition(api, namespace, conditions::is_deleted(&uid));
    match tokio::time::timeout(NAMESPACE_DELETE_TIMEOUT, gone).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(format!(
            "failed to watch namespace {namespace} while it was deleted: {err}"
        )),
        Err(_) => Err(format!(
            "namespace {namespace} still exists {}s after its deletion (hint: `kubectl get all,pvc -n {namespace}` shows what holds it)",
            NAMESPACE_DELETE_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::full(
        r#"{"pid":"4242","labels":{"disk":"ssd"},"taints":[{"key":"k","effect":"NoSchedule"}]}"#,
        true
    )]
    #[case::no_changes_recorded(r#"{"pid":"4242"}"#, true)]
    #[case::pid_not_a_number(r#"{"pid":"../self"}"#, false)]
    #[case::pid_empty(r#"{"pid":""}"#, false)]
    #[case::not_json("labels=disk", false)]
    fn original_annotation_parses(#[case] text: &str, #[case] valid: bool) {
        assert_eq!(parse_original(text).is_some(), valid);
    }

    #[test]
    fn original_annotation_keeps_values() {
        let text =
            r#"{"pid":"7","labels":{"disk":"ssd"},"taints":[{"key":"k","effect":"NoSchedule"}]}"#;
        let original = parse_original(text).unwrap();
        assert_eq!(original.labels["disk"], "ssd");
        assert_eq!(original.taints[0].key, "k");
        assert_eq!(original.taints[0].effect, "NoSchedule");
    }

    #[rstest]
    #[case::key_value("dedicated=gpu:NoSchedule", "dedicated", Some("gpu"), "NoSchedule")]
    #[case::key_only(
        "node-role.kubernetes.io/master:NoSchedule",
        "node-role.kubernetes.io/master",
        None,
        "NoSchedule"
    )]
    fn taint_parses(
        #[case] text: &str,
        #[case] key: &str,
        #[case] value: Option<&str>,
        #[case] effect: &str,
    ) {
        let taint = parse_taint(text).unwrap();
        assert_eq!(taint.key, key);
        assert_eq!(taint.value.as_deref(), value);
        assert_eq!(taint.effect, effect);
    }

    #[rstest]
    #[case::no_effect("dedicated=gpu")]
    #[case::bad_effect("dedicated:Sometimes")]
    fn taint_rejects(#[case] text: &str) {
        assert!(parse_taint(text).is_err());
    }
}
