use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::{judge_ordinals, parse_ordinal};
use crate::assert::testing::{Object, Recording, assert_message_snapshot, render_outcome};
use crate::assert::{JudgeContext, OrdinalExpectation, Outcome};
use crate::recorder::timeline::Timeline;

fn expectation(yaml: &str) -> OrdinalExpectation {
    serde_yaml::from_str(yaml).expect("test expectations are valid YAML")
}

fn pod(name: &str) -> Object {
    Object::named(name).owner("StatefulSet", "web")
}

fn statefulset() -> Object {
    Object::named("web").set(&["spec", "replicas"], json!(3))
}

/// Creates a pod and makes it Running and Ready.
fn start(recording: Recording, name: &str) -> Recording {
    recording
        .add("Pod", pod(name).phase("Pending"))
        .modify("Pod", pod(name).running(false))
        .modify("Pod", pod(name).running(true))
}

/// Removes a pod the way a graceful delete does: deletionTimestamp first, then the removal.
fn stop(recording: Recording, name: &str) -> Recording {
    recording
        .modify("Pod", pod(name).running(true).terminating())
        .delete("Pod", pod(name).running(true).terminating())
}

/// OrderedReady scale-up to three pods; 10 changes.
fn ordered() -> Recording {
    let recording = Recording::new().add("StatefulSet", statefulset());
    let recording = start(recording, "web-0");
    let recording = start(recording, "web-1");
    start(recording, "web-2")
}

/// Parallel pod management: all three pods created before any is Ready.
fn parallel() -> Timeline {
    Recording::new()
        .add("StatefulSet", statefulset())
        .add("Pod", pod("web-0").phase("Pending"))
        .add("Pod", pod("web-1").phase("Pending"))
        .add("Pod", pod("web-2").phase("Pending"))
        .modify("Pod", pod("web-1").running(true))
        .modify("Pod", pod("web-0").running(true))
        .modify("Pod", pod("web-2").running(true))
        .build()
}

/// Scale-down from three pods to one, in reverse order, after position 10.
fn scaled_down() -> Timeline {
    let recording = ordered();
    let recording = stop(recording, "web-2");
    stop(recording, "web-1").build()
}

/// Cascading deletion by the garbage collector, in no particular order, after position 10.
fn cascaded() -> Timeline {
    let recording = ordered();
    let recording = stop(recording, "web-0");
    let recording = stop(recording, "web-2");
    stop(recording, "web-1").build()
}

/// web-1 deleted and re-created with a new uid while web-0 stayed Ready, plus pods that are
/// not ordinals of web: a leading zero, another controller, another StatefulSet.
fn recreated() -> Timeline {
    let recording = Recording::new().add("StatefulSet", statefulset());
    let recording = start(recording, "web-0");
    let recording = start(recording, "web-1");
    let recording = stop(recording, "web-1");
    let recording = start(recording, "web-01");
    recording
        .add(
            "Pod",
            Object::named("web-1")
                .uid("web-1-second")
                .owner("StatefulSet", "web"),
        )
        .modify(
            "Pod",
            Object::named("web-1")
                .uid("web-1-second")
                .owner("StatefulSet", "web")
                .running(true),
        )
        .add("Pod", Object::named("web-7").owner("ReplicaSet", "web"))
        .add(
            "Pod",
            Object::named("web-api-0").owner("StatefulSet", "web-api"),
        )
        .build()
}

/// `spec.ordinals.start: 5`.
fn offset() -> Timeline {
    let recording = Recording::new().add(
        "StatefulSet",
        statefulset().set(&["spec", "ordinals"], json!({"start": 5})),
    );
    let recording = start(recording, "web-5");
    start(recording, "web-6").build()
}

/// web-0 deleted, and web-1 created before web-0 came back.
fn predecessor_gone() -> Timeline {
    let recording = Recording::new().add("StatefulSet", statefulset());
    let recording = start(recording, "web-0");
    let recording = stop(recording, "web-0");
    start(recording, "web-1").build()
}

/// Rolling update after position 10: each pod replaced from web-2 down, the next deletion
/// only after the replacement is Running and Ready.
fn rolled() -> Timeline {
    let mut recording = ordered();
    for name in ["web-2", "web-1", "web-0"] {
        recording = start(stop(recording, name), name);
    }
    recording.build()
}

/// web-1 begins terminating while the new web-2 is still Pending.
fn rolled_too_early() -> Timeline {
    let recording = stop(ordered(), "web-2");
    let recording = recording.add("Pod", pod("web-2").phase("Pending"));
    stop(recording, "web-1").build()
}

/// Replacement from web-0 up.
fn rolled_upward() -> Timeline {
    let mut recording = ordered();
    for name in ["web-0", "web-1"] {
        recording = start(stop(recording, name), name);
    }
    recording.build()
}

fn judge(timeline: &Timeline, yaml: &str, from: usize) -> Outcome {
    let context = JudgeContext { timeline, from };
    judge_ordinals(&expectation(yaml), &context)
}

#[rstest]
#[case::ordered_scale_up(
    ordered().build(),
    "statefulset: web\ncreated: [0, 1, 2]\ncreation: ordered",
    0,
    json!({"created": [0, 1, 2], "creation": "0<1<2"})
)]
#[case::parallel_any_order(
    parallel(),
    "statefulset: web\ncreated: [2, 1, 0]\ncreation: any",
    0,
    json!({"created": [0, 1, 2]})
)]
#[case::reverse_scale_down(
    scaled_down(),
    "statefulset: web\nsince: scaled\ncreated: []\ndeleted: [2, 1]\ndeletion: reverse",
    10,
    json!({"created": [], "deleted": [1, 2], "deletion": "2<1"})
)]
#[case::cascade_any_order(
    cascaded(),
    "statefulset: web\ndeleted: [0, 1, 2]\ndeletion: any",
    10,
    json!({"deleted": [0, 1, 2]})
)]
#[case::recreated_pod(
    recreated(),
    "statefulset: web\ncreated: [0, 1]\ncreation: ordered\ndeleted: [1]",
    0,
    json!({"created": [0, 1], "creation": "0<1<1", "deleted": [1]})
)]
#[case::start_ordinal(
    offset(),
    "statefulset: web\ncreated: [5, 6]\ncreation: ordered",
    0,
    json!({"created": [5, 6], "creation": "5<6"})
)]
#[case::since_excludes_earlier(
    scaled_down(),
    "statefulset: web\ncreated: []\ncreation: ordered",
    10,
    json!({"created": [], "creation": ""})
)]
#[case::rolling_update_reverse(
    rolled(),
    "statefulset: web\ndeleted: [0, 1, 2]\nreplacement: reverse",
    10,
    json!({"deleted": [0, 1, 2], "replacement": "2<1<0"})
)]
fn judge_ordinals_passes(
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
#[case::creation_not_ordered(parallel(), "statefulset: web\ncreation: ordered", 0)]
#[case::predecessor_gone(predecessor_gone(), "statefulset: web\ncreation: ordered", 0)]
#[case::created_missing(ordered().build(), "statefulset: web\ncreated: [0, 1, 2, 3]", 0)]
#[case::created_extra(ordered().build(), "statefulset: web\ncreated: [0, 1]", 0)]
#[case::created_none(scaled_down(), "statefulset: web\ncreated: [3]", 10)]
#[case::created_unexpected(ordered().build(), "statefulset: web\ncreated: []", 4)]
#[case::deleted_missing(scaled_down(), "statefulset: web\ndeleted: [2, 1, 0]", 10)]
#[case::deletion_not_reverse(cascaded(), "statefulset: web\ndeletion: reverse", 10)]
#[case::creation_reverse_invalid(ordered().build(), "statefulset: web\ncreation: reverse", 0)]
#[case::deletion_ordered_invalid(ordered().build(), "statefulset: web\ndeletion: ordered", 0)]
#[case::replaced_before_ready(rolled_too_early(), "statefulset: web\nreplacement: reverse", 10)]
#[case::replaced_upward(rolled_upward(), "statefulset: web\nreplacement: reverse", 10)]
#[case::replacement_ordered_invalid(ordered().build(), "statefulset: web\nreplacement: ordered", 0)]
fn judge_ordinals_fails(
    #[context] context: Context,
    #[case] timeline: Timeline,
    #[case] yaml: &str,
    #[case] from: usize,
) {
    let outcome = judge(&timeline, yaml, from);

    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert_message_snapshot!(context, render_outcome(&outcome));
}

#[rstest]
#[case::zero("web-0", Some(0))]
#[case::two_digits("web-12", Some(12))]
#[case::leading_zero("web-01", None)]
#[case::other_statefulset("web-api-0", None)]
#[case::no_ordinal("web-", None)]
#[case::generated_suffix("web-6d4cf", None)]
fn parse_ordinal_reads_suffix(#[case] name: &str, #[case] expected: Option<u32>) {
    assert_eq!(parse_ordinal(name, "web"), expected);
}
