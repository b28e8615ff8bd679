//! `expect-survivors`: dependents that must outlive their deleted owner, or go with it.
//!
//! The typical case is a StatefulSet's PersistentVolumeClaims: with the default retention
//! policy (`whenDeleted: Retain`) they survive the StatefulSet, and with `whenDeleted: Delete`
//! the controller makes the StatefulSet their owner so the garbage collector removes them.
//! Everything is judged on the state after the last recorded change.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::objects::{self, ever_owned_by, is_terminating, last_recorded, resolve_kind};
use super::ordinals::ordinal_pods;
use super::phrases::{NAME_LIMIT, count_noun, join_names};
use super::view::{Presence, View};
use super::{JudgeContext, Outcome, SurvivorExpectation};
use crate::dsl::values::{KindInfo, Target};
use crate::recorder::timeline::value_at;

/// Judges `expect-survivors` at the end of the recording.
pub fn judge_survivors(exp: &SurvivorExpectation, ctx: &JudgeContext<'_>) -> Outcome {
    let kind = match resolve_kind(&exp.kind) {
        Ok(kind) => KindInfo::find(kind).expect("resolve_kind returns a listed kind"),
        Err(problem) => return Outcome::unjudged(format!("invalid expectation: {problem}")),
    };
    let names = match dependent_names(exp, kind, ctx) {
        Ok(names) => names,
        Err(problem) => return Outcome::unjudged(problem),
    };
    let view = View::at(ctx.timeline, None);
    let owner = &exp.owner;
    let singular = kind.kind.to_ascii_lowercase();

    let mut failures = Vec::new();
    let owner_presence = view.object(&owner.kind, &owner.name);
    let owner_gone = !matches!(owner_presence, Presence::Live(_));
    if let Presence::Live(object) = owner_presence {
        let detail = if is_terminating(object) {
            " (it is being deleted: deletionTimestamp is set)"
        } else {
            ""
        };
        failures.push(format!(
            "expected {owner} to be deleted before its dependents are judged; \
             it still exists{detail}"
        ));
    }

    if names.is_empty() {
        failures.push(format!(
            "no {} depend on {owner}: none had an ownerReference to it; list them under `names`",
            kind.plural
        ));
    }
    let mut survived = 0_u32;
    let mut problems: BTreeMap<Problem, Vec<&str>> = BTreeMap::new();
    for name in &names {
        let presence = view.object(kind.kind, name);
        let alive = matches!(presence, Presence::Live(object) if !is_terminating(object));
        if alive {
            survived += 1;
        }
        if let Some(problem) = judge_dependent(presence, exp.survive) {
            problems.entry(problem).or_default().push(name);
        }
    }
    if !problems.is_empty() {
        let count = count_noun(
            u32::try_from(names.len()).unwrap_or(u32::MAX),
            &singular,
            kind.plural,
        );
        let expected = if exp.survive {
            format!("expected {count} to survive the deletion of {owner}")
        } else {
            format!("expected {count} to be deleted with {owner}")
        };
        let clauses: Vec<String> = problems
            .iter()
            .map(|(problem, names)| problem.describe(names))
            .collect();
        failures.push(format!("{expected}; {}", clauses.join("; ")));
    }

    let mut facts = BTreeMap::new();
    facts.insert("ownerGone".to_owned(), json!(owner_gone));
    facts.insert("dependents".to_owned(), json!(names.len()));
    facts.insert("survived".to_owned(), json!(survived));
    Outcome::from_findings(facts, failures)
}

/// Lists the dependents to judge: the names given, or for a StatefulSet's claims one per claim
/// template and ordinal. Otherwise they are the objects of the kind that ever had an
/// ownerReference to the owner.
fn dependent_names(
    exp: &SurvivorExpectation,
    kind: &KindInfo,
    ctx: &JudgeContext<'_>,
) -> Result<Vec<String>, String> {
    if let Some(names) = &exp.names {
        return Ok(names.clone());
    }
    if exp.owner.kind == "StatefulSet" && kind.kind == "PersistentVolumeClaim" {
        return claim_names(&exp.owner, ctx);
    }
    let names: BTreeSet<String> = ctx
        .timeline
        .histories(kind.kind)
        .into_iter()
        .filter(|history| {
            let states = history.changes.iter().map(|(_, change)| &*change.object);
            ever_owned_by(states, &exp.owner, ctx.timeline)
        })
        .map(|history| history.name.to_owned())
        .collect();
    Ok(names.into_iter().collect())
}

/// `<template>-<statefulset>-<ordinal>` for every volumeClaimTemplate of the StatefulSet's
/// last recorded spec and every ordinal of a pod it ever created.
fn claim_names(owner: &Target, ctx: &JudgeContext<'_>) -> Result<Vec<String>, String> {
    let Some(statefulset) = last_recorded(ctx.timeline, "StatefulSet", &owner.name) else {
        return Err(format!(
            "{owner} was never recorded, so the names of its claims are unknown; \
             list them under `names`"
        ));
    };
    let templates: Vec<&str> = value_at(statefulset, &["spec", "volumeClaimTemplates"])
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|template| value_at(template, &["metadata", "name"])?.as_str())
                .collect()
        })
        .unwrap_or_default();
    if templates.is_empty() {
        return Err(format!(
            "{owner} has no volumeClaimTemplates, so it has no claims to judge"
        ));
    }
    let ordinals: BTreeSet<u32> = ordinal_pods(&owner.name, ctx)
        .iter()
        .map(|pod| pod.ordinal)
        .collect();
    Ok(templates
        .iter()
        .flat_map(|template| {
            ordinals
                .iter()
                .map(move |ordinal| format!("{template}-{}-{ordinal}", owner.name))
        })
        .collect())
}

/// A problem with a dependent, as a category that groups dependents in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    Deleted,
    BeingDeleted,
    NeverRecorded,
    StillExists,
    StillExistsUnowned,
    NotGone,
}

impl Problem {
    fn describe(self, names: &[&str]) -> String {
        let list = join_names(names, NAME_LIMIT);
        let one = names.len() == 1;
        let pick =
            |singular: &'static str, plural: &'static str| if one { singular } else { plural };
        match self {
            Problem::Deleted => format!("{list} {} deleted", pick("was", "were")),
            Problem::BeingDeleted => format!(
                "{list} {} being deleted (deletionTimestamp is set)",
                pick("is", "are")
            ),
            Problem::NeverRecorded => format!("{list} {} never recorded", pick("was", "were")),
            Problem::StillExists => format!(
                "{list} still {}; the garbage collector has not deleted {}",
                pick("exists", "exist"),
                pick("it", "them")
            ),
            Problem::StillExistsUnowned => format!(
                "{list} still {} and {} no ownerReference, so the garbage collector will not \
                 delete {}",
                pick("exists", "exist"),
                pick("has", "have"),
                pick("it", "them")
            ),
            Problem::NotGone => format!("{list} {} being deleted but not gone", pick("is", "are")),
        }
    }
}

fn judge_dependent(presence: Presence<'_>, survive: bool) -> Option<Problem> {
    match (presence, survive) {
        (Presence::Live(object), true) if is_terminating(object) => Some(Problem::BeingDeleted),
        (Presence::Live(_), true) | (Presence::Deleted, false) => None,
        (Presence::Deleted, true) => Some(Problem::Deleted),
        (Presence::Never, _) => Some(Problem::NeverRecorded),
        (Presence::Live(object), false) if is_terminating(object) => Some(Problem::NotGone),
        (Presence::Live(object), false) if objects::owner_refs(object).is_empty() => {
            Some(Problem::StillExistsUnowned)
        }
        (Presence::Live(_), false) => Some(Problem::StillExists),
    }
}

#[cfg(test)]
mod tests;
