//! The behavioural summary of a scenario (what snapshots keep) and the pod bars of its
//! timeline picture.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::recorder::timeline::{ChangeKind, Timeline, str_at};
use crate::report::model::{PodBar, ScenarioReport};

/// Suffixes that differ between runs: the five characters Kubernetes appends for
/// `generateName` (from its alphabet without vowels), and a CronJob's Job suffix, the
/// scheduled time in minutes since the epoch.
static GENERATED_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-[bcdfghjklmnpqrstvwxz2456789]{5}\b").expect("valid regex"));
static CRONJOB_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-[0-9]{8}\b").expect("valid regex"));

#[derive(Serialize)]
struct Summary<'a> {
    scenario: &'a str,
    status: &'a str,
    steps: Vec<SummaryStep<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_failure: Option<&'a str>,
}

#[derive(Serialize)]
struct SummaryStep<'a> {
    step: &'a str,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    observed: serde_json::Map<String, Value>,
}

/// The behavioural summary as YAML: each step with the facts it observed. It leaves out what
/// varies between runs (durations, uids, resourceVersions, timestamps, the namespace and
/// generated name suffixes), so reruns of a passing scenario produce the same text.
pub fn behaviour(report: &ScenarioReport) -> String {
    let summary = Summary {
        scenario: &report.name,
        status: report.status.label(),
        steps: report
            .steps
            .iter()
            .map(|step| SummaryStep {
                step: &step.label,
                observed: step.facts.clone().into_iter().collect(),
            })
            .collect(),
        expected_failure: report.expected_failure.as_deref(),
    };
    let text = serde_yaml::to_string(&summary).unwrap_or_default();
    redact(&text, &report.namespace)
}

/// Replaces run-specific names in `text`.
pub fn redact(text: &str, namespace: &str) -> String {
    let text = if namespace.is_empty() {
        text.to_owned()
    } else {
        text.replace(namespace, "[namespace]")
    };
    let text = GENERATED_SUFFIX.replace_all(&text, "-[suffix]");
    CRONJOB_SUFFIX
        .replace_all(&text, "-[scheduled]")
        .into_owned()
}

/// Each pod's life relative to `started`, in order of creation.
pub fn pod_bars(timeline: &Timeline, started: DateTime<Utc>) -> Vec<PodBar> {
    let seconds = |at: DateTime<Utc>| (at - started).num_milliseconds() as f64 / 1000.0;
    timeline
        .histories("Pod")
        .into_iter()
        .map(|history| {
            let running = history
                .changes
                .iter()
                .find(|(_, change)| str_at(&change.object, &["status", "phase"]) == Some("Running"))
                .map(|(_, change)| seconds(change.observed_at));
            let finished = history
                .changes
                .iter()
                .find(|(_, change)| {
                    change.change == ChangeKind::Deleted
                        || matches!(
                            str_at(&change.object, &["status", "phase"]),
                            Some("Succeeded" | "Failed")
                        )
                })
                .map(|(_, change)| seconds(change.observed_at));
            let (_, last) = history.changes[history.changes.len() - 1];
            let phase = str_at(&last.object, &["status", "phase"]).unwrap_or("Pending");
            let outcome = match (last.change, phase) {
                (_, "Succeeded" | "Failed") => phase.to_owned(),
                (ChangeKind::Deleted, _) => "Deleted".to_owned(),
                _ => phase.to_owned(),
            };
            PodBar {
                name: history.name.to_owned(),
                node: str_at(&last.object, &["spec", "nodeName"]).map(str::to_owned),
                created: seconds(history.changes[0].1.observed_at),
                running,
                finished,
                outcome,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::pod_suffix("job-completions-7fs99 ran", "job-completions-[suffix] ran")]
    #[case::cronjob_job("cronjob-example-29430721", "cronjob-example-[scheduled]")]
    #[case::namespace("in kspec-a-b2c3d", "in [namespace]")]
    #[case::plain_words("job-hello-world", "job-hello-world")]
    fn redact_replaces_generated_names(#[case] text: &str, #[case] expected: &str) {
        assert_eq!(redact(text, "kspec-a-b2c3d"), expected);
    }
}
