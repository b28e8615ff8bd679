use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::judge_pods;
use crate::assert::testing::{Object, Recording, assert_message_snapshot, render_outcome};
use crate::assert::{JudgeContext, PodsExpectation};
use crate::recorder::timeline::Timeline;

fn expectation(yaml: &str) -> PodsExpectation {
    serde_yaml::from_str(yaml).expect("test expectations are valid YAML")
}

fn pod(name: &str) -> Object {
    Object::named(name).owner("Job", "pi").label("app", "pi")
}

/// Adds, runs and finishes one pod of job/pi.
fn run(recording: Recording, name: &str, outcome: &str) -> Recording {
    recording
        .add("Pod", pod(name).phase("Pending"))
        .modify("Pod", pod(name).running(true))
        .modify("Pod", pod(name).phase(outcome))
}

/// Builds one pod of job/pi with restartPolicy OnFailure whose container failed twice and
/// was restarted in the pod.
fn restarted() -> Timeline {
    let pod = pod("pi-a").set(&["spec", "restartPolicy"], json!("OnFailure"));
    Recording::new()
        .add("Pod", pod.clone().phase("Pending"))
        .modify(
            "Pod",
            pod.running(true).set(
                &["status", "containerStatuses"],
                json!([{"restartCount": 2}]),
            ),
        )
        .build()
}

/// Three pods of job/pi, each created after the one before succeeded.
fn sequential() -> Timeline {
    let recording = Recording::new().add("Job", Object::named("pi"));
    let recording = run(recording, "pi-a", "Succeeded");
    let recording = run(recording, "pi-b", "Succeeded");
    run(recording, "pi-c", "Succeeded").build()
}

/// Three pods of job/pi with parallelism 2: pi-a and pi-b overlap, pi-c replaces pi-a.
fn parallel() -> Timeline {
    Recording::new()
        .add("Pod", pod("pi-a").phase("Pending"))
        .add("Pod", pod("pi-b").phase("Pending"))
        .modify("Pod", pod("pi-a").running(true))
        .modify("Pod", pod("pi-b").running(true))
        .modify("Pod", pod("pi-a").phase("Succeeded"))
        .add("Pod", pod("pi-c").phase("Pending"))
        .modify("Pod", pod("pi-b").phase("Succeeded"))
        .modify("Pod", pod("pi-c").running(true))
        .modify("Pod", pod("pi-c").phase("Succeeded"))
        .build()
}

/// Two failed attempts and a success of job/pi, next to a web pod and a pod of another Job.
fn retries() -> Timeline {
    let recording = Recording::new()
        .add(
            "Pod",
            Object::named("web-1").label("app", "web").running(true),
        )
        .add(
            "Pod",
            Object::named("other-a").owner("Job", "other").running(true),
        );
    let recording = run(recording, "pi-a", "Failed");
    let recording = run(recording, "pi-b", "Failed");
    run(recording, "pi-c", "Succeeded").build()
}

/// Records a pod deleted while Running, and its replacement created while it terminated.
fn replaced() -> Timeline {
    Recording::new()
        .add("Pod", pod("pi-a").phase("Pending"))
        .modify("Pod", pod("pi-a").running(true))
        .modify("Pod", pod("pi-a").running(true).terminating())
        .add("Pod", pod("pi-b").phase("Pending"))
        .delete("Pod", pod("pi-a").running(true).terminating())
        .modify("Pod", pod("pi-b").running(true))
        .modify("Pod", pod("pi-b").phase("Succeeded"))
        .build()
}

/// Pods of a Job that a CronJob created.
fn scheduled() -> Timeline {
    let job_pod = |name: &str| Object::named(name).owner("Job", "nightly-1");
    Recording::new()
        .add("CronJob", Object::named("nightly"))
        .add(
            "Job",
            Object::named("nightly-1").owner("CronJob", "nightly"),
        )
        .add("Pod", job_pod("nightly-1-a").phase("Pending"))
        .modify("Pod", job_pod("nightly-1-a").phase("Succeeded"))
        .build()
}

fn judge(timeline: &Timeline, yaml: &str, from: usize) -> crate::assert::Outcome {
    let context = JudgeContext { timeline, from };
    judge_pods(&expectation(yaml), &context)
}

#[rstest]
#[case::sequential_three_pods(
    sequential(),
    "owner: job/pi\ncreated: 3\nsucceeded: 3\nfailed: 0\nmaxActive: 1\nmaxRunning: 1\n\
     order: sequential",
    0,
    json!({"created": 3, "succeeded": 3, "failed": 0, "maxActive": 1, "maxRunning": 1,
           "order": "sequential"})
)]
#[case::parallel_overlap(
    parallel(),
    "owner: job/pi\ncreated: 3\nmaxActive: 2\nmaxRunning: {max: 2}\norder: overlapping",
    0,
    json!({"created": 3, "maxActive": 2, "maxRunning": "at most 2", "order": "overlapping"})
)]
#[case::active_range(
    parallel(),
    "owner: job/pi\nmaxActive: {min: 1, max: 3}",
    0,
    json!({"maxActive": "1 to 3"})
)]
#[case::retries_counted(
    retries(),
    "owner: job/pi\ncreated: 3\nfailed: 2\nsucceeded: 1\norder: sequential",
    0,
    json!({"created": 3, "failed": 2, "succeeded": 1, "order": "sequential"})
)]
#[case::selector_only(
    retries(),
    "selector: app=web\ncreated: 1\nmaxRunning: 1",
    0,
    json!({"created": 1, "maxRunning": 1})
)]
#[case::selector_and_owner(
    retries(),
    "selector: 'app in (pi, web)'\nowner: job/pi\ncreated: 3",
    0,
    json!({"created": 3})
)]
#[case::replacement_while_terminating(
    replaced(),
    "owner: job/pi\ncreated: 2\nsucceeded: 1\nfailed: 0\nmaxActive: 1\norder: sequential",
    0,
    json!({"created": 2, "succeeded": 1, "failed": 0, "maxActive": 1, "order": "sequential"})
)]
#[case::since_mark(
    sequential(),
    "owner: job/pi\nsince: second\ncreated: 2\nsucceeded: 2",
    4,
    json!({"created": 2, "succeeded": 2})
)]
#[case::owner_through_job(
    scheduled(),
    "owner: cronjob/nightly\ncreated: 1\nsucceeded: 1",
    0,
    json!({"created": 1, "succeeded": 1})
)]
#[case::no_fields(sequential(), "owner: job/pi", 0, json!({}))]
fn judge_pods_passes(
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
#[case::max_active_not_reached(sequential(), "owner: job/pi\nmaxActive: 2", 0)]
#[case::max_active_exceeded(parallel(), "owner: job/pi\nmaxActive: 1", 0)]
#[case::max_active_range(parallel(), "owner: job/pi\nmaxActive: {min: 3}", 0)]
#[case::max_running_exceeded(parallel(), "owner: job/pi\nmaxRunning: 1", 0)]
#[case::max_running_none(parallel(), "owner: job/pi\nsince: late\nmaxRunning: 1", 9)]
#[case::created_too_many(retries(), "owner: job/pi\ncreated: 1", 0)]
#[case::created_short_restarted_in_place(restarted(), "owner: job/pi\ncreated: 3", 0)]
#[case::succeeded_short(retries(), "owner: job/pi\nsucceeded: 3", 0)]
#[case::failed_unexpected(retries(), "owner: job/pi\nfailed: 0", 0)]
#[case::deleted_not_failed(replaced(), "owner: job/pi\nfailed: 1", 0)]
#[case::order_not_sequential(parallel(), "owner: job/pi\norder: sequential", 0)]
#[case::order_not_overlapping(sequential(), "owner: job/pi\norder: overlapping", 0)]
#[case::no_pods(sequential(), "owner: job/other\ncreated: {min: 1}\nmaxActive: 1", 0)]
#[case::several_failures(
    parallel(),
    "owner: job/pi\ncreated: 2\nmaxActive: 1\norder: sequential",
    0
)]
#[case::invalid_selector(parallel(), "selector: 'app in (pi'\ncreated: 3", 0)]
fn judge_pods_fails(
    #[context] context: Context,
    #[case] timeline: Timeline,
    #[case] yaml: &str,
    #[case] from: usize,
) {
    let outcome = judge(&timeline, yaml, from);

    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert_message_snapshot!(context, render_outcome(&outcome));
}
