//! Job names use minutes since the Unix epoch: 2024-01-01T00:00:00Z is minute 28401120.

use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::judge_schedule;
use crate::assert::testing::{Object, Recording, assert_message_snapshot, render_outcome};
use crate::assert::{JudgeContext, Outcome, ScheduleExpectation};
use crate::recorder::timeline::Timeline;

fn expectation(yaml: &str) -> ScheduleExpectation {
    serde_yaml::from_str(yaml).expect("test expectations are valid YAML")
}

fn cronjob(schedule: &str, time_zone: Option<&str>, created: &str) -> Object {
    let cronjob = Object::named("nightly")
        .created(created)
        .set(&["spec", "schedule"], json!(schedule));
    match time_zone {
        Some(zone) => cronjob.set(&["spec", "timeZone"], json!(zone)),
        None => cronjob,
    }
}

/// Builds a Job of cronjob/nightly with its name, scheduled time annotation and
/// creationTimestamp.
fn job(name: &str, scheduled: Option<&str>, created: &str) -> Object {
    let job = Object::named(name)
        .owner("CronJob", "nightly")
        .created(created);
    match scheduled {
        Some(scheduled) => {
            job.annotation("batch.kubernetes.io/cronjob-scheduled-timestamp", scheduled)
        }
        None => job,
    }
}

fn recording(cronjob: Object, jobs: Vec<Object>) -> Timeline {
    let mut recording = Recording::new().add("CronJob", cronjob);
    for job in jobs {
        recording = recording.wait(60).add("Job", job);
    }
    recording.build()
}

fn every_five_minutes(jobs: Vec<Object>) -> Timeline {
    recording(cronjob("*/5 * * * *", None, "2024-01-01T00:00:00Z"), jobs)
}

fn on_time(minute: u32) -> Object {
    job(
        &format!("nightly-{}", 28401120 + minute),
        Some(&format!("2024-01-01T00:{minute:02}:00Z")),
        &format!("2024-01-01T00:{minute:02}:01Z"),
    )
}

fn three_jobs() -> Timeline {
    every_five_minutes(vec![on_time(5), on_time(10), on_time(15)])
}

fn skipped() -> Timeline {
    every_five_minutes(vec![on_time(5), on_time(15), on_time(30)])
}

fn berlin(hour_utc: u32) -> Timeline {
    let cronjob = cronjob("0 9 * * *", Some("Europe/Berlin"), "2024-01-01T00:00:00Z");
    let jobs = (0..2)
        .map(|day| {
            let minute = 28401120 + day * 1440 + hour_utc * 60;
            let local_hour = hour_utc + 1;
            job(
                &format!("nightly-{minute}"),
                Some(&format!("2024-01-0{}T{local_hour:02}:00:00+01:00", day + 1)),
                &format!("2024-01-0{}T{hour_utc:02}:00:02Z", day + 1),
            )
        })
        .collect();
    recording(cronjob, jobs)
}

fn every_two_minutes() -> Timeline {
    recording(
        cronjob("@every 2m", None, "2024-01-01T00:00:30Z"),
        vec![
            job(
                "nightly-28401122",
                Some("2024-01-01T00:02:30Z"),
                "2024-01-01T00:02:30Z",
            ),
            job(
                "nightly-28401124",
                Some("2024-01-01T00:04:30Z"),
                "2024-01-01T00:04:31Z",
            ),
        ],
    )
}

fn late() -> Timeline {
    every_five_minutes(vec![
        on_time(5),
        job(
            "nightly-28401130",
            Some("2024-01-01T00:10:00Z"),
            "2024-01-01T00:10:25Z",
        ),
    ])
}

fn judge(timeline: &Timeline, yaml: &str, from: usize) -> Outcome {
    let context = JudgeContext { timeline, from };
    judge_schedule(&expectation(yaml), &context)
}

#[rstest]
#[case::every_five_minutes(
    three_jobs(),
    "cronjob: nightly\njobs: 3",
    0,
    json!({"jobs": 3, "onSchedule": true, "missedInstants": 0})
)]
#[case::skipped_instant_allowed(
    skipped(),
    "cronjob: nightly\neveryInstant: false",
    0,
    json!({"onSchedule": true})
)]
#[case::time_zone(
    berlin(8),
    "cronjob: nightly\njobs: 2",
    0,
    json!({"jobs": 2, "onSchedule": true, "missedInstants": 0})
)]
#[case::every_interval(
    every_two_minutes(),
    "cronjob: nightly\njobs: {min: 2}",
    0,
    json!({"jobs": "at least 2", "onSchedule": true, "missedInstants": 0})
)]
#[case::wider_tolerance(
    late(),
    "cronjob: nightly\ntolerance: 30s",
    0,
    json!({"onSchedule": true, "missedInstants": 0})
)]
#[case::since_mark(
    three_jobs(),
    "cronjob: nightly\njobs: 2",
    2,
    json!({"jobs": 2, "onSchedule": true, "missedInstants": 0})
)]
fn judge_schedule_passes(
    #[case] timeline: Timeline,
    #[case] yaml: &str,
    #[case] from: usize,
    #[case] facts: Value,
) {
    let outcome = judge(&timeline, yaml, from);

    assert_eq!(outcome.failure, None);
    assert_eq!(json!(outcome.facts), facts);
}

#[rstest]
#[case::missed_instants(skipped(), "cronjob: nightly")]
#[case::late_job(late(), "cronjob: nightly")]
#[case::early_job(
    every_five_minutes(vec![
        job("nightly-28401130", Some("2024-01-01T00:10:00Z"), "2024-01-01T00:09:58Z"),
    ]),
    "cronjob: nightly"
)]
#[case::off_schedule(
    every_five_minutes(vec![
        job("nightly-28401127", Some("2024-01-01T00:07:00Z"), "2024-01-01T00:07:00Z"),
    ]),
    "cronjob: nightly"
)]
#[case::wrong_name(
    every_five_minutes(vec![
        job("nightly-1", Some("2024-01-01T00:10:00Z"), "2024-01-01T00:10:00Z"),
    ]),
    "cronjob: nightly"
)]
#[case::missing_annotation(
    every_five_minutes(vec![job("nightly-28401130", None, "2024-01-01T00:10:00Z")]),
    "cronjob: nightly"
)]
#[case::invalid_annotation(
    every_five_minutes(vec![job("nightly-28401130", Some("yesterday"), "2024-01-01T00:10:00Z")]),
    "cronjob: nightly"
)]
#[case::before_creation(
    every_five_minutes(vec![
        job("nightly-28401115", Some("2023-12-31T23:55:00Z"), "2023-12-31T23:55:00Z"),
    ]),
    "cronjob: nightly"
)]
#[case::utc_instead_of_local(berlin(9), "cronjob: nightly")]
#[case::count_differs(three_jobs(), "cronjob: nightly\njobs: 4")]
#[case::no_jobs(every_five_minutes(vec![]), "cronjob: nightly\njobs: {min: 1}")]
#[case::cronjob_missing(Recording::new().build(), "cronjob: nightly")]
#[case::invalid_schedule(
    recording(cronjob("*/5 * * * 7", None, "2024-01-01T00:00:00Z"), vec![]),
    "cronjob: nightly"
)]
#[case::invalid_time_zone(
    recording(cronjob("0 9 * * *", Some("Europe/Berlln"), "2024-01-01T00:00:00Z"), vec![]),
    "cronjob: nightly"
)]
fn judge_schedule_fails(
    #[context] context: Context,
    #[case] timeline: Timeline,
    #[case] yaml: &str,
) {
    let outcome = judge(&timeline, yaml, 0);

    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert_message_snapshot!(context, render_outcome(&outcome));
}
