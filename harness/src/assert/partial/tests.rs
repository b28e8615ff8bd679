use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::match_partial;
use crate::assert::testing::assert_message_snapshot;

fn job() -> Value {
    json!({
        "metadata": {"name": "pi", "labels": {"app.kubernetes.io/name": "pi"}},
        "spec": {"completions": 3, "parallelism": 1},
        "status": {
            "succeeded": 3,
            "ready": 0,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached"}
            ]
        }
    })
}

#[rstest]
#[case::one_field(json!({"status": {"succeeded": 3}}))]
#[case::nested_maps(json!({"spec": {"completions": 3}, "status": {"ready": 0}}))]
#[case::number_as_float(json!({"status": {"succeeded": 3.0}}))]
#[case::list_element_any_position(json!({"status": {"conditions": [{"type": "Complete"}]}}))]
#[case::list_elements_any_order(json!({"status": {"conditions": [
    {"type": "Complete", "status": "True"},
    {"type": "SuccessCriteriaMet"}
]}}))]
#[case::null_for_absent(json!({"metadata": {"deletionTimestamp": null}}))]
#[case::empty_list_for_absent(json!({"spec": {"tolerations": []}}))]
#[case::quoted_key(json!({"metadata": {"labels": {"app.kubernetes.io/name": "pi"}}}))]
#[case::empty_state(json!({}))]
fn partial_state_matches(#[case] state: Value) {
    assert_eq!(match_partial(&state, &job()), Ok(()));
}

#[rstest]
#[case::scalar_differs(json!({"status": {"succeeded": 2}}))]
#[case::field_not_set(json!({"status": {"failed": 1}}))]
#[case::map_not_set(json!({"spec": {"template": {"spec": {"restartPolicy": "Never"}}}}))]
#[case::no_list_element(json!({"status": {"conditions": [{"type": "Failed"}]}}))]
#[case::list_element_field_differs(
    json!({"status": {"conditions": [{"type": "Complete", "reason": "BackoffLimitExceeded"}]}})
)]
#[case::null_for_set_field(json!({"spec": {"parallelism": null}}))]
#[case::empty_list_for_full_list(json!({"status": {"conditions": []}}))]
#[case::string_against_number(json!({"spec": {"completions": "3"}}))]
#[case::map_against_scalar(json!({"spec": {"completions": {"value": 3}}}))]
#[case::quoted_key_differs(json!({"metadata": {"labels": {"app.kubernetes.io/name": "e"}}}))]
fn partial_state_mismatch(#[context] context: Context, #[case] state: Value) {
    let mismatch = match_partial(&state, &job()).unwrap_err();

    assert_message_snapshot!(context, mismatch.to_string());
}
