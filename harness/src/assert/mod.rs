//! Temporal assertions judged over a recorded [`Timeline`].
//!
//! Each expectation type is a scenario step (`expect-pods`, `expect-ordinals`, …). Judging one
//! returns an [`Outcome`]: stable facts for the behavioural summary and, when the expectation
//! does not hold, a failure message in Kubernetes terms.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dsl::values::{CountRange, Duration, Target};
use crate::recorder::timeline::Timeline;

/// What judging an expectation found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// Observed facts that do not vary between runs (counts, maxima, orders), keyed by the
    /// expectation field they answer. They go into the behavioural summary and snapshots.
    pub facts: BTreeMap<String, Value>,
    /// Why the expectation does not hold; `None` when it holds.
    pub failure: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The recording and the point from which an expectation is judged.
#[derive(Clone, Copy, Debug)]
pub struct JudgeContext<'a> {
    pub timeline: &'a Timeline,
    /// Position in the timeline from which objects count (set by `since:` and a `mark` step);
    /// 0 judges the whole recording.
    pub from: usize,
}

/// `expect-pods`: pods selected by label or owner, judged over the recording.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodsExpectation {
    /// A label selector, as `kubectl -l` takes it.
    #[serde(default)]
    pub selector: Option<String>,
    /// Only pods whose controller (ownerReference) is this object.
    #[serde(default)]
    pub owner: Option<Target>,
    /// Only pods created after the step marked with this name.
    #[serde(default)]
    pub since: Option<String>,
    /// Pods created.
    #[serde(default)]
    pub created: Option<CountRange>,
    /// Pods that reached phase Succeeded.
    #[serde(default)]
    pub succeeded: Option<CountRange>,
    /// Pods that reached phase Failed.
    #[serde(default)]
    pub failed: Option<CountRange>,
    /// Maximum number of active pods at any instant (created, not terminal, not being
    /// deleted), which is how the Job controller counts them. An exact number means that
    /// number was reached and never exceeded.
    #[serde(default)]
    pub max_active: Option<CountRange>,
    /// Maximum number of pods in phase Running at any instant.
    #[serde(default)]
    pub max_running: Option<CountRange>,
    /// How pod lifetimes relate to each other.
    #[serde(default)]
    pub order: Option<PodOrder>,
}

/// How pod lifetimes relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PodOrder {
    /// Each pod is created only after every earlier pod finished (terminal or deleted).
    Sequential,
    /// At least two pods were active at the same instant.
    Overlapping,
}

/// `expect-ordinals`: the pods `<name>-0`, `<name>-1`, … of a StatefulSet.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrdinalExpectation {
    /// Name of the StatefulSet.
    pub statefulset: String,
    /// Only pods created (and deletions made) after the step marked with this name.
    #[serde(default)]
    pub since: Option<String>,
    /// Ordinals that must have been created, such as `[0, 1, 2]`.
    #[serde(default)]
    pub created: Option<Vec<u32>>,
    /// Creation order: `ordered` means each pod is created only after its predecessor is
    /// Running and Ready (OrderedReady); `any` sets no requirement.
    #[serde(default)]
    pub creation: Option<OrdinalOrder>,
    /// Ordinals that must have been deleted, such as `[2, 1]`.
    #[serde(default)]
    pub deleted: Option<Vec<u32>>,
    /// Deletion order: `reverse` means each pod is deleted only after every higher ordinal is
    /// gone; `any` sets no requirement.
    #[serde(default)]
    pub deletion: Option<OrdinalOrder>,
}

/// Order of ordinal pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OrdinalOrder {
    Ordered,
    Reverse,
    Any,
}

/// `expect-placement`: the pods of a DaemonSet over the cluster's nodes, judged now.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlacementExpectation {
    /// Name of the DaemonSet.
    pub daemonset: String,
    /// `eligible` (default): one pod on every node whose taints the pod tolerates and whose
    /// labels match its nodeSelector and required node affinity, and none elsewhere. `all`:
    /// one pod on every node, control-plane nodes included.
    #[serde(default)]
    pub nodes: Option<NodeSet>,
    /// Expected number of nodes with a pod, as a cross-check of the eligibility computation.
    #[serde(default)]
    pub count: Option<u32>,
}

/// Which nodes `expect-placement` demands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NodeSet {
    #[default]
    Eligible,
    All,
}

/// `expect-survivors`: objects that must (or must not) outlive their deleted owner.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SurvivorExpectation {
    /// The owner, which must be gone.
    pub owner: Target,
    /// Kind of the dependent objects (for a StatefulSet: `pvc`, the claims of its
    /// volumeClaimTemplates, by default).
    pub kind: String,
    /// Names of the dependents; for a StatefulSet's claims they default to
    /// `<template>-<statefulset>-<ordinal>` for every ordinal that was created.
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// True: every dependent still exists and is not being deleted. False: every dependent is
    /// gone.
    pub survive: bool,
}

/// `expect-schedule`: Jobs of a CronJob created at the instants its schedule gives.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScheduleExpectation {
    /// Name of the CronJob.
    pub cronjob: String,
    /// Number of Jobs that must have been created.
    #[serde(default)]
    pub jobs: Option<CountRange>,
    /// How late after a scheduled instant a Job may be created. Default: 10s.
    #[serde(default)]
    pub tolerance: Option<Duration>,
    /// Whether every scheduled instant between the first and the last Job must have a Job.
    /// Default: true (false suits `concurrencyPolicy: Forbid`, which skips instants).
    #[serde(default)]
    pub every_instant: Option<bool>,
}

/// `expect-history`: finished Jobs a CronJob keeps.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HistoryExpectation {
    /// Name of the CronJob.
    pub cronjob: String,
    /// Successful Jobs kept; default: the CronJob's `successfulJobsHistoryLimit` (3).
    #[serde(default)]
    pub successful: Option<u32>,
    /// Failed Jobs kept; default: the CronJob's `failedJobsHistoryLimit` (1).
    #[serde(default)]
    pub failed: Option<u32>,
    /// Whether the controller must have been seen deleting a Job to keep the limit, which
    /// proves the limit was enforced rather than not reached. Default: false.
    #[serde(default)]
    pub enforced: Option<bool>,
}
