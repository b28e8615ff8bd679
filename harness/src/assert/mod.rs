//! Temporal assertions judged over a recorded [`Timeline`].
//!
//! Each expectation type is a scenario step (`expect-pods`, `expect-ordinals`, …). Judging one
//! returns an [`Outcome`]: stable facts for the behavioural summary and, when the expectation
//! does not hold, a failure message in Kubernetes terms.
//!
//! Every judgement orders events by timeline position, which is resourceVersion order, and
//! never by timestamps: creationTimestamp and condition times have one-second resolution. The
//! judges are [`judge_pods`], [`judge_ordinals`], [`judge_placement`], [`judge_survivors`],
//! [`judge_schedule`] and [`judge_history`]. The generic step check is evaluated by
//! [`check_holds`], and over a window of changes by [`holds_throughout`] and [`never_holds`].
//! CronJob schedules are read by [`kubernetes_schedule`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dsl::values::{CountRange, Duration, Target};
use crate::recorder::timeline::Timeline;

mod check;
mod crontab;
mod dns;
mod history;
mod lifecycle;
mod objects;
mod ordinals;
mod partial;
mod phrases;
mod placement;
mod pods;
mod schedule;
mod scheduling;
mod selector;
mod survivors;
#[cfg(test)]
mod testing;
mod view;

pub use check::{check_at, check_holds, check_latest, holds_throughout, never_holds};
pub use crontab::{Instants, KubernetesSchedule, ScheduleError, kubernetes_schedule};
pub use dns::{DnsExpectation, judge_dns};
pub use history::judge_history;
pub use ordinals::judge_ordinals;
pub use placement::judge_placement;
pub use pods::judge_pods;
pub use schedule::judge_schedule;
pub use selector::{LabelSelector, SelectorError};
pub use survivors::judge_survivors;

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

    /// Builds an outcome from the facts and every failure found, one failure per line.
    pub(crate) fn from_findings(facts: BTreeMap<String, Value>, failures: Vec<String>) -> Self {
        let failure = (!failures.is_empty()).then(|| failures.join("\n"));
        Self { facts, failure }
    }

    /// Builds an outcome without facts, for an expectation that could not be judged at all.
    pub(crate) fn unjudged(failure: String) -> Self {
        Self {
            facts: BTreeMap::new(),
            failure: Some(failure),
        }
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
///
/// A pod counts when any recorded state of it matches `selector` and `owner`. Each field left
/// out is not judged.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodsExpectation {
    /// A label selector, as `kubectl -l` takes it. Default: every pod.
    #[serde(default)]
    pub selector: Option<String>,
    /// Only pods with an ownerReference to this object, directly or through their controller's
    /// own controller (a CronJob's pods through their Job). Default: any owner.
    #[serde(default)]
    pub owner: Option<Target>,
    /// Only pods created at or after the step marked with this name; the runner passes the
    /// mark's position as [`JudgeContext::from`]. Default: the whole recording.
    #[serde(default)]
    pub since: Option<String>,
    /// Number of pods created.
    #[serde(default)]
    pub created: Option<CountRange>,
    /// Number of pods that reached phase Succeeded.
    #[serde(default)]
    pub succeeded: Option<CountRange>,
    /// Number of pods that reached phase Failed. A pod deleted before it reached a terminal
    /// phase counts as neither succeeded nor failed.
    #[serde(default)]
    pub failed: Option<CountRange>,
    /// Maximum number of active pods at any instant (created, not terminal, not being
    /// deleted), which is how the Job controller counts them. An exact number means that
    /// number was reached and never exceeded; a range means the observed maximum lies in it.
    #[serde(default)]
    pub max_active: Option<CountRange>,
    /// Maximum number of pods in phase Running and not being deleted at any instant.
    #[serde(default)]
    pub max_running: Option<CountRange>,
    /// The relation between pod lifetimes.
    #[serde(default)]
    pub order: Option<PodOrder>,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    /// Without it, the expectation is judged once, on the recording so far.
    #[serde(default)]
    pub within: Option<Duration>,
}
/// The relation between pod lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PodOrder {
    /// Each pod is created only after every earlier pod stopped being active: it reached a
    /// terminal phase, or its deletion began.
    Sequential,
    /// At least two pods were active at the same instant.
    Overlapping,
}

/// `expect-ordinals`: the pods `<name>-0`, `<name>-1`, … of a StatefulSet.
///
/// A pod re-created under the same name is a separate incarnation. Each field left out is not
/// judged.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrdinalExpectation {
    /// Name of the StatefulSet.
    pub statefulset: String,
    /// Only pods created, and deletions begun, at or after the step marked with this name; the
    /// runner passes the mark's position as [`JudgeContext::from`]. Default: the whole
    /// recording.
    #[serde(default)]
    pub since: Option<String>,
    /// Exactly the ordinals created, in any order, such as `[0, 1, 2]`.
    #[serde(default)]
    pub created: Option<Vec<u32>>,
    /// Creation order: `ordered` means each pod is created only after its predecessor was
    /// Running and Ready (OrderedReady); `any` sets no requirement.
    #[serde(default)]
    pub creation: Option<OrdinalOrder>,
    /// Exactly the ordinals whose deletion began, in any order, such as `[2, 1]`.
    #[serde(default)]
    pub deleted: Option<Vec<u32>>,
    /// Deletion order: `reverse` means each pod's deletion begins only after every pod with a
    /// higher ordinal is gone; `any` sets no requirement.
    #[serde(default)]
    pub deletion: Option<OrdinalOrder>,
    /// Replacement order during a rolling update. `reverse` means pods begin terminating from
    /// the highest ordinal down, each only while every higher ordinal within `spec.replicas`
    /// is Running, Ready and not being deleted. `any` sets no requirement.
    #[serde(default)]
    pub replacement: Option<OrdinalOrder>,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    /// Without it, the expectation is judged once, on the recording so far.
    #[serde(default)]
    pub within: Option<Duration>,
}
/// Order of ordinal pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OrdinalOrder {
    /// Ascending, each pod after its predecessor is Running and Ready; for `creation` only.
    Ordered,
    /// Descending: for `deletion`, each pod after every higher ordinal is gone; for
    /// `replacement`, each pod while every higher ordinal is Running and Ready.
    Reverse,
    /// No requirement.
    Any,
}

/// `expect-placement`: the pods of a DaemonSet over the cluster's nodes, judged on the state
/// after the last recorded change.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlacementExpectation {
    /// Name of the DaemonSet.
    pub daemonset: String,
    /// The nodes that must have a daemon pod. Default: `eligible`.
    #[serde(default)]
    pub nodes: Option<NodeSet>,
    /// Expected number of nodes with a pod, as a cross-check of the eligibility computation.
    /// Default: not checked.
    #[serde(default)]
    pub count: Option<u32>,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    /// Without it, the expectation is judged once, on the recording so far.
    #[serde(default)]
    pub within: Option<Duration>,
}
/// The nodes on which `expect-placement` demands a daemon pod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NodeSet {
    /// One pod on every node whose NoSchedule and NoExecute taints the pod tolerates (with
    /// the tolerations the DaemonSet controller adds) and whose labels match its nodeSelector
    /// and required node affinity. No pod elsewhere, except that a pod may stay on a node
    /// whose only untolerated taints are NoSchedule, as it does in Kubernetes.
    #[default]
    Eligible,
    /// One pod on every node, control-plane nodes included.
    All,
}

/// `expect-survivors`: objects that must (or must not) outlive their deleted owner, judged on
/// the state after the last recorded change.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SurvivorExpectation {
    /// The owner, which must be gone.
    pub owner: Target,
    /// Kind of the dependent objects, by name or short name, such as `pvc`.
    pub kind: String,
    /// Names of the dependents. The default for a StatefulSet's claims is
    /// `<template>-<statefulset>-<ordinal>` for every volumeClaimTemplate and every ordinal of
    /// a pod it created. For other owners it is every object of `kind` that ever had an
    /// ownerReference to the owner.
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// True: every dependent still exists and is not being deleted. False: every dependent is
    /// gone.
    pub survive: bool,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    /// Without it, the expectation is judged once, on the recording so far.
    #[serde(default)]
    pub within: Option<Duration>,
}
/// `expect-schedule`: Jobs of a CronJob created at the instants its schedule gives.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScheduleExpectation {
    /// Name of the CronJob.
    pub cronjob: String,
    /// Number of Jobs the CronJob created since [`JudgeContext::from`]. Default: not judged.
    #[serde(default)]
    pub jobs: Option<CountRange>,
    /// How late after a scheduled instant a Job may be created. Default: 10s.
    #[serde(default)]
    pub tolerance: Option<Duration>,
    /// Whether every scheduled instant between the first and the last Job must have a Job.
    /// Default: true (false suits `concurrencyPolicy: Forbid`, which skips instants).
    #[serde(default)]
    pub every_instant: Option<bool>,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    /// Without it, the expectation is judged once, on the recording so far.
    #[serde(default)]
    pub within: Option<Duration>,
}
/// `expect-history`: finished Jobs a CronJob keeps.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HistoryExpectation {
    /// Name of the CronJob.
    pub cronjob: String,
    /// Most successful (Complete) Jobs kept. Default: the CronJob's last recorded
    /// `successfulJobsHistoryLimit`, which Kubernetes defaults to 3.
    #[serde(default)]
    pub successful: Option<u32>,
    /// Most failed Jobs kept. Default: the CronJob's last recorded `failedJobsHistoryLimit`,
    /// which Kubernetes defaults to 1.
    #[serde(default)]
    pub failed: Option<u32>,
    /// Whether a finished Job of the CronJob must have been deleted while the CronJob existed,
    /// which proves the limit was enforced rather than not reached. Default: false.
    #[serde(default)]
    pub enforced: Option<bool>,
    /// Whether the Jobs kept must be the most recently finished of each result, which is
    /// what the controller keeps when it deletes the oldest first. Default: false.
    #[serde(default)]
    pub newest: Option<bool>,
    /// How long the kept Jobs may exceed a limit, measured between the changes the recorder
    /// observed. The controller deletes the oldest finished Jobs in the sync after a Job
    /// finishes, so one Job too many is expected briefly. Default: 10s.
    #[serde(default)]
    pub grace: Option<Duration>,
    /// Keeps judging as changes arrive until the expectation holds, for at most this long.
    /// Without it, the expectation is judged once, on the recording so far.
    #[serde(default)]
    pub within: Option<Duration>,
}
/// The fact recorded for a count: the observed number when the expectation is exact (it then
/// equals the expectation), and the expectation itself when a range contains the observation,
/// because a count inside a range may differ between runs and facts must not.
pub(crate) fn count_fact(expected: &CountRange, observed: u32) -> Value {
    match expected {
        CountRange::Range { .. } if expected.contains(observed) => {
            Value::String(expected.to_string())
        }
        _ => Value::from(observed),
    }
}
