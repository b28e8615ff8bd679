use rstest::{Context, rstest};
use serde_json::json;

use super::{check_holds, holds_throughout, never_holds};
use crate::assert::testing::{Object, Recording, assert_message_snapshot};
use crate::dsl::types::Check;
use crate::recorder::timeline::Timeline;

fn check(yaml: &str) -> Check {
    serde_yaml::from_str(yaml).expect("test checks are valid YAML")
}

fn pod(name: &str) -> Object {
    Object::named(name).owner("Job", "pi").label("app", "pi")
}

fn job() -> Object {
    Object::named("pi").label("app", "pi")
}

/// Records a Job whose two pods run with some overlap, and an unrelated pod that is deleted.
///
/// Positions: 0 job added, 1 pi-a added, 2 pi-a Running, 3 pi-b added, 4 pi-a Succeeded,
/// 5 pi-b Running, 6 job counts one success, 7 pi-b Succeeded, 8 job Complete, 9 other added,
/// 10 other terminating, 11 other deleted.
fn recording() -> Timeline {
    let complete = job().set(&["status", "succeeded"], json!(2)).set(
        &["status", "conditions"],
        json!([
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods"}
        ]),
    );
    let other = Object::named("other").label("app", "other").running(true);
    let terminating = other
        .clone()
        .terminating()
        .set(&["metadata", "finalizers"], json!(["kspec.dev/hold"]));
    Recording::new()
        .add("Job", job())
        .add("Pod", pod("pi-a").phase("Pending"))
        .modify("Pod", pod("pi-a").running(true))
        .add("Pod", pod("pi-b").phase("Pending"))
        .modify("Pod", pod("pi-a").phase("Succeeded"))
        .modify("Pod", pod("pi-b").running(true))
        .modify("Job", job().set(&["status", "succeeded"], json!(1)))
        .modify("Pod", pod("pi-b").phase("Succeeded"))
        .modify("Job", complete)
        .add("Pod", other)
        .modify("Pod", terminating.clone())
        .delete("Pod", terminating)
        .build()
}

#[rstest]
#[case::condition_by_type("for: job/pi\ncondition: Complete", None)]
#[case::condition_reason(
    "for: job/pi\ncondition: {type: Complete, reason: CompletionsReached}",
    None
)]
#[case::condition_message(
    "for: job/pi\ncondition: {type: Complete, message: 'Reached \\w+'}",
    None
)]
#[case::condition_false("for: pod/pi-a\ncondition: {type: Ready, status: 'True'}", Some(2))]
#[case::state("for: job/pi\nstate: {status: {succeeded: 2}}", None)]
#[case::state_and_condition(
    "for: job/pi\ncondition: Complete\nstate: {status: {succeeded: 2}}",
    None
)]
#[case::exists("for: job/pi", Some(0))]
#[case::exists_explicitly("for: pod/pi-a\ngone: false", None)]
#[case::gone_after_delete("for: pod/other\ngone: true", None)]
#[case::gone_never_created("for: pod/nope\ngone: true", None)]
#[case::gone_before_creation("for: pod/other\ngone: true", Some(8))]
#[case::count_owned("count: {owner: job/pi, is: 2}", None)]
#[case::count_active_none("count: {owner: job/pi, active: true, is: 0}", None)]
#[case::count_active_overlap("count: {owner: job/pi, active: true, is: 2}", Some(3))]
#[case::count_selector("count: {selector: app=pi, is: {min: 1}}", None)]
#[case::count_selector_set("count: {selector: 'app in (pi, other)', is: 3}", Some(9))]
#[case::count_kind_and_state("count: {kind: job, state: {status: {succeeded: 2}}, is: 1}", None)]
#[case::count_jobs_not_active("count: {kind: jobs, active: true, is: 0}", None)]
#[case::count_terminating_inactive("count: {selector: app=other, active: false, is: 1}", Some(10))]
#[case::count_empty_kind("count: {kind: pvc, is: 0}", None)]
#[case::count_range("count: {owner: job/pi, is: {min: 1, max: 2}}", None)]
#[case::count_ever_deleted("count: {selector: app=other, ever: true, is: 1}", None)]
#[case::count_ever_past_state(
    "count: {owner: job/pi, state: {status: {phase: Running}}, ever: true, is: 2}",
    None
)]
fn check_holds_passes(#[case] yaml: &str, #[case] at: Option<usize>) {
    assert_eq!(check_holds(&check(yaml), &recording(), at), Ok(()));
}

#[rstest]
#[case::condition_missing("for: job/pi\ncondition: Complete", Some(5))]
#[case::condition_status("for: job/pi\ncondition: {type: Complete, status: 'False'}", None)]
#[case::condition_reason(
    "for: job/pi\ncondition: {type: Complete, reason: BackoffLimitExceeded}",
    None
)]
#[case::condition_message("for: job/pi\ncondition: {type: Complete, message: '^Failed'}", None)]
#[case::condition_not_ready("for: pod/pi-b\ncondition: Ready", Some(3))]
#[case::state_differs("for: job/pi\nstate: {status: {succeeded: 2}}", Some(6))]
#[case::state_not_set("for: job/pi\nstate: {status: {succeeded: 2}}", Some(0))]
#[case::still_exists("for: pod/pi-a\ngone: true", None)]
#[case::still_terminating("for: pod/other\ngone: true", Some(10))]
#[case::deleted("for: pod/other\ngone: false", None)]
#[case::deleted_with_state("for: pod/other\nstate: {status: {phase: Running}}", None)]
#[case::never_existed("for: pod/nope\ncondition: Ready", None)]
#[case::count_differs("count: {owner: job/pi, is: 3}", None)]
#[case::count_active_differs("count: {owner: job/pi, active: true, is: 1}", Some(3))]
#[case::count_none_found("count: {selector: 'tier=db', is: {min: 1}}", None)]
#[case::count_ever_not_yet("count: {owner: job/pi, ever: true, is: 2}", Some(2))]
#[case::count_all_filters(
    "count: {kind: pod, selector: app=pi, owner: job/pi, state: {status: {phase: Running}}, \
     active: true, is: 2}",
    Some(5)
)]
fn check_holds_fails(#[context] context: Context, #[case] yaml: &str, #[case] at: Option<usize>) {
    let reason = check_holds(&check(yaml), &recording(), at).unwrap_err();

    assert_message_snapshot!(context, reason);
}

#[rstest]
#[case::neither_object_nor_count("condition: Complete")]
#[case::object_and_count("for: job/pi\ncount: {is: 1}")]
#[case::count_with_object_keys("count: {is: 1}\nstate: {status: {phase: Running}}")]
#[case::gone_with_condition("for: job/pi\ngone: true\ncondition: Complete")]
#[case::invalid_message_pattern("for: job/pi\ncondition: {type: Complete, message: '('}")]
#[case::invalid_selector("count: {selector: 'app in (pi', is: 1}")]
#[case::unknown_kind("count: {kind: jbo, is: 1}")]
fn check_holds_rejects_invalid_check(#[context] context: Context, #[case] yaml: &str) {
    let reason = check_holds(&check(yaml), &recording(), None).unwrap_err();

    assert_message_snapshot!(context, reason);
}

#[test]
fn check_holds_on_empty_timeline() {
    let timeline = Timeline::new();

    assert_eq!(
        check_holds(&check("for: job/pi\ngone: true"), &timeline, None),
        Ok(())
    );
    assert_eq!(
        check_holds(&check("count: {is: 0}"), &timeline, Some(3)),
        Ok(())
    );
    assert!(check_holds(&check("for: job/pi"), &timeline, None).is_err());
}

#[rstest]
#[case::object_exists("for: job/pi", 1..12)]
#[case::at_most_two_active("count: {owner: job/pi, active: true, is: {max: 2}}", 0..12)]
#[case::window_past_end("for: pod/pi-a", 3..40)]
#[case::empty_window("for: job/pi", 5..5)]
fn holds_throughout_passes(#[case] yaml: &str, #[case] window: std::ops::Range<usize>) {
    assert_eq!(holds_throughout(&check(yaml), &recording(), window), Ok(()));
}

#[rstest]
#[case::one_active_at_a_time("count: {owner: job/pi, active: true, is: {max: 1}}", 0..12)]
#[case::absent_when_opened("for: job/pi", 0..12)]
#[case::pod_deleted("for: pod/other\nstate: {status: {phase: Running}}", 10..12)]
fn holds_throughout_fails(
    #[context] context: Context,
    #[case] yaml: &str,
    #[case] window: std::ops::Range<usize>,
) {
    let reason = holds_throughout(&check(yaml), &recording(), window).unwrap_err();

    assert_message_snapshot!(context, reason);
}

#[rstest]
#[case::three_active("count: {owner: job/pi, active: true, is: {min: 3}}", 0..12)]
#[case::complete_outside_window("for: job/pi\ncondition: Complete", 0..8)]
#[case::failed_condition("for: job/pi\ncondition: Failed", 0..12)]
fn never_holds_passes(#[case] yaml: &str, #[case] window: std::ops::Range<usize>) {
    assert_eq!(never_holds(&check(yaml), &recording(), window), Ok(()));
}

#[rstest]
#[case::two_active("count: {owner: job/pi, active: true, is: {min: 2}}", 0..12)]
#[case::complete_inside_window("for: job/pi\ncondition: Complete", 0..12)]
#[case::held_when_opened("for: job/pi", 4..12)]
fn never_holds_fails(
    #[context] context: Context,
    #[case] yaml: &str,
    #[case] window: std::ops::Range<usize>,
) {
    let reason = never_holds(&check(yaml), &recording(), window).unwrap_err();

    assert_message_snapshot!(context, reason);
}
