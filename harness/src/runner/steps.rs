//! Executing one scenario step against the cluster and the recording.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::api::{DeleteParams, Patch, PatchParams};
use regex::Regex;
use serde_json::{Value, json};

use super::apply::{ApplyError, ResolvedKind};
use super::waits::{self, Hold, WaitResult};
use super::{Runner, cleanup, diagnostics};
use crate::assert::{self, JudgeContext, Outcome};
use crate::dsl::{self, Check, Selection, Step, Target};
use crate::recorder::timeline::Cursor;
use crate::recorder::watch::Recorder;

/// How long a check of the present state waits for the watches to catch up with the cluster.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a step did not pass.
#[derive(Debug)]
pub enum StepError {
    /// The behaviour under test differs from the expectation.
    Failed(String),
    /// The step could not be carried out (invalid input, an API error unrelated to the check).
    Errored(String),
}

impl StepError {
    /// Prefixes the message with where it happened.
    pub fn with_context(self, context: &str) -> Self {
        match self {
            StepError::Failed(message) => StepError::Failed(format!("{context}: {message}")),
            StepError::Errored(message) => StepError::Errored(format!("{context}: {message}")),
        }
    }
}

/// Everything a step needs.
pub struct StepContext<'a> {
    pub runner: &'a Runner,
    pub scenario: &'a str,
    pub namespace: &'a str,
    /// The scenario's manifests with variables filled and simulation annotations added.
    pub manifests: &'a [Value],
    pub recorder: &'a Recorder,
    pub tracker: &'a mut cleanup::Tracker,
    /// Points of the recording named by `mark` steps.
    pub marks: BTreeMap<String, Cursor>,
    pub started: Instant,
}

/// Runs one step; on success returns its observed facts.
pub async fn execute(context: &mut StepContext<'_>, step: &Step) -> Result<Outcome, StepError> {
    match step {
        Step::Apply(selection) => {
            for manifest in select(context.manifests, selection)? {
                apply_one(context, manifest).await.map_err(|err| {
                    StepError::Failed(format!(
                        "{} was rejected: {err}",
                        describe_manifest(manifest)
                    ))
                })?;
            }
            Ok(Outcome::default())
        }
        Step::Delete(delete) => {
            let kind = resolve_target(context.runner, &delete.target).await?;
            guard_cluster_object(context, &kind, &delete.target, "delete").await?;
            let params = match delete.propagation {
                Some(dsl::Propagation::Foreground) => DeleteParams::foreground(),
                Some(dsl::Propagation::Orphan) => DeleteParams::orphan(),
                Some(dsl::Propagation::Background) | None => DeleteParams::background(),
            };
            context
                .runner
                .applier
                .api(&kind, context.namespace)
                .delete(&delete.target.name, &params)
                .await
                .map_err(|err| api_error("delete", &delete.target, err))?;
            if let Some(within) = delete.wait {
                let check = Check {
                    target: Some(delete.target.clone()),
                    gone: Some(true),
                    ..Check::default()
                };
                wait(context, &check, within.0).await?;
            }
            Ok(Outcome::default())
        }
        Step::DeleteMatching(step) => delete_matching(context, step).await,
        Step::WaitClock(clock) => {
            if clock.second > 59 {
                return Err(StepError::Errored(format!(
                    "invalid wait-clock second {}: it must be 0 to 59",
                    clock.second
                )));
            }
            tokio::time::sleep(until_second(chrono::Utc::now(), clock.second)).await;
            Ok(Outcome::default())
        }
        Step::Scale(scale) => {
            let kind = resolve_target(context.runner, &scale.target).await?;
            let patch = json!({"spec": {"replicas": scale.replicas}});
            context
                .runner
                .applier
                .api(&kind, context.namespace)
                .patch_scale(
                    &scale.target.name,
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map_err(|err| api_error("scale", &scale.target, err))?;
            Ok(Outcome::default())
        }
        Step::Patch(patch) => {
            let kind = resolve_target(context.runner, &patch.target).await?;
            guard_cluster_object(context, &kind, &patch.target, "patch").await?;
            let api = context.runner.applier.api(&kind, context.namespace);
            let params = PatchParams::default().validation_strict();
            let result = match (&patch.merge, &patch.json) {
                (Some(merge), None) => {
                    api.patch(&patch.target.name, &params, &Patch::Merge(merge))
                        .await
                }
                (None, Some(operations)) => {
                    let operations: json_patch::Patch = serde_json::from_value(Value::Array(
                        operations.clone(),
                    ))
                    .map_err(|err| {
                        StepError::Errored(format!(
                            "invalid JSON patch for {}: {err}",
                            patch.target
                        ))
                    })?;
                    api.patch(&patch.target.name, &params, &Patch::<()>::Json(operations))
                        .await
                }
                _ => {
                    return Err(StepError::Errored(format!(
                        "patch of {} needs exactly one of `merge` and `json`",
                        patch.target
                    )));
                }
            };
            result.map_err(|err| api_error("patch", &patch.target, err))?;
            Ok(Outcome::default())
        }
        Step::Node(node) => {
            cleanup::change_nodes(context.runner, context.tracker, node)
                .await
                .map_err(StepError::Errored)?;
            Ok(Outcome::default())
        }
        Step::Wait(step) => {
            wait(context, &step.check(), step.within.0).await?;
            Ok(wait_facts(context, &step.check()))
        }
        Step::Expect(check) => {
            context.recorder.catch_up(CATCH_UP_TIMEOUT).await;
            let verdict = assert::check_latest(check, &context.recorder.timeline());
            verdict.map_err(StepError::Failed)?;
            Ok(wait_facts(context, check))
        }
        Step::Consistently(step) => {
            waits::hold(
                context.recorder,
                &step.check(),
                step.during.0,
                Hold::Consistently,
            )
            .await
            .map_err(StepError::Failed)?;
            Ok(Outcome::default())
        }
        Step::Never(step) => {
            waits::hold(context.recorder, &step.check(), step.during.0, Hold::Never)
                .await
                .map_err(StepError::Failed)?;
            Ok(Outcome::default())
        }
        Step::Sleep(duration) => {
            tokio::time::sleep(duration.0).await;
            Ok(Outcome::default())
        }
        Step::Mark(name) => {
            let cursor = context.recorder.timeline().cursor();
            context.marks.insert(name.clone(), cursor);
            Ok(Outcome::default())
        }
        Step::ExpectRejected(reject) => expect_rejected(context, reject).await,
        Step::ExpectPods(expectation) => {
            let (since, within) = (expectation.since.as_deref(), expectation.within);
            judge(context, since, within, |ctx| {
                assert::judge_pods(expectation, ctx)
            })
            .await
        }
        Step::ExpectOrdinals(expectation) => {
            let (since, within) = (expectation.since.as_deref(), expectation.within);
            judge(context, since, within, |ctx| {
                assert::judge_ordinals(expectation, ctx)
            })
            .await
        }
        Step::ExpectPlacement(expectation) => {
            judge(context, None, expectation.within, |ctx| {
                assert::judge_placement(expectation, ctx)
            })
            .await
        }
        Step::ExpectSurvivors(expectation) => {
            judge(context, None, expectation.within, |ctx| {
                assert::judge_survivors(expectation, ctx)
            })
            .await
        }
        Step::ExpectSchedule(expectation) => {
            judge(context, None, expectation.within, |ctx| {
                assert::judge_schedule(expectation, ctx)
            })
            .await
        }
        Step::ExpectHistory(expectation) => {
            judge(context, None, expectation.within, |ctx| {
                assert::judge_history(expectation, ctx)
            })
            .await
        }
        Step::ExpectDns(expectation) => {
            judge(context, None, expectation.within, |ctx| {
                assert::judge_dns(expectation, ctx)
            })
            .await
        }
    }
}

/// Deletes the matching objects of a kind, the first `limit` by name.
async fn delete_matching(
    context: &StepContext<'_>,
    step: &dsl::DeleteMatchingStep,
) -> Result<Outcome, StepError> {
    let info = dsl::KindInfo::find(&step.kind)
        .ok_or_else(|| StepError::Errored(format!("unknown kind `{}`", step.kind)))?;
    let kind = context
        .runner
        .applier
        .resolve_gvk(info.api_version, info.kind)
        .await
        .map_err(|err| StepError::Errored(format!("failed to resolve {}: {err}", info.kind)))?;
    let api = context.runner.applier.api(&kind, context.namespace);
    let listed = api
        .list(&kube::api::ListParams::default().labels(&step.selector))
        .await
        .map_err(|err| {
            StepError::Errored(format!(
                "failed to list {} -l {}: {err}",
                info.plural, step.selector
            ))
        })?;
    let mut names: Vec<String> = listed
        .items
        .into_iter()
        .filter(|object| object.metadata.deletion_timestamp.is_none())
        .filter_map(|object| object.metadata.name)
        .collect();
    names.sort();
    if !kind.namespaced
        && let Some(name) = names.iter().find(|name| !context.tracker.owns(&kind, name))
    {
        return Err(not_restorable(&Target::new(info.kind, name), "delete"));
    }
    let min = step.min.unwrap_or(1) as usize;
    if names.len() < min {
        return Err(StepError::Failed(format!(
            "expected at least {min} {} matching `{}` to delete; found {}",
            info.plural,
            step.selector,
            names.len()
        )));
    }
    names.truncate(step.limit.map_or(usize::MAX, |limit| limit as usize));
    for name in &names {
        api.delete(name, &DeleteParams::background())
            .await
            .map_err(|err| api_error("delete", &Target::new(info.kind, name), err))?;
    }
    let mut outcome = Outcome::default();
    outcome
        .facts
        .insert("deleted".to_owned(), json!(names.len()));
    Ok(outcome)
}

/// Time from `now` until the wall clock next shows `second` (0 to 59) of a minute.
fn until_second(now: chrono::DateTime<chrono::Utc>, second: u32) -> Duration {
    use chrono::Timelike;
    let into_minute = Duration::from_secs(u64::from(now.second()))
        + Duration::from_nanos(u64::from(now.nanosecond() % 1_000_000_000));
    let target = Duration::from_secs(u64::from(second));
    if into_minute < target {
        target - into_minute
    } else {
        Duration::from_secs(60) + target - into_minute
    }
}

/// Judges a timeline expectation from the mark `since` (or the start). With `within`, judges
/// again after every recorded change until it holds or the time is up.
async fn judge(
    context: &StepContext<'_>,
    since: Option<&str>,
    within: Option<dsl::Duration>,
    judge: impl Fn(&JudgeContext<'_>) -> Outcome,
) -> Result<Outcome, StepError> {
    let from = match since {
        Some(mark) => Some(*context.marks.get(mark).ok_or_else(|| {
            StepError::Errored(format!(
                "no `mark: {mark}` step ran before this step (marks so far: {})",
                names_or_none(context.marks.keys())
            ))
        })?),
        None => None,
    };
    context.recorder.catch_up(CATCH_UP_TIMEOUT).await;
    let deadline = within.map(|within| tokio::time::Instant::now() + within.0);
    let mut changes = context.recorder.subscribe();
    loop {
        changes.borrow_and_update();
        let timeline = context.recorder.snapshot();
        let outcome = judge(&JudgeContext {
            timeline: &timeline,
            from: from.map_or(0, |cursor| timeline.position_of(cursor)),
        });
        let Some(failure) = &outcome.failure else {
            return Ok(outcome);
        };
        let Some(deadline) = deadline else {
            return Err(StepError::Failed(failure.clone()));
        };
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Err(StepError::Failed(failure.clone()));
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let within = within.map(|within| within.to_string()).unwrap_or_default();
                return Err(StepError::Failed(format!("still failing after {within}: {failure}")));
            }
        }
    }
}

async fn wait(context: &StepContext<'_>, check: &Check, within: Duration) -> Result<(), StepError> {
    match waits::wait_until(context.recorder, check, within).await {
        WaitResult::Held => Ok(()),
        WaitResult::TimedOut(reason) => {
            let timeline = context.recorder.snapshot();
            Err(StepError::Failed(format!(
                "timed out after {}: {reason}\n{}",
                humantime::format_duration(within),
                diagnostics::describe(&timeline, check)
            )))
        }
    }
}

/// Stable facts of a check that held: the matched condition of the object, if any.
fn wait_facts(context: &StepContext<'_>, check: &Check) -> Outcome {
    let mut outcome = Outcome::default();
    let (Some(target), Some(condition)) = (&check.target, &check.condition) else {
        return outcome;
    };
    let type_ = match condition {
        dsl::ConditionMatch::Type(type_) => type_,
        dsl::ConditionMatch::Full(spec) => &spec.type_,
    };
    let timeline = context.recorder.timeline();
    let Some(object) = timeline.current_object(&target.kind, &target.name) else {
        return outcome;
    };
    let matched = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|conditions| conditions.iter().find(|c| c["type"] == json!(type_)));
    if let Some(matched) = matched {
        let mut fact = serde_json::Map::new();
        for key in ["type", "status", "reason"] {
            if let Some(value) = matched.get(key) {
                fact.insert(key.to_owned(), value.clone());
            }
        }
        outcome
            .facts
            .insert("condition".to_owned(), Value::Object(fact));
    }
    outcome
}

async fn expect_rejected(
    context: &mut StepContext<'_>,
    reject: &dsl::RejectStep,
) -> Result<Outcome, StepError> {
    let pattern = Regex::new(&reject.message).map_err(|err| {
        StepError::Errored(format!(
            "invalid message pattern `{}`: {err}",
            reject.message
        ))
    })?;
    let mut outcome = Outcome::default();
    for manifest in select(context.manifests, &reject.apply)? {
        let described = describe_manifest(manifest);
        match apply_one(context, manifest).await {
            Ok(()) => {
                return Err(StepError::Failed(format!(
                    "expected the API server to reject {described}, but it accepted it"
                )));
            }
            Err(err) => {
                let Some(message) = err.rejection_message() else {
                    return Err(StepError::Errored(format!(
                        "failed to apply {described}: {err}"
                    )));
                };
                if !pattern.is_match(&message) {
                    return Err(StepError::Failed(format!(
                        "{described} was rejected, but the message does not match `{}`: {message}",
                        reject.message
                    )));
                }
                outcome.facts.insert(
                    described,
                    Value::String(redact_namespace(&message, context.namespace)),
                );
            }
        }
    }
    Ok(outcome)
}

/// Applies one manifest, remembering cluster-scoped objects it created for cleanup.
async fn apply_one(context: &mut StepContext<'_>, manifest: &Value) -> Result<(), ApplyError> {
    let applier = &context.runner.applier;
    let kind = applier.resolve(manifest).await?;
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let owned = !kind.namespaced && context.tracker.owns(&kind, name);
    let is_new =
        !kind.namespaced && !owned && !applier.exists(&kind, context.namespace, name).await?;
    // Applied again, an object keeps its marks: server-side apply would drop fields the
    // manifest no longer sets.
    if is_new || owned {
        let marked = cleanup::mark_owned(manifest, context.namespace);
        applier.apply(&marked, context.namespace, false).await?;
    } else {
        applier.apply(manifest, context.namespace, false).await?;
    }
    if is_new {
        context
            .tracker
            .cluster_objects
            .push((kind, name.to_owned()));
    }
    Ok(())
}

/// The manifests a selection names, in the order it names them.
fn select<'m>(manifests: &'m [Value], selection: &Selection) -> Result<Vec<&'m Value>, StepError> {
    match selection {
        Selection::All(_) => Ok(manifests.iter().collect()),
        Selection::Targets(targets) => targets
            .iter()
            .map(|target| {
                manifests
                    .iter()
                    .find(|manifest| manifest_is(manifest, target))
                    .ok_or_else(|| {
                        let names: Vec<String> = manifests.iter().map(describe_manifest).collect();
                        StepError::Errored(format!(
                            "{target} names no manifest of the scenario (manifests: {})",
                            names_or_none(names.iter())
                        ))
                    })
            })
            .collect(),
    }
}

fn manifest_is(manifest: &Value, target: &Target) -> bool {
    let kind = manifest
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    kind.eq_ignore_ascii_case(&target.kind) && name == target.name
}

/// A manifest as `kind/name`.
pub fn describe_manifest(manifest: &Value) -> String {
    let kind = manifest
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("(no kind)");
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("(no name)");
    format!("{}/{name}", kind.to_lowercase())
}

/// Lets a step change a cluster-scoped object only when cleanup can undo the change: the
/// scenario created the object, or it patches a node, whose labels, taints and
/// `spec.unschedulable` cleanup restores. Objects in the scenario's namespace go with it.
async fn guard_cluster_object(
    context: &mut StepContext<'_>,
    kind: &ResolvedKind,
    target: &Target,
    verb: &str,
) -> Result<(), StepError> {
    if kind.namespaced || context.tracker.owns(kind, &target.name) {
        return Ok(());
    }
    if verb == "patch" && kind.resource.kind == "Node" {
        return cleanup::remember_node(context.runner, context.tracker, &target.name)
            .await
            .map_err(StepError::Errored);
    }
    Err(not_restorable(target, verb))
}

fn not_restorable(target: &Target, verb: &str) -> StepError {
    StepError::Errored(format!(
        "cannot {verb} {target}: it existed before the scenario, and cleanup could not put it \
         back; {verb} only cluster-scoped objects the scenario applies (a node step changes \
         labels and taints of existing nodes)"
    ))
}

async fn resolve_target(runner: &Runner, target: &Target) -> Result<ResolvedKind, StepError> {
    let info = target
        .info()
        .ok_or_else(|| StepError::Errored(format!("unknown kind in target {target}")))?;
    runner
        .applier
        .resolve_gvk(info.api_version, info.kind)
        .await
        .map_err(|err| StepError::Errored(format!("failed to resolve {target}: {err}")))
}

fn api_error(verb: &str, target: &Target, err: kube::Error) -> StepError {
    match err {
        kube::Error::Api(status) if status.code == 404 => {
            StepError::Failed(format!("cannot {verb} {target}: it does not exist"))
        }
        kube::Error::Api(status) => StepError::Failed(format!(
            "the API server rejected the {verb} of {target}: {}",
            status.message
        )),
        other => StepError::Errored(format!("failed to {verb} {target}: {other}")),
    }
}

fn names_or_none<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Replaces the generated namespace name, which differs on every run.
pub fn redact_namespace(text: &str, namespace: &str) -> String {
    text.replace(namespace, "[namespace]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rstest::rstest;

    #[rstest]
    #[case::later_this_minute(10, 30, 20)]
    #[case::next_minute(40, 30, 50)]
    #[case::exactly_now_waits_a_minute(30, 30, 60)]
    fn until_second_waits_for_the_clock(
        #[case] now: u32,
        #[case] second: u32,
        #[case] expected: u64,
    ) {
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 12, 4, 10, 0, now)
            .unwrap();
        assert_eq!(until_second(now, second), Duration::from_secs(expected));
    }
}
