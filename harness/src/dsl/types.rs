//! The scenario file format, as typed structs.
//!
//! Every struct rejects unknown keys, so a misspelt key is an error with its line and the
//! nearest valid key instead of a silently ignored line.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::values::{CountRange, Duration, Target};
use crate::assert::{
    DnsExpectation, HistoryExpectation, OrdinalExpectation, PlacementExpectation, PodsExpectation,
    ScheduleExpectation, SurvivorExpectation,
};

/// A scenario: manifests to apply and the behaviour they must show over time.
///
/// ```yaml
/// name: job completions run one at a time
/// tags: [job, seed]
/// manifests: [../manifests/job-completions.yaml]
/// simulate:
///   job/job-completions: {runFor: 2s}
/// steps:
///   - apply: all
///   - wait: {for: job/job-completions, condition: Complete, within: 90s}
///   - expect-pods: {owner: job/job-completions, created: 3, maxActive: 1, order: sequential}
/// ```
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scenario {
    /// Unique name; it names the test trial, the namespace prefix and the snapshot.
    pub name: String,
    /// The rule the scenario checks, in one or two sentences.
    #[serde(default)]
    pub description: Option<String>,
    /// Labels for filtering, such as the kind (`job`) and the feature (`indexed`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Manifest files (relative to the scenario file, multi-document allowed) and inline
    /// manifests, applied in the order given.
    #[serde(default)]
    pub manifests: Vec<ManifestSource>,
    /// Default values for `${name}` variables; the suite, the command line and the backend
    /// override them in that order.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Behaviour of simulated pods, per workload (`job/name`, `daemonset/name`, `pod/name`).
    /// The runner writes these as `kspec.dev/` annotations into pod templates, and only when the
    /// cluster's nodes are simulated.
    #[serde(default)]
    pub simulate: BTreeMap<Target, Simulation>,
    /// Capabilities the cluster must have; a scenario whose requirements are missing is
    /// reported as ignored, not as passed.
    #[serde(default)]
    pub requires: Vec<Capability>,
    /// Deadline for the whole scenario, cleanup excluded. Default: 5m.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Steps, run in order; the first failing step ends the scenario.
    pub steps: Vec<Step>,
    /// Whether `cargo test` keeps an insta snapshot of the behavioural summary. Default: true.
    #[serde(default = "default_true")]
    pub snapshot: bool,
    /// Declares that the scenario must fail: it passes only when a step fails with a message
    /// matching this regular expression. For deliberately broken variants, which prove that a
    /// check can fail.
    #[serde(default)]
    pub expect_failure: Option<String>,
}

fn default_true() -> bool {
    true
}

/// A capability a scenario can require of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Nodes are simulated by kwok: pods obey `simulate` and nodes can be added by applying
    /// Node objects.
    SimulatedNodes,
    /// At least one node carries the `node-role.kubernetes.io/control-plane` taint.
    TaintedControlPlane,
    /// A default or named StorageClass binds claims (`${storageClass}`).
    Storage,
}

/// Where manifests come from.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ManifestSource {
    /// A path relative to the scenario file; the file may hold several YAML documents.
    File(String),
    /// Manifests written in the scenario itself.
    Inline {
        /// One manifest or a list of manifests.
        inline: Value,
    },
}

/// Behaviour of simulated pods, written into the pod template as `kspec.dev/` annotations.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Simulation {
    /// Time from Running to container exit (`kspec.dev/run-for`). Job pods default to 1s;
    /// other pods run until deleted unless this is set.
    #[serde(default)]
    pub run_for: Option<Duration>,
    /// Exit code of the container (`kspec.dev/exit-code`). Default: 0.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Exit code per completion index of an Indexed Job (`kspec.dev/exit-code-index-N`); an
    /// index not listed uses `exitCode`.
    #[serde(default)]
    pub exit_code_by_index: BTreeMap<u32, i32>,
    /// Whether the pod becomes Ready once Running (`kspec.dev/ready`). Default: true.
    #[serde(default)]
    pub ready: Option<bool>,
    /// Time from scheduling to Running (`kspec.dev/start-after`). Default: 500ms.
    #[serde(default)]
    pub start_after: Option<Duration>,
}

/// One step of a scenario. Each step is a map with a single key that names it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum Step {
    /// Applies manifests with server-side apply: `all`, or a list of targets.
    Apply(Selection),
    /// Deletes an object.
    Delete(DeleteStep),
    /// Deletes objects of one kind that match a label selector, such as one pod of a workload.
    DeleteMatching(DeleteMatchingStep),
    /// Sets `spec.replicas` of a workload (through the scale subresource).
    Scale(ScaleStep),
    /// Patches an object.
    Patch(PatchStep),
    /// Adds or removes labels and taints of nodes; restored when the scenario ends.
    Node(NodeStep),
    /// Waits until a check holds, failing after `within`.
    Wait(WaitStep),
    /// Requires a check to hold now.
    Expect(Check),
    /// Requires a check to hold at every change for the whole window.
    Consistently(HoldStep),
    /// Requires a check to hold at no change for the whole window.
    Never(HoldStep),
    /// Waits a fixed time; prefer `wait`, which ends as soon as its check holds.
    Sleep(Duration),
    /// Waits until the wall clock shows a given second of the minute, so that a scenario about
    /// a CronJob schedule knows how far the next scheduled minute is.
    WaitClock(ClockStep),
    /// Names the current point of the recording, for `since:` in later expectations.
    Mark(String),
    /// Requires applying the given manifests to be rejected by the API server.
    ExpectRejected(RejectStep),
    /// Judges pods over the whole recording: counts, concurrency and order.
    ExpectPods(PodsExpectation),
    /// Judges the ordinal pods of a StatefulSet: names, creation and deletion order.
    ExpectOrdinals(OrdinalExpectation),
    /// Judges the placement of a DaemonSet's pods: one on every eligible node.
    ExpectPlacement(PlacementExpectation),
    /// Judges objects that must outlive (or not) their deleted owner.
    ExpectSurvivors(SurvivorExpectation),
    /// Judges the Jobs of a CronJob against the instants its schedule gives.
    ExpectSchedule(ScheduleExpectation),
    /// Judges the finished Jobs a CronJob keeps against its history limits.
    ExpectHistory(HistoryExpectation),
    /// Judges the per-pod DNS names a headless Service publishes through its EndpointSlices.
    ExpectDns(DnsExpectation),
}

/// Which manifests an `apply` or `expect-rejected` step uses.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Selection {
    /// `all`: every manifest of the scenario, in order.
    All(AllKeyword),
    /// The named manifests, as kind/name targets, in the order given.
    Targets(Vec<Target>),
}

/// The keyword `all`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AllKeyword {
    All,
}

/// Deletes an object.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteStep {
    pub target: Target,
    /// Background (default), Foreground or Orphan.
    #[serde(default)]
    pub propagation: Option<Propagation>,
    /// When set, waits until the object is gone, failing after this long.
    #[serde(default)]
    pub wait: Option<Duration>,
}

/// Deletes objects of one kind in the scenario's namespace that match a label selector.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteMatchingStep {
    /// Kind, by name or short name, such as `pod`.
    pub kind: String,
    /// A label selector, as `kubectl -l` takes it.
    pub selector: String,
    /// Deletes at most this many, the first by name. Default: all that match.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Fails unless at least this many objects match. Default: 1.
    #[serde(default)]
    pub min: Option<u32>,
}

/// A second of the wall-clock minute to wait for.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClockStep {
    /// Second of the minute, 0 to 59 (in UTC, which has whole-minute offsets to every zone
    /// that CronJob schedules use).
    pub second: u32,
}

/// `propagationPolicy` of a delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// Sets the replicas of a StatefulSet or another scalable workload.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScaleStep {
    pub target: Target,
    pub replicas: u32,
}

/// Patches an object with a JSON merge patch or a JSON patch.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchStep {
    pub target: Target,
    /// A JSON merge patch (RFC 7386), written as YAML.
    #[serde(default)]
    pub merge: Option<Value>,
    /// A JSON patch (RFC 6902): a list of operations.
    #[serde(default)]
    pub json: Option<Vec<Value>>,
}

/// Changes labels or taints of nodes for the duration of the scenario.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeStep {
    /// Node name, or a label selector with `selector:`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub selector: Option<String>,
    /// Labels to set; a null value removes the label.
    #[serde(default)]
    pub labels: BTreeMap<String, Option<String>>,
    /// Taints to add, as `key=value:Effect` or `key:Effect`.
    #[serde(default)]
    pub add_taints: Vec<String>,
    /// Taint keys to remove.
    #[serde(default)]
    pub remove_taints: Vec<String>,
}

/// A check on the recorded state: one object (`for:`) or a count of objects (`count:`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Check {
    /// The object to check.
    #[serde(default, rename = "for")]
    pub target: Option<Target>,
    /// A status condition the object must have, by type or in full.
    #[serde(default)]
    pub condition: Option<ConditionMatch>,
    /// A partial object the object must match: only the fields given are compared, and a
    /// field the object does not have yet does not match.
    #[serde(default)]
    pub state: Option<Value>,
    /// When true, the object must not exist; when false, it must.
    #[serde(default)]
    pub gone: Option<bool>,
    /// A count of objects of one kind.
    #[serde(default)]
    pub count: Option<CountCheck>,
}

/// A step that waits until a check holds.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WaitStep {
    #[serde(default, rename = "for")]
    pub target: Option<Target>,
    #[serde(default)]
    pub condition: Option<ConditionMatch>,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub gone: Option<bool>,
    #[serde(default)]
    pub count: Option<CountCheck>,
    /// Time limit.
    pub within: Duration,
}

impl WaitStep {
    pub fn check(&self) -> Check {
        Check {
            target: self.target.clone(),
            condition: self.condition.clone(),
            state: self.state.clone(),
            gone: self.gone,
            count: self.count.clone(),
        }
    }
}

/// A step that requires a check to hold (or never to hold) over a window.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HoldStep {
    #[serde(default, rename = "for")]
    pub target: Option<Target>,
    #[serde(default)]
    pub condition: Option<ConditionMatch>,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub gone: Option<bool>,
    #[serde(default)]
    pub count: Option<CountCheck>,
    /// Length of the window, starting when the step starts.
    pub during: Duration,
}

impl HoldStep {
    pub fn check(&self) -> Check {
        Check {
            target: self.target.clone(),
            condition: self.condition.clone(),
            state: self.state.clone(),
            gone: self.gone,
            count: self.count.clone(),
        }
    }
}

/// A status condition to match: `Complete`, or `{type: Failed, reason: BackoffLimitExceeded}`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ConditionMatch {
    Type(String),
    Full(ConditionSpec),
}

/// A status condition in full; `status` defaults to `"True"`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConditionSpec {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// A regular expression the condition's message must match.
    #[serde(default)]
    pub message: Option<String>,
}

/// Counts objects of one kind in the scenario's namespace (or cluster-wide kinds).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CountCheck {
    /// Kind to count, by name or short name. Default: pod.
    #[serde(default)]
    pub kind: Option<String>,
    /// A label selector, as `kubectl -l` takes it.
    #[serde(default)]
    pub selector: Option<String>,
    /// Only objects with an ownerReference to this object.
    #[serde(default)]
    pub owner: Option<Target>,
    /// Only objects matching this partial object.
    #[serde(default)]
    pub state: Option<Value>,
    /// Only active objects: pods that are created, not terminal and not being deleted (the Job
    /// controller's rule), Jobs without a Complete or Failed condition, and other objects that
    /// are not being deleted.
    #[serde(default)]
    pub active: Option<bool>,
    /// Counts every object the recording has seen that matched the filters at some point,
    /// deleted ones included, instead of the objects that exist and match now. Default: false.
    #[serde(default)]
    pub ever: Option<bool>,
    /// The count required.
    pub is: CountRange,
}

/// Requires applying manifests to be rejected.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RejectStep {
    /// The manifests to apply: `all`, or targets among the scenario's manifests.
    pub apply: Selection,
    /// A regular expression the rejection message must match.
    pub message: String,
}
