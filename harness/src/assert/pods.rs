//! `expect-pods`: how many pods a workload created, how they ended, and how they overlapped.
//!
//! Overlap is judged by timeline position (resourceVersion order), never by timestamps, which
//! have one-second resolution. A pod is active the way the Job controller counts it: it
//! exists, its phase is neither Succeeded nor Failed, and it has no deletionTimestamp.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::lifecycle::{Interval, Peak, describe_pod_state, intervals_where, peak, state_at};
use super::objects::{self, owned_by, phase, pod_is_active, pod_is_running};
use super::phrases::{NAME_LIMIT, expected_count, join_names};
use super::selector::LabelSelector;
use super::{JudgeContext, Outcome, PodOrder, PodsExpectation, count_fact};
use crate::dsl::values::CountRange;
use crate::recorder::timeline::{ObjectHistory, str_at};

/// Judges `expect-pods` over the recording from `ctx.from` on.
pub fn judge_pods(exp: &PodsExpectation, ctx: &JudgeContext<'_>) -> Outcome {
    let selector = match exp
        .selector
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
    {
        Ok(selector) => selector,
        Err(error) => return Outcome::unjudged(error.to_string()),
    };
    let pods = select_pods(exp, selector.as_ref(), ctx);
    let scope = describe_scope(exp, selector.as_ref());

    let mut facts = BTreeMap::new();
    let mut failures = Vec::new();
    let created = u32::try_from(pods.len()).unwrap_or(u32::MAX);

    if let Some(expected) = &exp.created {
        facts.insert("created".to_owned(), count_fact(expected, created));
        if !expected.contains(created) {
            failures.push(format!(
                "expected {} created{scope}; observed {created}{}{}",
                expected_count(expected, "pod", "pods"),
                listed(&names(&pods)),
                restarts_in_place(&pods)
            ));
        }
    }
    for (field, expected, wanted) in [
        ("succeeded", &exp.succeeded, "Succeeded"),
        ("failed", &exp.failed, "Failed"),
    ] {
        if let Some(expected) = expected {
            let (count, failure) = judge_terminal_phase(&pods, expected, wanted, &scope);
            facts.insert(field.to_owned(), count_fact(expected, count));
            failures.extend(failure);
        }
    }

    let active: Vec<(usize, Interval)> = tagged_intervals(&pods, pod_is_active);
    let active_peak = peak(&active);
    if let Some(expected) = &exp.max_active {
        facts.insert(
            "maxActive".to_owned(),
            count_fact(expected, active_peak.max),
        );
        if !expected.contains(active_peak.max) {
            let observed = describe_peak(&pods, &active_peak, Concurrency::Active);
            failures.push(format!(
                "expected {} active at once{scope}; {observed}",
                expected_count(expected, "pod", "pods")
            ));
        }
    }
    if let Some(expected) = &exp.max_running {
        let running_peak = peak(&tagged_intervals(&pods, pod_is_running));
        facts.insert(
            "maxRunning".to_owned(),
            count_fact(expected, running_peak.max),
        );
        if !expected.contains(running_peak.max) {
            let observed = describe_peak(&pods, &running_peak, Concurrency::Running);
            failures.push(format!(
                "expected {} Running at once{scope}; {observed}",
                expected_count(expected, "pod", "pods")
            ));
        }
    }
    if let Some(order) = exp.order {
        let observed = if active_peak.max >= 2 {
            PodOrder::Overlapping
        } else {
            PodOrder::Sequential
        };
        facts.insert("order".to_owned(), json!(observed));
        if order != observed {
            failures.push(describe_order_failure(order, &pods, &active, &scope));
        }
    }

    Outcome::from_findings(facts, failures)
}

/// One pod incarnation: the pod's history in the timeline.
type Pod<'a> = ObjectHistory<'a>;

/// Selects the pod incarnations created from `ctx.from` on that match the selector and owner in
/// any recorded state, in creation order.
fn select_pods<'a>(
    exp: &PodsExpectation,
    selector: Option<&LabelSelector>,
    ctx: &JudgeContext<'a>,
) -> Vec<Pod<'a>> {
    ctx.timeline
        .histories("Pod")
        .into_iter()
        .filter(|pod| pod.first_position() >= ctx.from)
        .filter(|pod| {
            let states = || pod.changes.iter().map(|(_, change)| &*change.object);
            let labels_match = selector.is_none_or(|selector| {
                states().any(|state| selector.matches(objects::labels(state)))
            });
            let owner_matches = exp
                .owner
                .as_ref()
                .is_none_or(|owner| states().any(|state| owned_by(state, owner, ctx.timeline)));
            labels_match && owner_matches
        })
        .collect()
}

/// Describes the pod filter as a phrase after a noun: ` (owned by job/pi, matching app=pi)`.
fn describe_scope(exp: &PodsExpectation, selector: Option<&LabelSelector>) -> String {
    let mut parts = Vec::new();
    if let Some(owner) = &exp.owner {
        parts.push(format!("owned by {owner}"));
    }
    if let Some(selector) = selector {
        parts.push(format!("matching `{selector}`"));
    }
    if let Some(mark) = &exp.since {
        parts.push(format!("created since `{mark}`"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

fn names<'a>(pods: &[Pod<'a>]) -> Vec<&'a str> {
    pods.iter().map(|pod| pod.name).collect()
}

/// Lists names as `: a, b and c` after a count, or nothing for an empty list.
fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", join_names(names, NAME_LIMIT))
    }
}

/// Explains a pod count lower than expected by restartPolicy OnFailure, because under it the
/// kubelet restarts a failed container inside its pod and the Job creates no new pod.
/// Returns an empty string when no pod has that policy.
fn restarts_in_place(pods: &[Pod<'_>]) -> String {
    let on_failure: Vec<&Pod<'_>> = pods
        .iter()
        .filter(|pod| str_at(pod.last(), &["spec", "restartPolicy"]) == Some("OnFailure"))
        .collect();
    if on_failure.is_empty() {
        return String::new();
    }
    let restarts: u64 = on_failure
        .iter()
        .flat_map(|pod| {
            pod.last()
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|status| status.get("restartCount").and_then(Value::as_u64))
        .sum();
    let counted = if restarts > 0 {
        format!(" ({restarts} container restarts recorded)")
    } else {
        String::new()
    };
    format!(
        "; {} restartPolicy OnFailure, so a failed container restarts inside its pod{counted} \
         instead of the Job creating a new pod",
        if on_failure.len() == 1 {
            format!("{} has", on_failure[0].name)
        } else {
            "the pods have".to_owned()
        }
    )
}

fn reached_phase(pod: &Pod<'_>, wanted: &str) -> bool {
    pod.changes
        .iter()
        .any(|(_, change)| phase(&change.object) == Some(wanted))
}

/// Counts pods that reached `wanted` (Succeeded or Failed) and explains a wrong count by how
/// the other pods ended.
fn judge_terminal_phase(
    pods: &[Pod<'_>],
    expected: &CountRange,
    wanted: &str,
    scope: &str,
) -> (u32, Option<String>) {
    let (reached, others): (Vec<&Pod<'_>>, Vec<&Pod<'_>>) =
        pods.iter().partition(|pod| reached_phase(pod, wanted));
    let count = u32::try_from(reached.len()).unwrap_or(u32::MAX);
    if expected.contains(count) {
        return (count, None);
    }

    let reached_names: Vec<&str> = reached.iter().map(|pod| pod.name).collect();
    let mut message = format!(
        "expected {} to reach phase {wanted}{scope}; observed {count}{}",
        expected_count(expected, "pod", "pods"),
        listed(&reached_names)
    );
    let endings: Vec<String> = others.iter().map(|pod| describe_ending(pod)).collect();
    if !endings.is_empty() {
        message.push_str(&format!("; {}", join_names(&endings, NAME_LIMIT)));
    }
    (count, Some(message))
}

/// Describes how a pod ended: `pi-c reached phase Failed`, `pi-d was deleted in phase Running`.
fn describe_ending(pod: &Pod<'_>) -> String {
    let last = pod.last();
    let last_phase = phase(last).unwrap_or("unknown");
    if let Some(terminal) = ["Succeeded", "Failed"]
        .into_iter()
        .find(|terminal| reached_phase(pod, terminal))
    {
        return format!("{} reached phase {terminal}", pod.name);
    }
    if pod.deleted_at().is_some() {
        format!("{} was deleted in phase {last_phase}", pod.name)
    } else if objects::is_terminating(last) {
        format!("{} is being deleted in phase {last_phase}", pod.name)
    } else {
        format!("{} is still in phase {last_phase}", pod.name)
    }
}

fn tagged_intervals(pods: &[Pod<'_>], predicate: fn(&Value) -> bool) -> Vec<(usize, Interval)> {
    pods.iter()
        .enumerate()
        .flat_map(|(index, pod)| {
            intervals_where(pod, predicate)
                .into_iter()
                .map(move |interval| (index, interval))
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Concurrency {
    Active,
    Running,
}

/// Describes the observed maximum with the pods behind it.
fn describe_peak(pods: &[Pod<'_>], found: &Peak, concurrency: Concurrency) -> String {
    let (adjective, together) = match concurrency {
        Concurrency::Active => ("active", "overlapping"),
        Concurrency::Running => ("Running", "Running together"),
    };
    match found.max {
        0 if pods.is_empty() => "observed a maximum of 0 (no pod matched)".to_owned(),
        0 => format!(
            "observed a maximum of 0 (no pod was {adjective}: {})",
            join_names(&names(pods), NAME_LIMIT)
        ),
        1 => format!(
            "observed a maximum of 1 ({}, never {together})",
            join_in_order(&names(pods))
        ),
        max => {
            let members: Vec<&str> = found
                .members
                .iter()
                .map(|&index| pods[index].name)
                .collect();
            let trigger = found.trigger.map_or("", |index| pods[index].name);
            let moment = match concurrency {
                Concurrency::Active => format!("when {trigger} was created"),
                Concurrency::Running => format!("when {trigger} became Running"),
            };
            format!(
                "observed a maximum of {max}: {} were {adjective} together {moment}",
                join_names(&members, NAME_LIMIT)
            )
        }
    }
}

/// Joins names as `a, then b, then c`, shortened after the name limit.
fn join_in_order(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(NAME_LIMIT).copied().collect();
    let mut text = shown.join(", then ");
    let hidden = names.len().saturating_sub(NAME_LIMIT);
    if hidden > 0 {
        text.push_str(&format!(", then {hidden} more"));
    }
    text
}

fn describe_order_failure(
    order: PodOrder,
    pods: &[Pod<'_>],
    active: &[(usize, Interval)],
    scope: &str,
) -> String {
    match order {
        PodOrder::Overlapping => format!(
            "expected at least two pods{scope} active at the same time (order: overlapping); \
             each was created after the one before had finished: {}",
            join_in_order(&names(pods))
        ),
        PodOrder::Sequential => {
            let violations = sequential_violations(pods, active);
            let mut message = format!(
                "expected pods{scope} to run one at a time (order: sequential); {}",
                violations.first().cloned().unwrap_or_default()
            );
            let more = violations.len().saturating_sub(1);
            if more > 0 {
                let noun = if more == 1 { "pod was" } else { "pods were" };
                message.push_str(&format!(
                    "; {more} more {noun} created while another was active"
                ));
            }
            message
        }
    }
}

/// Describes each pod created while an earlier pod was active, and which pods were active.
fn sequential_violations(pods: &[Pod<'_>], active: &[(usize, Interval)]) -> Vec<String> {
    let mut violations = Vec::new();
    for (index, pod) in pods.iter().enumerate() {
        let created = pod.first_position();
        let blockers: Vec<String> = active
            .iter()
            .filter(|(other, interval)| *other != index && interval.start < created)
            .filter(|(_, interval)| interval.contains(created))
            .map(|(other, _)| {
                let state = describe_pod_state(state_at(&pods[*other], created));
                format!("{} ({state})", pods[*other].name)
            })
            .collect();
        if !blockers.is_empty() {
            let verb = if blockers.len() == 1 { "was" } else { "were" };
            violations.push(format!(
                "{} was created while {} {verb} still active",
                pod.name,
                join_names(&blockers, NAME_LIMIT)
            ));
        }
    }
    violations
}

#[cfg(test)]
mod tests;
