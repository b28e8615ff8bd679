//! `expect-placement`: one daemon pod on every node that should run one, and none elsewhere.
//!
//! Placement is judged on the state after the last recorded change, against the DaemonSet's
//! template and the nodes as they were then. Only active pods count: not terminal and not being
//! deleted. A pod's node is its `spec.nodeName`, or before scheduling the node that its required
//! affinity names, which the DaemonSet controller sets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::objects::{self, owner_refs, pod_is_active, pod_node};
use super::phrases::{NAME_LIMIT, join_clauses, join_names};
use super::scheduling::{Eligibility, daemon_eligibility};
use super::view::{Presence, View};
use super::{JudgeContext, NodeSet, Outcome, PlacementExpectation};

/// Judges `expect-placement` at the end of the recording.
pub fn judge_placement(exp: &PlacementExpectation, ctx: &JudgeContext<'_>) -> Outcome {
    let view = View::at(ctx.timeline, None);
    let owner = format!("daemonset/{}", exp.daemonset);
    let daemonset = match view.object("DaemonSet", &exp.daemonset) {
        Presence::Live(daemonset) => daemonset,
        Presence::Deleted => return Outcome::unjudged(format!("{owner} was deleted")),
        Presence::Never => return Outcome::unjudged(format!("{owner} does not exist")),
    };
    let template = daemonset.pointer("/spec/template").unwrap_or(&Value::Null);
    let node_set = exp.nodes.unwrap_or_default();

    let nodes = view.objects("Node");
    let node_names: BTreeSet<&str> = nodes.iter().map(|node| objects::name(node)).collect();
    let mut pods_by_node: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut problems = Vec::new();
    for pod in view.objects("Pod") {
        let owned = owner_refs(pod)
            .iter()
            .any(|r| r.controller && r.kind == "DaemonSet" && r.name == exp.daemonset);
        if !owned || !pod_is_active(pod) {
            continue;
        }
        match pod_node(pod) {
            Some(node) if node_names.contains(node) => {
                pods_by_node
                    .entry(node)
                    .or_default()
                    .push(objects::name(pod));
            }
            Some(node) => problems.push(format!(
                "{} is on node {node}, which does not exist",
                objects::name(pod)
            )),
            None => problems.push(format!("{} has no node", objects::name(pod))),
        }
    }

    let mut demanded = Vec::new();
    for node in &nodes {
        let name = objects::name(node);
        let eligibility = daemon_eligibility(template, node);
        let pods = pods_by_node
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let is_demanded = node_set == NodeSet::All || eligibility == Eligibility::Eligible;
        if is_demanded {
            demanded.push(name);
        }
        if let Some(problem) = judge_node(name, pods, is_demanded, &eligibility) {
            problems.push(problem);
        }
    }

    let placed: Vec<&str> = pods_by_node.keys().copied().collect();
    let mut facts = BTreeMap::new();
    facts.insert("nodes".to_owned(), json!(placed));
    facts.insert("count".to_owned(), json!(placed.len()));

    let mut failures = Vec::new();
    if !problems.is_empty() {
        let per = match node_set {
            NodeSet::All => "node",
            NodeSet::Eligible => "eligible node",
        };
        let expected_nodes = if demanded.is_empty() {
            String::new()
        } else {
            format!(" ({})", join_names(&demanded, NAME_LIMIT))
        };
        failures.push(format!(
            "expected {} daemon pods of {owner}, one per {per}{expected_nodes}; {}",
            demanded.len(),
            join_clauses(&problems, NAME_LIMIT)
        ));
    }
    if let Some(count) = exp.count
        && usize::try_from(count).ok() != Some(placed.len())
    {
        failures.push(format!(
            "expected daemon pods of {owner} on {count} nodes; found them on {}: {}",
            placed.len(),
            join_names(&placed, NAME_LIMIT)
        ));
    }
    Outcome::from_findings(facts, failures)
}

/// Describes what is wrong on one node, if anything.
fn judge_node(
    name: &str,
    pods: &[&str],
    demanded: bool,
    eligibility: &Eligibility,
) -> Option<String> {
    let because = |reasons: &[String]| format!(" because {}", reasons.join(" and "));
    match (pods.len(), eligibility) {
        (1, Eligibility::Ineligible(reasons)) => Some(format!(
            "node {name} has {} although {}",
            pods[0],
            reasons.join(" and ")
        )),
        (1, _) => None,
        (0, _) if !demanded => None,
        (0, Eligibility::Eligible) => Some(format!("node {name} has none although it is eligible")),
        (0, Eligibility::KeepsExisting(reasons) | Eligibility::Ineligible(reasons)) => {
            Some(format!("node {name} has none{}", because(reasons)))
        }
        (count, _) => Some(format!(
            "node {name} has {count}: {}",
            join_names(pods, NAME_LIMIT)
        )),
    }
}

#[cfg(test)]
mod tests;
