//! Short phrases for steps and checks, for progress lines, reports and snapshots.

use crate::dsl::{self, Check, Selection, Step, Target};

/// The step as a short phrase for progress lines and reports.
pub fn label(step: &Step) -> String {
    match step {
        Step::Apply(Selection::All(_)) => "apply all".to_owned(),
        Step::Apply(Selection::Targets(targets)) => format!("apply {}", join(targets)),
        Step::Delete(delete) => match delete.propagation {
            Some(propagation) => format!("delete {} ({propagation:?})", delete.target),
            None => format!("delete {}", delete.target),
        },
        Step::DeleteMatching(step) => match step.limit {
            Some(limit) => format!("delete {limit} {} -l {}", step.kind, step.selector),
            None => format!("delete every {} -l {}", step.kind, step.selector),
        },
        Step::WaitClock(clock) => format!("wait for second {} of the minute", clock.second),
        Step::Scale(scale) => format!("scale {} to {}", scale.target, scale.replicas),
        Step::Patch(patch) => format!("patch {}", patch.target),
        Step::Node(node) => format!(
            "change node {}",
            node.name
                .as_deref()
                .or(node.selector.as_deref())
                .unwrap_or("(all)")
        ),
        Step::Wait(step) => format!(
            "wait {} within {}",
            describe_check(&step.check()),
            step.within
        ),
        Step::Expect(check) => format!("expect {}", describe_check(check)),
        Step::Consistently(step) => {
            format!(
                "consistently {} for {}",
                describe_check(&step.check()),
                step.during
            )
        }
        Step::Never(step) => format!(
            "never {} for {}",
            describe_check(&step.check()),
            step.during
        ),
        Step::Sleep(duration) => format!("sleep {duration}"),
        Step::Mark(name) => format!("mark {name}"),
        Step::ExpectRejected(reject) => match &reject.apply {
            Selection::All(_) => "expect all rejected".to_owned(),
            Selection::Targets(targets) => format!("expect {} rejected", join(targets)),
        },
        Step::ExpectPods(expectation) => format!(
            "expect pods {}",
            expectation
                .owner
                .as_ref()
                .map(|owner| format!("of {owner}"))
                .or_else(|| expectation.selector.as_ref().map(|s| format!("-l {s}")))
                .unwrap_or_default()
        ),
        Step::ExpectOrdinals(expectation) => {
            format!("expect ordinals of statefulset/{}", expectation.statefulset)
        }
        Step::ExpectPlacement(expectation) => {
            format!("expect placement of daemonset/{}", expectation.daemonset)
        }
        Step::ExpectSurvivors(expectation) => {
            format!(
                "expect {} of {} to survive: {}",
                expectation.kind, expectation.owner, expectation.survive
            )
        }
        Step::ExpectSchedule(expectation) => {
            format!("expect schedule of cronjob/{}", expectation.cronjob)
        }
        Step::ExpectHistory(expectation) => {
            format!("expect history of cronjob/{}", expectation.cronjob)
        }
        Step::ExpectDns(expectation) => {
            format!("expect dns names of service/{}", expectation.service)
        }
    }
}

fn join(targets: &[Target]) -> String {
    targets
        .iter()
        .map(Target::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A check as a short phrase: `job/pi condition Complete`, `3 pods -l app=web`.
pub fn describe_check(check: &Check) -> String {
    let mut parts = Vec::new();
    if let Some(target) = &check.target {
        parts.push(target.to_string());
    }
    if let Some(condition) = &check.condition {
        match condition {
            dsl::ConditionMatch::Type(type_) => parts.push(format!("condition {type_}")),
            dsl::ConditionMatch::Full(spec) => {
                let reason = spec
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                parts.push(format!("condition {}{reason}", spec.type_));
            }
        }
    }
    if check.state.is_some() {
        parts.push("state".to_owned());
    }
    match check.gone {
        Some(true) => parts.push("gone".to_owned()),
        Some(false) => parts.push("exists".to_owned()),
        None => {}
    }
    if let Some(count) = &check.count {
        let kind = count.kind.as_deref().unwrap_or("pod");
        let mut phrase = format!("{} {kind}", count.is);
        if count.active == Some(true) {
            phrase.push_str(" active");
        }
        if let Some(owner) = &count.owner {
            phrase.push_str(&format!(" of {owner}"));
        }
        if let Some(selector) = &count.selector {
            phrase.push_str(&format!(" -l {selector}"));
        }
        parts.push(phrase);
    }
    parts.join(" ")
}
