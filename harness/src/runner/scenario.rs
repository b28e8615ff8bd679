//! One scenario from namespace to cleanup.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::node_lock::{self, NodeFileLock};
use super::steps::{StepContext, StepError};
use super::{PlannedScenario, Runner, cleanup, summary};
use crate::dsl::Capability;
use crate::recorder::watch::Recorder;
use crate::report::model::{ScenarioReport, Status, StepReport};

/// Label on every namespace kspec creates, so leftovers of a killed run can be found.
pub const SCENARIO_LABEL: &str = "kspec.dev/scenario";

/// Annotation with the id of the process that created a namespace; a namespace whose process
/// no longer runs is a leftover.
pub const PID_ANNOTATION: &str = "kspec.dev/pid";

/// Default deadline of a scenario without `timeout:`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs one scenario and always cleans up after it, also when it fails or is cancelled.
pub async fn run(
    runner: &Runner,
    planned: &PlannedScenario,
    cancel: CancellationToken,
) -> ScenarioReport {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let scenario = planned.loaded.scenario();
    let mut report = ScenarioReport::not_run(
        &scenario.name,
        planned.loaded.path().to_path_buf(),
        Status::Passed,
        String::new(),
    );
    report.failure = None;
    report.suite = planned.suite.clone();
    report.tags = scenario.tags.clone();
    report.description = scenario.description.clone();
    report.points = planned.points;

    if let Some(missing) = missing_capability(runner, &scenario.requires).await {
        report.status = Status::Ignored;
        report.failure = Some(missing);
        return report;
    }

    let namespace = namespace_name(&scenario.name);
    report.namespace = namespace.clone();
    let mut variables = planned.variables.clone();
    variables.extend(runner.connection.variables.clone());
    variables.extend(runner.options.variables.clone());
    variables.insert("namespace".to_owned(), namespace.clone());
    variables.insert("scenario".to_owned(), scenario.name.clone());

    // `${namespace}` is known only now, so the steps are rendered again with it.
    let rendered = match crate::dsl::render_scenario(&planned.loaded, &variables) {
        Ok(rendered) => rendered,
        Err(err) => {
            report.status = Status::Errored;
            report.failure = Some(crate::dsl::render_error(&err));
            return report;
        }
    };
    let scenario = &rendered;
    let mut manifests = match crate::dsl::render(&planned.loaded, &variables) {
        Ok(manifests) => manifests,
        Err(err) => {
            report.status = Status::Errored;
            report.failure = Some(crate::dsl::render_error(&err));
            return report;
        }
    };
    if runner.connection.simulated {
        let problems = super::simulate::inject(&mut manifests, &scenario.simulate);
        if !problems.is_empty() {
            report.status = Status::Errored;
            report.failure = Some(format!(
                "{}: {}",
                planned.loaded.path().display(),
                problems.join("; ")
            ));
            return report;
        }
    }

    // Held until cleanup has restored the nodes.
    let node_use = node_use(scenario, &manifests);
    if !matches!(node_use, NodeUse::None) {
        runner.progress.step(
            &scenario.name,
            0,
            scenario.steps.len(),
            "waiting for scenarios that change or judge nodes",
        );
    }
    let _nodes_guard = match node_use {
        NodeUse::Changes => {
            let memory = runner.nodes.write().await;
            NodesGuard::Exclusive(memory, lock_file(runner, true).await)
        }
        NodeUse::Judges => {
            let memory = runner.nodes.read().await;
            NodesGuard::Shared(memory, lock_file(runner, false).await)
        }
        NodeUse::None => NodesGuard::None,
    };

    let mut tracker = cleanup::Tracker::new(namespace.clone());
    if let Err(err) = create_namespace(runner, &namespace, &scenario.name).await {
        report.status = Status::Errored;
        report.failure = Some(format!("failed to create namespace {namespace}: {err}"));
        return report;
    }
    tracker.namespace_created = true;

    let outcome = match Recorder::start(&runner.connection.client, &namespace).await {
        Ok(recorder) => {
            let timeout = scenario
                .timeout
                .map_or(DEFAULT_TIMEOUT, |timeout| timeout.0);
            let mut context = StepContext {
                runner,
                namespace: &namespace,
                manifests: &manifests,
                scenario: &scenario.name,
                recorder: &recorder,
                tracker: &mut tracker,
                marks: BTreeMap::new(),
                started,
            };
            let steps = run_steps(&mut context, &scenario.steps, &mut report.steps);
            let result = tokio::select! {
                result = tokio::time::timeout(timeout, steps) => match result {
                    Ok(result) => result,
                    Err(_) => Err(StepError::Failed(format!(
                        "the scenario did not finish within its timeout of {}",
                        humantime::format_duration(timeout)
                    ))),
                },
                () = cancel.cancelled() => Err(StepError::Errored("cancelled: the run was interrupted (Ctrl-C or SIGTERM)".to_owned())),
            };
            report.pod_bars = summary::pod_bars(&recorder.snapshot(), started_at);
            result
        }
        Err(err) => Err(StepError::Errored(format!("failed to {err}"))),
    };

    match (outcome, &scenario.expect_failure) {
        (Ok(()), None) => report.status = Status::Passed,
        (Err(StepError::Failed(message)), None) => {
            report.status = Status::Failed;
            report.failure = Some(message);
        }
        (Err(StepError::Errored(message)), _) => {
            report.status = Status::Errored;
            report.failure = Some(message);
        }
        (result, Some(pattern)) => {
            let failure = match result {
                Err(StepError::Failed(message)) => Some(message),
                _ => None,
            };
            judge_expected_failure(&mut report, pattern, failure);
        }
    }

    report.cleanup_errors = cleanup::run(runner, &tracker).await;
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// How a scenario depends on the set of nodes.
enum NodeUse {
    /// It labels, taints, adds or removes nodes.
    Changes,
    /// It judges where a DaemonSet's pods run.
    Judges,
    None,
}

/// A held node lock, if any.
#[expect(
    dead_code,
    reason = "the guards are held for their Drop, which releases the lock"
)]
enum NodesGuard<'a> {
    Exclusive(tokio::sync::RwLockWriteGuard<'a, ()>, Option<NodeFileLock>),
    Shared(tokio::sync::RwLockReadGuard<'a, ()>, Option<NodeFileLock>),
    None,
}

/// Takes the node lock shared with other processes. Without it (an unwritable state
/// directory) the scenario still runs, ordered only against this process's scenarios.
async fn lock_file(runner: &Runner, exclusive: bool) -> Option<NodeFileLock> {
    match node_lock::acquire(&runner.nodes_file, exclusive).await {
        Ok(lock) => Some(lock),
        Err(err) => {
            tracing::warn!(
                path = %runner.nodes_file.display(),
                error = %err,
                "taking the node lock file failed; other kspec processes may change nodes meanwhile"
            );
            None
        }
    }
}

fn node_use(scenario: &crate::dsl::Scenario, manifests: &[serde_json::Value]) -> NodeUse {
    use crate::dsl::{self, Step};
    let adds_nodes = manifests
        .iter()
        .any(|manifest| manifest.get("kind").and_then(serde_json::Value::as_str) == Some("Node"));
    let is_node = |kind: &str| dsl::KindInfo::find(kind).is_some_and(|info| info.kind == "Node");
    let changes_nodes = |step: &Step| match step {
        Step::Node(_) => true,
        Step::Patch(patch) => is_node(&patch.target.kind),
        Step::Delete(delete) => is_node(&delete.target.kind),
        Step::DeleteMatching(delete) => is_node(&delete.kind),
        _ => false,
    };
    if adds_nodes || scenario.steps.iter().any(changes_nodes) {
        NodeUse::Changes
    } else if scenario
        .steps
        .iter()
        .any(|step| matches!(step, Step::ExpectPlacement(_)))
    {
        NodeUse::Judges
    } else {
        NodeUse::None
    }
}

/// Applies `expectFailure`: the scenario passes only when it failed with a matching message.
fn judge_expected_failure(report: &mut ScenarioReport, pattern: &str, failure: Option<String>) {
    let regex = match regex::Regex::new(pattern) {
        Ok(regex) => regex,
        Err(err) => {
            report.status = Status::Errored;
            report.failure = Some(format!("invalid expectFailure pattern `{pattern}`: {err}"));
            return;
        }
    };
    match failure {
        Some(message) if regex.is_match(&message) => {
            report.status = Status::Passed;
            report.expected_failure = Some(message);
        }
        Some(message) => {
            report.status = Status::Failed;
            report.failure = Some(format!(
                "expected a failure matching `{pattern}`, but the scenario failed with another message: {message}"
            ));
        }
        None => {
            report.status = Status::Failed;
            report.failure = Some(format!(
                "expected a failure matching `{pattern}`, but every step passed"
            ));
        }
    }
}

/// Runs steps in order until one fails, recording a report for each step that ran.
async fn run_steps(
    context: &mut StepContext<'_>,
    steps: &[crate::dsl::Step],
    reports: &mut Vec<StepReport>,
) -> Result<(), StepError> {
    for (index, step) in steps.iter().enumerate() {
        let step_started = Instant::now();
        let label = super::labels::label(step);
        context
            .runner
            .progress
            .step(context.scenario, index + 1, steps.len(), &label);
        let result = super::steps::execute(context, step).await;
        let (status, facts, failure) = match &result {
            Ok(outcome) => (Status::Passed, outcome.facts.clone(), None),
            Err(StepError::Failed(message)) => {
                (Status::Failed, BTreeMap::new(), Some(message.clone()))
            }
            Err(StepError::Errored(message)) => {
                (Status::Errored, BTreeMap::new(), Some(message.clone()))
            }
        };
        reports.push(StepReport {
            label: label.clone(),
            status,
            seconds: step_started.elapsed().as_secs_f64(),
            facts,
            failure,
        });
        if let Err(err) = result {
            return Err(err.with_context(&format!("step {} ({label})", index + 1)));
        }
    }
    Ok(())
}

/// Why the cluster cannot run a scenario with these requirements, if it cannot.
async fn missing_capability(runner: &Runner, requires: &[Capability]) -> Option<String> {
    for capability in requires {
        let present = match capability {
            Capability::SimulatedNodes => runner.connection.simulated,
            Capability::Storage => {
                runner.connection.variables.contains_key("storageClass")
                    || runner.options.variables.contains_key("storageClass")
            }
            Capability::TaintedControlPlane => runner.has_tainted_control_plane().await,
        };
        if !present {
            return Some(format!(
                "the cluster lacks the capability `{}` that the scenario requires",
                serde_json::to_value(capability)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
    }
    None
}

/// A namespace name from the scenario name: lowercase, dashes, at most 63 characters with a
/// random five-character suffix, as Kubernetes generates for `generateName`.
pub fn namespace_name(scenario: &str) -> String {
    let mut slug = crate::report::slug(scenario);
    slug.truncate(45);
    let slug = slug.trim_end_matches('-');
    format!("kspec-{slug}-{}", random_suffix())
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

async fn create_namespace(
    runner: &Runner,
    namespace: &str,
    scenario: &str,
) -> Result<(), kube::Error> {
    let api: Api<Namespace> = Api::all(runner.connection.client.clone());
    let label: String = namespace_name_label(scenario);
    let object: Namespace = serde_json::from_value(json!({
        "metadata": {
            "name": namespace,
            "labels": {SCENARIO_LABEL: label},
            "annotations": {PID_ANNOTATION: std::process::id().to_string()},
        }
    }))
    .expect("a namespace built from literals deserializes");
    api.create(&PostParams::default(), &object).await?;
    Ok(())
}

/// The scenario name as a label value: at most 63 characters of `[a-z0-9-]`.
fn namespace_name_label(scenario: &str) -> String {
    let value: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    value
        .trim_matches('-')
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// Deletes namespaces left behind by killed runs: those with the scenario label whose creating
/// process no longer runs on this machine. Only for clusters this machine owns (the local
/// cluster), where every such process is a local one.
pub async fn delete_leftover_namespaces(client: &kube::Client) -> Result<usize, kube::Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    let leftovers = api
        .list(&kube::api::ListParams::default().labels(SCENARIO_LABEL))
        .await?;
    let mut deleted = 0;
    for namespace in leftovers.items {
        let owner_runs = namespace
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(PID_ANNOTATION))
            .is_some_and(|pid| cleanup::process_runs(pid));
        let Some(name) = namespace.metadata.name else {
            continue;
        };
        if !owner_runs && namespace.metadata.deletion_timestamp.is_none() {
            api.delete(&name, &DeleteParams::background()).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_name_is_valid() {
        let name = namespace_name("Job completions: run one at a time (seed)");
        assert!(
            name.starts_with("kspec-job-completions-run-one-at-a-time-seed-"),
            "{name}"
        );
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn namespace_name_truncates_long_names() {
        let name = namespace_name(&"x".repeat(200));
        assert!(name.len() <= 63, "{name}");
    }

    #[test]
    fn label_value_is_valid() {
        let label = namespace_name_label("DaemonSet: on every node!");
        assert_eq!(label, "daemonset--on-every-node");
    }
}
