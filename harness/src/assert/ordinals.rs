//! `expect-ordinals`: the pods `<statefulset>-<ordinal>` of a StatefulSet, their creation and
//! deletion order.
//!
//! A pod re-created under the same name (a new uid) is a separate incarnation: each creation
//! and each deletion is judged on its own. Order is judged by timeline position. The facts
//! `creation` and `deletion` list ordinals in the order the events happened, as `0<1<2`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::lifecycle::{deletion_started_at, describe_pod_state, exists_at, state_at};
use super::objects::{
    condition_status, is_terminating, last_recorded, owner_refs, pod_is_running_and_ready,
};
use super::phrases::{NAME_LIMIT, join_clauses, join_names, join_numbers};
use super::{JudgeContext, OrdinalExpectation, OrdinalOrder, Outcome};
use crate::recorder::timeline::{ObjectHistory, value_at};

/// Judges `expect-ordinals` over the recording from `ctx.from` on.
pub fn judge_ordinals(exp: &OrdinalExpectation, ctx: &JudgeContext<'_>) -> Outcome {
    if exp.creation == Some(OrdinalOrder::Reverse) {
        return Outcome::unjudged(
            "invalid expectation: `creation: reverse` is not a creation order; \
             use `ordered` or `any`"
                .to_owned(),
        );
    }
    if exp.deletion == Some(OrdinalOrder::Ordered) {
        return Outcome::unjudged(
            "invalid expectation: `deletion: ordered` is not a deletion order; \
             use `reverse` or `any`"
                .to_owned(),
        );
    }
    if exp.replacement == Some(OrdinalOrder::Ordered) {
        return Outcome::unjudged(
            "invalid expectation: `replacement: ordered` is not a replacement order; \
             use `reverse` or `any`"
                .to_owned(),
        );
    }

    let owner = format!("statefulset/{}", exp.statefulset);
    let pods = ordinal_pods(&exp.statefulset, ctx);
    let created: Vec<&OrdinalPod<'_>> = pods
        .iter()
        .filter(|pod| pod.history.first_position() >= ctx.from)
        .collect();
    let mut deleted: Vec<(usize, &OrdinalPod<'_>)> = pods
        .iter()
        .filter_map(|pod| Some((deletion_started_at(&pod.history)?, pod)))
        .filter(|(position, _)| *position >= ctx.from)
        .collect();
    deleted.sort_by_key(|(position, _)| *position);

    let mut facts = BTreeMap::new();
    let mut failures = Vec::new();

    if let Some(expected) = &exp.created {
        let observed: BTreeSet<u32> = created.iter().map(|pod| pod.ordinal).collect();
        facts.insert("created".to_owned(), json!(observed));
        failures.extend(compare_sets(
            &owner,
            &exp.statefulset,
            "created",
            expected,
            &observed,
        ));
    }
    if exp.creation == Some(OrdinalOrder::Ordered) {
        let order: Vec<String> = created.iter().map(|pod| pod.ordinal.to_string()).collect();
        facts.insert("creation".to_owned(), json!(order.join("<")));
        let start = start_ordinal(&exp.statefulset, ctx);
        let violations = creation_violations(&pods, &created, start);
        if !violations.is_empty() {
            failures.push(format!(
                "expected {owner} to create each pod only after the one before was Running and \
                 Ready (creation: ordered); {}",
                join_clauses(&violations, NAME_LIMIT)
            ));
        }
    }
    if let Some(expected) = &exp.deleted {
        let observed: BTreeSet<u32> = deleted.iter().map(|(_, pod)| pod.ordinal).collect();
        facts.insert("deleted".to_owned(), json!(observed));
        failures.extend(compare_sets(
            &owner,
            &exp.statefulset,
            "deleted",
            expected,
            &observed,
        ));
    }
    if exp.deletion == Some(OrdinalOrder::Reverse) {
        let order: Vec<String> = deleted
            .iter()
            .map(|(_, pod)| pod.ordinal.to_string())
            .collect();
        facts.insert("deletion".to_owned(), json!(order.join("<")));
        let violations = deletion_violations(&pods, &deleted);
        if !violations.is_empty() {
            failures.push(format!(
                "expected {owner} to delete each pod only after every higher ordinal was gone \
                 (deletion: reverse); {}",
                join_clauses(&violations, NAME_LIMIT)
            ));
        }
    }

    if exp.replacement == Some(OrdinalOrder::Reverse) {
        let order: Vec<String> = deleted
            .iter()
            .map(|(_, pod)| pod.ordinal.to_string())
            .collect();
        facts.insert("replacement".to_owned(), json!(order.join("<")));
        let violations = replacement_violations(&exp.statefulset, ctx, &pods, &deleted);
        if !violations.is_empty() {
            failures.push(format!(
                "expected {owner} to replace its pods from the highest ordinal down, each only \
                 while every higher ordinal was Running and Ready (replacement: reverse); {}",
                join_clauses(&violations, NAME_LIMIT)
            ));
        }
    }

    Outcome::from_findings(facts, failures)
}

/// One incarnation of an ordinal pod.
pub(crate) struct OrdinalPod<'a> {
    pub ordinal: u32,
    pub history: ObjectHistory<'a>,
}

/// Finds every incarnation of the StatefulSet's ordinal pods in the whole recording, by
/// creation. A pod counts when its name is `<statefulset>-<ordinal>` and it has no controller other
/// than the StatefulSet.
pub(crate) fn ordinal_pods<'a>(statefulset: &str, ctx: &JudgeContext<'a>) -> Vec<OrdinalPod<'a>> {
    ctx.timeline
        .histories("Pod")
        .into_iter()
        .filter_map(|history| {
            let ordinal = parse_ordinal(history.name, statefulset)?;
            let foreign_controller = owner_refs(history.first()).iter().any(|owner| {
                owner.controller && (owner.kind != "StatefulSet" || owner.name != statefulset)
            });
            (!foreign_controller).then_some(OrdinalPod { ordinal, history })
        })
        .collect()
}

/// Parses the ordinal in `<statefulset>-<ordinal>`, written without leading zeros as the
/// controller writes it.
fn parse_ordinal(name: &str, statefulset: &str) -> Option<u32> {
    let digits = name.strip_prefix(statefulset)?.strip_prefix('-')?;
    let canonical = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok())?
}

/// `spec.ordinals.start` of the StatefulSet's last recorded state; 0 by default.
fn start_ordinal(statefulset: &str, ctx: &JudgeContext<'_>) -> u32 {
    last_recorded(ctx.timeline, "StatefulSet", statefulset)
        .and_then(|object| value_at(object, &["spec", "ordinals", "start"])?.as_u64())
        .and_then(|start| u32::try_from(start).ok())
        .unwrap_or(0)
}

/// Compares the expected ordinals with the observed ones and explains a difference by pod name.
fn compare_sets(
    owner: &str,
    statefulset: &str,
    verb: &str,
    expected: &[u32],
    observed: &BTreeSet<u32>,
) -> Option<String> {
    let expected: Vec<u32> = expected
        .iter()
        .copied()
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let observed: Vec<u32> = observed.iter().copied().collect();
    if expected == observed {
        return None;
    }

    let pod_names = |ordinals: &[u32], others: &[u32]| -> Vec<String> {
        ordinals
            .iter()
            .filter(|ordinal| !others.contains(ordinal))
            .map(|ordinal| format!("{statefulset}-{ordinal}"))
            .collect()
    };
    let missing = pod_names(&expected, &observed);
    let extra = pod_names(&observed, &expected);
    let mut details = Vec::new();
    if !missing.is_empty() {
        details.push(format!("{} not {verb}", join_names(&missing, NAME_LIMIT)));
    }
    if !extra.is_empty() {
        details.push(format!("{} {verb} too", join_names(&extra, NAME_LIMIT)));
    }

    let expected_text = match expected.len() {
        0 => "no ordinals".to_owned(),
        1 => format!("ordinal {}", join_numbers(&expected)),
        _ => format!("ordinals {}", join_numbers(&expected)),
    };
    let observed_text = if observed.is_empty() {
        "none".to_owned()
    } else {
        join_numbers(&observed)
    };
    Some(format!(
        "expected {expected_text} of {owner} {verb}; observed {observed_text} ({})",
        details.join("; ")
    ))
}

/// Describes each creation of ordinal n above `start` whose predecessor n-1 was not Running
/// and Ready before it.
fn creation_violations(
    pods: &[OrdinalPod<'_>],
    created: &[&OrdinalPod<'_>],
    start: u32,
) -> Vec<String> {
    let mut violations = Vec::new();
    for pod in created.iter().filter(|pod| pod.ordinal > start) {
        let created_at = pod.history.first_position();
        let predecessor = pods
            .iter()
            .filter(|other| other.ordinal == pod.ordinal - 1)
            .find(|other| exists_at(&other.history, created_at));
        let name = pod.history.name;
        let Some(predecessor) = predecessor else {
            violations.push(format!(
                "{name} was created while {} did not exist",
                predecessor_name(name, pod.ordinal)
            ));
            continue;
        };
        let was_ready = predecessor
            .history
            .changes
            .iter()
            .take_while(|(position, _)| *position < created_at)
            .any(|(_, change)| pod_is_running_and_ready(&change.object));
        if !was_ready {
            let state = state_at(&predecessor.history, created_at);
            let readiness = match state.and_then(|state| condition_status(state, "Ready")) {
                Some("True") => "Ready",
                Some(_) => "not Ready",
                None => "no Ready condition yet",
            };
            violations.push(format!(
                "{name} was created before {} was Running and Ready ({}, {readiness})",
                predecessor.history.name,
                describe_pod_state(state)
            ));
        }
    }
    violations
}

fn predecessor_name(name: &str, ordinal: u32) -> String {
    let prefix = name.strip_suffix(&ordinal.to_string()).unwrap_or(name);
    format!("{prefix}{}", ordinal - 1)
}

/// Describes each deletion that began while a pod with a higher ordinal still existed.
fn deletion_violations(
    pods: &[OrdinalPod<'_>],
    deleted: &[(usize, &OrdinalPod<'_>)],
) -> Vec<String> {
    let mut violations = Vec::new();
    for (deleted_at, pod) in deleted {
        let higher: Vec<String> = pods
            .iter()
            .filter(|other| other.ordinal > pod.ordinal)
            .filter_map(|other| {
                let state = state_at(&other.history, *deleted_at)?;
                Some(format!(
                    "{} ({})",
                    other.history.name,
                    describe_pod_state(Some(state))
                ))
            })
            .collect();
        if !higher.is_empty() {
            let verb = if higher.len() == 1 { "was" } else { "were" };
            violations.push(format!(
                "{} began terminating while {} {verb} not gone",
                pod.history.name,
                join_names(&higher, NAME_LIMIT)
            ));
        }
    }
    violations
}

/// Describes each deletion that began after the deletion of a lower ordinal, or while a
/// higher ordinal within the StatefulSet's replicas was missing, not Running and Ready, or
/// being deleted.
fn replacement_violations(
    statefulset: &str,
    ctx: &JudgeContext<'_>,
    pods: &[OrdinalPod<'_>],
    deleted: &[(usize, &OrdinalPod<'_>)],
) -> Vec<String> {
    let start = start_ordinal(statefulset, ctx);
    let mut violations = Vec::new();
    for (index, (deleted_at, pod)) in deleted.iter().enumerate() {
        let name = pod.history.name;
        if let Some((_, lower)) = deleted[..index]
            .iter()
            .find(|(_, earlier)| earlier.ordinal < pod.ordinal)
        {
            violations.push(format!(
                "{name} began terminating after {}, a lower ordinal",
                lower.history.name
            ));
            continue;
        }

        let Some(replicas) = replicas_at(statefulset, ctx, *deleted_at) else {
            continue;
        };
        let end = start.saturating_add(replicas);
        let mut unready = Vec::new();
        for ordinal in pod.ordinal.saturating_add(1)..end {
            let state = pods
                .iter()
                .filter(|other| other.ordinal == ordinal)
                .find_map(|other| state_at(&other.history, *deleted_at));
            let ready = state
                .is_some_and(|state| pod_is_running_and_ready(state) && !is_terminating(state));
            if !ready {
                unready.push(describe_ordinal(statefulset, ordinal, state));
            }
        }
        if !unready.is_empty() {
            violations.push(format!(
                "{name} began terminating while {}",
                join_clauses(&unready, NAME_LIMIT)
            ));
        }
    }
    violations
}

fn describe_ordinal(statefulset: &str, ordinal: u32, state: Option<&Value>) -> String {
    let name = format!("{statefulset}-{ordinal}");
    let Some(state) = state else {
        return format!("{name} did not exist");
    };
    let readiness = match condition_status(state, "Ready") {
        Some("True") => "Ready",
        Some(_) => "not Ready",
        None => "no Ready condition yet",
    };
    format!(
        "{name} was {}, {readiness}",
        describe_pod_state(Some(state))
    )
}

/// `spec.replicas` of the StatefulSet after the change at `position` (1 when unset), or
/// None when it did not exist then.
fn replicas_at(statefulset: &str, ctx: &JudgeContext<'_>, position: usize) -> Option<u32> {
    let state = ctx
        .timeline
        .histories("StatefulSet")
        .iter()
        .filter(|history| history.name == statefulset)
        .find_map(|history| state_at(history, position))?;
    let replicas = value_at(state, &["spec", "replicas"]).map_or(Some(1), Value::as_u64)?;
    u32::try_from(replicas).ok()
}

#[cfg(test)]
mod tests;
