use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::judge_history;
use crate::assert::testing::{Object, Recording, assert_message_snapshot, render_outcome};
use crate::assert::{HistoryExpectation, JudgeContext, Outcome};
use crate::recorder::timeline::Timeline;

fn expectation(yaml: &str) -> HistoryExpectation {
    serde_yaml::from_str(yaml).expect("test expectations are valid YAML")
}

fn cronjob(successful: Option<u32>, failed: Option<u32>) -> Object {
    let mut cronjob = Object::named("nightly").set(&["spec", "schedule"], json!("* * * * *"));
    if let Some(limit) = successful {
        cronjob = cronjob.set(&["spec", "successfulJobsHistoryLimit"], json!(limit));
    }
    if let Some(limit) = failed {
        cronjob = cronjob.set(&["spec", "failedJobsHistoryLimit"], json!(limit));
    }
    cronjob
}

fn job(name: &str) -> Object {
    Object::named(name).owner("CronJob", "nightly")
}

/// Creates a Job and, a minute later, finishes it with `condition` (Complete or Failed).
fn finish(recording: Recording, name: &str, condition: &str) -> Recording {
    recording
        .wait(1)
        .add("Job", job(name))
        .wait(59)
        .modify("Job", job(name).condition(condition, "True"))
}

/// Removes a finished Job `after` seconds later, as the controller's cleanup does.
fn clean(recording: Recording, name: &str, condition: &str, after: i64) -> Recording {
    recording
        .wait(after)
        .delete("Job", job(name).condition(condition, "True"))
}

/// Limit 2: four Jobs complete, and each excess is removed `cleanup` seconds later.
fn cleaned_after(cleanup: i64) -> Recording {
    let recording = Recording::new().add("CronJob", cronjob(Some(2), Some(1)));
    let recording = finish(recording, "nightly-1", "Complete");
    let recording = finish(recording, "nightly-2", "Complete");
    let recording = finish(recording, "nightly-3", "Complete");
    let recording = clean(recording, "nightly-1", "Complete", cleanup);
    let recording = finish(recording, "nightly-4", "Complete");
    clean(recording, "nightly-2", "Complete", cleanup)
}

/// Limit 2: three Jobs complete and the newest is removed, which keeps the two oldest.
fn newest_removed() -> Timeline {
    let recording = Recording::new().add("CronJob", cronjob(Some(2), Some(1)));
    let recording = finish(recording, "nightly-1", "Complete");
    let recording = finish(recording, "nightly-2", "Complete");
    let recording = finish(recording, "nightly-3", "Complete");
    clean(recording, "nightly-3", "Complete", 2).build()
}

/// Limit 2 with two Jobs completed: the limit was never reached.
fn under_limit() -> Timeline {
    let recording = Recording::new().add("CronJob", cronjob(Some(2), Some(1)));
    let recording = finish(recording, "nightly-1", "Complete");
    finish(recording, "nightly-2", "Complete").build()
}

/// Limit 2 with three Jobs completed and none removed.
fn never_cleaned() -> Timeline {
    let recording = Recording::new().add("CronJob", cronjob(Some(2), Some(1)));
    let recording = finish(recording, "nightly-1", "Complete");
    let recording = finish(recording, "nightly-2", "Complete");
    finish(recording, "nightly-3", "Complete").build()
}

/// Default limits (3 successful, 1 failed): two failures and a success, the first failure
/// removed when the second fails.
fn failures() -> Timeline {
    let recording = Recording::new().add("CronJob", cronjob(None, None));
    let recording = finish(recording, "nightly-1", "Failed");
    let recording = finish(recording, "nightly-2", "Failed");
    let recording = clean(recording, "nightly-1", "Failed", 1);
    finish(recording, "nightly-3", "Complete").build()
}

/// Records the CronJob's deletion and then its Jobs' removal by the garbage collector.
fn collected_with_owner() -> Timeline {
    let recording = Recording::new().add("CronJob", cronjob(Some(2), Some(1)));
    let recording = finish(recording, "nightly-1", "Complete");
    let recording = recording
        .wait(5)
        .modify("CronJob", cronjob(Some(2), Some(1)).terminating())
        .delete("CronJob", cronjob(Some(2), Some(1)).terminating());
    clean(recording, "nightly-1", "Complete", 1).build()
}

fn judge(timeline: &Timeline, yaml: &str) -> Outcome {
    let context = JudgeContext { timeline, from: 0 };
    judge_history(&expectation(yaml), &context)
}

#[rstest]
#[case::enforced_quickly(
    cleaned_after(1).build(),
    "cronjob: nightly\nenforced: true",
    json!({"successful": 2, "failed": 0, "enforced": true})
)]
#[case::slow_cleanup_within_grace(
    cleaned_after(30).build(),
    "cronjob: nightly\ngrace: 1m",
    json!({"successful": 2, "failed": 0})
)]
#[case::limit_not_reached(under_limit(), "cronjob: nightly", json!({"successful": 2, "failed": 0}))]
#[case::newest_kept(
    cleaned_after(2).build(),
    "cronjob: nightly\nnewest: true",
    json!({"successful": 2, "failed": 0, "newest": true})
)]
#[case::not_enforced_allowed(
    under_limit(),
    "cronjob: nightly\nenforced: false",
    json!({"successful": 2, "failed": 0, "enforced": false})
)]
#[case::expectation_overrides_limit(
    never_cleaned(),
    "cronjob: nightly\nsuccessful: 3",
    json!({"successful": 3, "failed": 0})
)]
#[case::default_limits(
    failures(),
    "cronjob: nightly\nenforced: true",
    json!({"successful": 1, "failed": 1, "enforced": true})
)]
fn judge_history_passes(#[case] timeline: Timeline, #[case] yaml: &str, #[case] facts: Value) {
    let outcome = judge(&timeline, yaml);

    assert_eq!(outcome.failure, None);
    assert_eq!(json!(outcome.facts), facts);
}

#[rstest]
#[case::slow_cleanup(cleaned_after(30).build(), "cronjob: nightly")]
#[case::never_cleaned(never_cleaned(), "cronjob: nightly")]
#[case::newest_removed(newest_removed(), "cronjob: nightly\nnewest: true")]
#[case::not_enforced(under_limit(), "cronjob: nightly\nenforced: true")]
#[case::failed_over_limit(failures(), "cronjob: nightly\nfailed: 0")]
#[case::collected_with_owner(collected_with_owner(), "cronjob: nightly\nenforced: true")]
#[case::cronjob_missing(Recording::new().build(), "cronjob: nightly")]
fn judge_history_fails(
    #[context] context: Context,
    #[case] timeline: Timeline,
    #[case] yaml: &str,
) {
    let outcome = judge(&timeline, yaml);

    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert_message_snapshot!(context, render_outcome(&outcome));
}
