//! `expect-schedule`: the Jobs of a CronJob, created at the instants its schedule gives.
//!
//! The CronJob controller records each Job's scheduled time in the annotation
//! `batch.kubernetes.io/cronjob-scheduled-timestamp` (RFC 3339, Kubernetes 1.28 and later) and
//! names the Job `<cronjob>-<scheduled time in minutes since the Unix epoch>`. A Job's creation
//! time is its creationTimestamp, which the API server sets from the same clock the controller
//! schedules by. Its one-second resolution is fine against tolerances of seconds. Jobs without
//! one fall back to the moment the recorder saw them.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::crontab::{KubernetesSchedule, kubernetes_schedule};
use super::objects::{annotation, owner_refs};
use super::phrases::{NAME_LIMIT, expected_count, join_clauses, join_names};
use super::{JudgeContext, Outcome, ScheduleExpectation, count_fact};
use crate::recorder::timeline::{ObjectHistory, str_at};

/// The annotation in which the CronJob controller records a Job's scheduled time.
const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// How late a Job may be created when the expectation sets no tolerance.
const DEFAULT_TOLERANCE: TimeDelta = TimeDelta::seconds(10);

/// Judges `expect-schedule` over the recording from `ctx.from` on.
pub fn judge_schedule(exp: &ScheduleExpectation, ctx: &JudgeContext<'_>) -> Outcome {
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
    let spec_text = |field: &str| str_at(cronjob.last(), &["spec", field]);
    let schedule = match kubernetes_schedule(
        spec_text("schedule").unwrap_or_default(),
        spec_text("timeZone"),
    ) {
        Ok(schedule) => schedule,
        Err(error) => return Outcome::unjudged(format!("{owner} has an {error}")),
    };
    let origin = created_at(cronjob);
    let tolerance = exp
        .tolerance
        .and_then(|tolerance| TimeDelta::from_std(tolerance.0).ok())
        .unwrap_or(DEFAULT_TOLERANCE);

    let mut jobs: Vec<ScheduledJob<'_>> = ctx
        .timeline
        .histories("Job")
        .into_iter()
        .filter(|job| job.first_position() >= ctx.from)
        .filter(|job| {
            job.changes.iter().any(|(_, change)| {
                owner_refs(&change.object)
                    .iter()
                    .any(|r| r.kind == "CronJob" && r.name == exp.cronjob)
            })
        })
        .map(ScheduledJob::new)
        .collect();
    jobs.sort_by_key(|job| (job.scheduled, job.history.first_position()));

    let mut facts = BTreeMap::new();
    let mut failures = Vec::new();
    let names: Vec<&str> = jobs.iter().map(|job| job.history.name).collect();
    if let Some(expected) = &exp.jobs {
        let count = u32::try_from(jobs.len()).unwrap_or(u32::MAX);
        facts.insert("jobs".to_owned(), count_fact(expected, count));
        if !expected.contains(count) {
            let listed = if names.is_empty() {
                String::new()
            } else {
                format!(": {}", join_names(&names, NAME_LIMIT))
            };
            failures.push(format!(
                "expected {} created by {owner}; observed {count}{listed}",
                expected_count(expected, "Job", "Jobs")
            ));
        }
    }

    let judge = JobJudge {
        cronjob: &exp.cronjob,
        schedule: &schedule,
        origin,
        tolerance,
    };
    let problems: Vec<String> = jobs.iter().filter_map(|job| judge.problem(job)).collect();
    facts.insert("onSchedule".to_owned(), json!(problems.is_empty()));
    if !problems.is_empty() {
        failures.push(format!(
            "expected every Job of {owner} at an instant of its schedule `{}` ({}), named after \
             it and created within {} of it; {}",
            schedule.source(),
            describe_time_zone(schedule.time_zone()),
            humantime::format_duration(tolerance.to_std().unwrap_or_default()),
            join_clauses(&problems, NAME_LIMIT)
        ));
    }

    if exp.every_instant.unwrap_or(true) {
        let missed = missed_instants(&jobs, &schedule);
        facts.insert("missedInstants".to_owned(), json!(missed.len()));
        if !missed.is_empty() {
            let instants: Vec<String> = missed
                .iter()
                .map(|instant| format_instant(*instant, schedule.time_zone()))
                .collect();
            failures.push(format!(
                "expected a Job of {owner} for every scheduled instant between the first and the \
                 last Job; none for {}",
                join_names(&instants, NAME_LIMIT)
            ));
        }
    }

    Outcome::from_findings(facts, failures)
}

/// Returns when an object was created: its creationTimestamp, or when the recorder first saw it.
fn created_at(history: &ObjectHistory<'_>) -> DateTime<Utc> {
    str_at(history.first(), &["metadata", "creationTimestamp"])
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map_or(history.changes[0].1.observed_at, |time| {
            time.with_timezone(&Utc)
        })
}

/// A Job with its scheduled time, when its annotation gives a valid one.
struct ScheduledJob<'a> {
    history: ObjectHistory<'a>,
    scheduled: Option<DateTime<Utc>>,
    annotation: Option<&'a str>,
}

impl<'a> ScheduledJob<'a> {
    fn new(history: ObjectHistory<'a>) -> Self {
        let annotation = history
            .changes
            .iter()
            .find_map(|(_, change)| annotation(&change.object, SCHEDULED_TIMESTAMP));
        let scheduled = annotation
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.with_timezone(&Utc));
        Self {
            history,
            scheduled,
            annotation,
        }
    }
}

struct JobJudge<'a> {
    cronjob: &'a str,
    schedule: &'a KubernetesSchedule,
    origin: DateTime<Utc>,
    tolerance: TimeDelta,
}

impl JobJudge<'_> {
    /// Describes what is wrong with one Job, if anything.
    fn problem(&self, job: &ScheduledJob<'_>) -> Option<String> {
        let name = job.history.name;
        let Some(scheduled) = job.scheduled else {
            return Some(match job.annotation {
                None => format!(
                    "{name} has no {SCHEDULED_TIMESTAMP} annotation (the CronJob controller \
                     sets it since Kubernetes 1.28)"
                ),
                Some(text) => format!(
                    "{name} has an invalid {SCHEDULED_TIMESTAMP} annotation `{text}`, which is \
                     not RFC 3339"
                ),
            });
        };
        let time_zone = self.schedule.time_zone();
        let at = format_instant(scheduled, time_zone);

        let mut problems = Vec::new();
        if scheduled <= self.origin {
            problems.push(format!(
                "its scheduled time {at} is not after the CronJob's creation at {}",
                format_instant(self.origin, time_zone)
            ));
        } else if !self.schedule.is_instant(self.origin, scheduled) {
            let next = self
                .schedule
                .next_after(scheduled - TimeDelta::seconds(1))
                .map_or("none".to_owned(), |next| format_instant(next, time_zone));
            problems.push(format!(
                "its scheduled time {at} is not an instant of the schedule (the next one is {next})"
            ));
        }

        let expected_name = format!("{}-{}", self.cronjob, scheduled.timestamp().div_euclid(60));
        if name != expected_name {
            problems.push(format!(
                "it should be named {expected_name}, after its scheduled time in minutes since \
                 the Unix epoch"
            ));
        }

        let delay = created_at(&job.history) - scheduled;
        if delay < TimeDelta::zero() {
            problems.push(format!(
                "it was created {} before its scheduled time {at}",
                describe_delta(-delay)
            ));
        } else if delay > self.tolerance {
            problems.push(format!(
                "it was created {} after its scheduled time {at}",
                describe_delta(delay)
            ));
        }

        (!problems.is_empty()).then(|| format!("{name}: {}", problems.join(", and ")))
    }
}

/// Scheduled instants between the first and the last Job that no Job was created for.
fn missed_instants(jobs: &[ScheduledJob<'_>], schedule: &KubernetesSchedule) -> Vec<DateTime<Utc>> {
    let scheduled: Vec<DateTime<Utc>> = jobs.iter().filter_map(|job| job.scheduled).collect();
    let (Some(&first), Some(&last)) = (scheduled.first(), scheduled.last()) else {
        return Vec::new();
    };
    schedule
        .instants_after(first)
        .take_while(|instant| *instant < last)
        .filter(|instant| !scheduled.contains(instant))
        .collect()
}

fn describe_time_zone(time_zone: Tz) -> String {
    format!("time zone {}", time_zone.name())
}

/// Formats an instant in the schedule's time zone as RFC 3339, with `Z` for UTC.
fn format_instant(instant: DateTime<Utc>, time_zone: Tz) -> String {
    instant
        .with_timezone(&time_zone)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn describe_delta(delta: TimeDelta) -> String {
    humantime::format_duration(delta.to_std().unwrap_or_default()).to_string()
}

#[cfg(test)]
mod tests;
