//! What a run produced, per scenario and per step; every output format renders these.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

/// Result of one scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    /// A step's check did not hold.
    Failed,
    /// The scenario could not be run as written (invalid manifest, unknown variable) or the
    /// cluster failed in a way that says nothing about the behaviour under test.
    Errored,
    /// The cluster lacks a capability the scenario requires.
    Ignored,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Errored => "ERROR",
            Status::Ignored => "IGNORED",
        }
    }
}

/// Result of one step.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    /// The step as a short phrase, such as `wait job/pi condition Complete within 1m`.
    pub label: String,
    pub status: Status,
    pub seconds: f64,
    /// Stable observed facts, for the behavioural summary.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Result of one scenario, with everything the outputs need.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    pub file: PathBuf,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: Status,
    pub seconds: f64,
    /// The namespace the scenario ran in (empty when it did not get that far).
    pub namespace: String,
    pub steps: Vec<StepReport>,
    /// Why the scenario failed, errored or was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Problems while deleting what the scenario created; they do not change `status`, but
    /// every output shows them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleanup_errors: Vec<String>,
    /// The failure a scenario with `expectFailure` produced, which made it pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// Points for grading: awarded when the scenario passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<u32>,
    /// Pod lifetimes for the timeline picture.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pod_bars: Vec<PodBar>,
}

impl ScenarioReport {
    /// A report for a scenario that ended before it ran a step.
    pub fn not_run(name: &str, file: PathBuf, status: Status, failure: String) -> Self {
        Self {
            name: name.to_owned(),
            suite: None,
            file,
            tags: Vec::new(),
            description: None,
            status,
            seconds: 0.0,
            namespace: String::new(),
            steps: Vec::new(),
            failure: Some(failure),
            cleanup_errors: Vec::new(),
            expected_failure: None,
            points: None,
            pod_bars: Vec::new(),
        }
    }

    /// Points awarded: all when passed, none otherwise.
    pub fn points_awarded(&self) -> u32 {
        match (self.status, self.points) {
            (Status::Passed, Some(points)) => points,
            _ => 0,
        }
    }

    /// Points the scenario counts toward the total: its points, or `None` when it carries
    /// none or was ignored. An ignored scenario did not run, because the cluster lacks a
    /// capability it requires, so it is not graded.
    pub fn points_possible(&self) -> Option<u32> {
        match self.status {
            Status::Ignored => None,
            _ => self.points,
        }
    }
}

/// One pod's life, in seconds from the start of the scenario.
#[derive(Clone, Debug, Serialize)]
pub struct PodBar {
    pub name: String,
    pub node: Option<String>,
    pub created: f64,
    pub running: Option<f64>,
    pub finished: Option<f64>,
    /// Final phase, or `Deleted`.
    pub outcome: String,
}
