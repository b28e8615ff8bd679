//! `expect-history`: the finished Jobs a CronJob keeps, against its history limits.
//!
//! A Job counts as kept while it exists without a deletionTimestamp; it is successful with
//! condition Complete=True and failed with condition Failed=True. The CronJob controller
//! removes the oldest finished Jobs in the sync after one finishes, so a limit can be exceeded
//! by one Job for a moment. The judgement is therefore "settled": at the end of the recording
//! no limit is exceeded, and no excess lasted longer than the grace period, measured between
//! the recorder's observation times of the changes that began and ended it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::lifecycle::{deletion_started_at, state_at};
use super::objects::{JobResult, is_terminating, job_result, owner_refs};
use super::phrases::{NAME_LIMIT, count_noun, join_names};
use super::{HistoryExpectation, JudgeContext, Outcome};
use crate::recorder::timeline::{ChangeKind, ObjectHistory, value_at};

/// How long a limit may be exceeded when the expectation sets no grace period.
const DEFAULT_GRACE: TimeDelta = TimeDelta::seconds(10);

/// Judges `expect-history` over the recording, reporting excesses from `ctx.from` on.
pub fn judge_history(exp: &HistoryExpectation, ctx: &JudgeContext<'_>) -> Outcome {
    let owner = format!("cronjob/{}", exp.cronjob);
    let cronjobs: Vec<ObjectHistory<'_>> = ctx
        .timeline
        .histories("CronJob")
        .into_iter()
        .filter(|history| history.name == exp.cronjob)
        .collect();
    let Some(cronjob) = cronjobs.last() else {
        return Outcome::unjudged(format!("{owner} does not exist"));
    };
    let limit_of = |field: &str, default: u32| {
        value_at(cronjob.last(), &["spec", field])
            .and_then(serde_json::Value::as_u64)
            .and_then(|limit| u32::try_from(limit).ok())
            .unwrap_or(default)
    };
    let limits = [
        Limit {
            result: JobResult::Complete,
            adjective: "successful",
            max: exp
                .successful
                .unwrap_or_else(|| limit_of("successfulJobsHistoryLimit", 3)),
        },
        Limit {
            result: JobResult::Failed,
            adjective: "failed",
            max: exp
                .failed
                .unwrap_or_else(|| limit_of("failedJobsHistoryLimit", 1)),
        },
    ];
    let grace = exp
        .grace
        .and_then(|grace| TimeDelta::from_std(grace.0).ok())
        .unwrap_or(DEFAULT_GRACE);

    let jobs: Vec<ObjectHistory<'_>> = ctx
        .timeline
        .histories("Job")
        .into_iter()
        .filter(|job| {
            job.changes.iter().any(|(_, change)| {
                owner_refs(&change.object)
                    .iter()
                    .any(|r| r.kind == "CronJob" && r.name == exp.cronjob)
            })
        })
        .collect();
    let sweep = sweep(ctx, &jobs, &limits);

    let mut facts = BTreeMap::new();
    let mut failures = Vec::new();
    for (index, limit) in limits.iter().enumerate() {
        let kept_at_end = &sweep.kept_at_end[index];
        let count = u32::try_from(kept_at_end.len()).unwrap_or(u32::MAX);
        facts.insert(limit.adjective.to_owned(), json!(count));
        if count > limit.max {
            failures.push(format!(
                "expected {owner} to keep at most {}; it keeps {count} at the end: {}",
                count_noun(
                    limit.max,
                    &format!("{} Job", limit.adjective),
                    &format!("{} Jobs", limit.adjective)
                ),
                join_names(kept_at_end, NAME_LIMIT)
            ));
        }
        for episode in &sweep.episodes[index] {
            let Some(end) = episode.end else { continue };
            let lasted = end - episode.start;
            if lasted > grace && episode.end_position >= ctx.from {
                failures.push(format!(
                    "expected {owner} to remove {} Jobs beyond its limit of {} within {}; it kept \
                     {} for {} after {} finished: {}",
                    limit.adjective,
                    limit.max,
                    describe(grace),
                    episode.peak.len(),
                    describe(lasted),
                    episode.trigger,
                    join_names(&episode.peak, NAME_LIMIT)
                ));
            }
        }
    }

    if exp.newest == Some(true) {
        let mut all_newest = true;
        for (index, limit) in limits.iter().enumerate() {
            let kept_at_end = &sweep.kept_at_end[index];
            let newest = newest_finished(&jobs, limit.result, kept_at_end.len());
            if kept_at_end.iter().any(|name| !newest.contains(name)) {
                all_newest = false;
                failures.push(format!(
                    "expected {owner} to keep its newest {} Jobs ({}); it keeps {}",
                    limit.adjective,
                    join_names(&newest, NAME_LIMIT),
                    join_names(kept_at_end, NAME_LIMIT)
                ));
            }
        }
        facts.insert("newest".to_owned(), json!(all_newest));
    }

    if let Some(required) = exp.enforced {
        let deleted = enforcement_deletions(ctx, &jobs, &cronjobs);
        facts.insert("enforced".to_owned(), json!(!deleted.is_empty()));
        if required && deleted.is_empty() {
            failures.push(format!(
                "expected {owner} to delete a finished Job to keep its history limits \
                 (enforced: true); no finished Job was deleted while the CronJob existed, and it \
                 keeps {} successful and {} failed against limits of {} and {}",
                sweep.kept_at_end[0].len(),
                sweep.kept_at_end[1].len(),
                limits[0].max,
                limits[1].max
            ));
        }
    }

    Outcome::from_findings(facts, failures)
}

struct Limit {
    result: JobResult,
    adjective: &'static str,
    max: u32,
}

/// A stretch of the recording in which more Jobs of one result were kept than the limit.
struct Episode<'a> {
    start: DateTime<Utc>,
    /// When the excess ended; `None` when it lasted to the end of the recording.
    end: Option<DateTime<Utc>>,
    end_position: usize,
    /// The Job whose finishing began the excess.
    trigger: &'a str,
    /// The Jobs kept when the excess was largest.
    peak: Vec<&'a str>,
}

struct Sweep<'a> {
    /// Per limit: names of the Jobs kept after the last change.
    kept_at_end: [Vec<&'a str>; 2],
    /// Per limit: every excess, in order.
    episodes: [Vec<Episode<'a>>; 2],
}

/// Replays the Jobs' changes, counting kept Jobs per result after each one.
fn sweep<'a>(ctx: &JudgeContext<'a>, jobs: &[ObjectHistory<'a>], limits: &[Limit; 2]) -> Sweep<'a> {
    let owned: HashSet<&str> = jobs.iter().map(|job| job.uid).collect();
    let mut kept: HashMap<&'a str, (&'a str, Option<JobResult>)> = HashMap::new();
    let mut episodes: [Vec<Episode<'a>>; 2] = [Vec::new(), Vec::new()];

    for (position, change) in ctx.timeline.changes().iter().enumerate() {
        if change.kind != "Job" || !owned.contains(change.uid()) {
            continue;
        }
        if change.change == ChangeKind::Deleted || is_terminating(&change.object) {
            kept.remove(change.uid());
        } else {
            kept.insert(change.uid(), (change.name(), job_result(&change.object)));
        }

        for (index, limit) in limits.iter().enumerate() {
            let mut names: Vec<&'a str> = kept
                .values()
                .filter(|(_, result)| *result == Some(limit.result))
                .map(|(name, _)| *name)
                .collect();
            names.sort_unstable();
            let count = u32::try_from(names.len()).unwrap_or(u32::MAX);
            let open = episodes[index]
                .last_mut()
                .filter(|episode| episode.end.is_none());
            match (open, count > limit.max) {
                (None, true) => episodes[index].push(Episode {
                    start: change.observed_at,
                    end: None,
                    end_position: position,
                    trigger: change.name(),
                    peak: names,
                }),
                (Some(episode), true) => {
                    if names.len() > episode.peak.len() {
                        episode.peak = names;
                    }
                }
                (Some(episode), false) => {
                    episode.end = Some(change.observed_at);
                    episode.end_position = position;
                }
                (None, false) => {}
            }
        }
    }

    let kept_names = |result: JobResult| {
        let mut names: Vec<&'a str> = kept
            .values()
            .filter(|(_, kept_result)| *kept_result == Some(result))
            .map(|(name, _)| *name)
            .collect();
        names.sort_unstable();
        names
    };
    Sweep {
        kept_at_end: [kept_names(limits[0].result), kept_names(limits[1].result)],
        episodes,
    }
}

/// Names of the `count` Jobs that reached `result` last, in the order they reached it.
fn newest_finished<'a>(
    jobs: &[ObjectHistory<'a>],
    result: JobResult,
    count: usize,
) -> Vec<&'a str> {
    let mut finished: Vec<(usize, &'a str)> = jobs
        .iter()
        .filter_map(|job| {
            let position = job.first_position_where(|state| job_result(state) == Some(result))?;
            Some((position, job.name))
        })
        .collect();
    finished.sort_unstable();
    let skip = finished.len().saturating_sub(count);
    finished
        .into_iter()
        .skip(skip)
        .map(|(_, name)| name)
        .collect()
}

/// Finished Jobs whose deletion began from `ctx.from` on while the CronJob existed and was
/// not being deleted itself, which rules out the garbage collector removing them with it.
fn enforcement_deletions<'a>(
    ctx: &JudgeContext<'_>,
    jobs: &[ObjectHistory<'a>],
    cronjobs: &[ObjectHistory<'_>],
) -> Vec<&'a str> {
    jobs.iter()
        .filter_map(|job| {
            let deleted_at = deletion_started_at(job)?;
            let finished = job
                .changes
                .iter()
                .take_while(|(position, _)| *position <= deleted_at)
                .any(|(_, change)| job_result(&change.object).is_some());
            let owner_alive = cronjobs.iter().any(|cronjob| {
                state_at(cronjob, deleted_at).is_some_and(|state| !is_terminating(state))
            });
            (finished && owner_alive && deleted_at >= ctx.from).then_some(job.name)
        })
        .collect()
}

fn describe(delta: TimeDelta) -> String {
    humantime::format_duration(delta.to_std().unwrap_or_default()).to_string()
}

#[cfg(test)]
mod tests;
