use rstest::{Context, rstest};
use serde_json::{Map, Value, json};

use super::LabelSelector;
use crate::assert::testing::assert_message_snapshot;

fn labels(value: Value) -> Map<String, Value> {
    value.as_object().expect("labels are a map").clone()
}

#[rstest]
#[case::equals("app=web", json!({"app": "web"}), true)]
#[case::equals_other_value("app=web", json!({"app": "api"}), false)]
#[case::equals_missing_key("app=web", json!({}), false)]
#[case::double_equals("app==web", json!({"app": "web"}), true)]
#[case::not_equals("app!=web", json!({"app": "api"}), true)]
#[case::not_equals_same("app!=web", json!({"app": "web"}), false)]
#[case::not_equals_missing_key("app!=web", json!({}), true)]
#[case::in_set("tier in (frontend, cache)", json!({"tier": "cache"}), true)]
#[case::in_set_miss("tier in (frontend,cache)", json!({"tier": "db"}), false)]
#[case::in_set_missing_key("tier in (frontend)", json!({}), false)]
#[case::notin_set("tier notin (db)", json!({"tier": "cache"}), true)]
#[case::notin_set_hit("tier notin (db)", json!({"tier": "db"}), false)]
#[case::notin_missing_key("tier notin (db)", json!({}), true)]
#[case::exists("canary", json!({"canary": ""}), true)]
#[case::exists_missing("canary", json!({"app": "web"}), false)]
#[case::does_not_exist("!canary", json!({"app": "web"}), true)]
#[case::does_not_exist_present("!canary", json!({"canary": "yes"}), false)]
#[case::greater_than("shard>2", json!({"shard": "3"}), true)]
#[case::greater_than_equal("shard>2", json!({"shard": "2"}), false)]
#[case::less_than("shard<2", json!({"shard": "1"}), true)]
#[case::less_than_not_integer("shard<2", json!({"shard": "one"}), false)]
#[case::empty_value("app=", json!({"app": ""}), true)]
#[case::empty_value_miss("app=", json!({"app": "web"}), false)]
#[case::prefixed_key("app.kubernetes.io/name=web", json!({"app.kubernetes.io/name": "web"}), true)]
#[case::all_requirements(
    "app=web,tier in (frontend),!canary",
    json!({"app": "web", "tier": "frontend"}),
    true
)]
#[case::one_requirement_fails(
    "app=web,tier in (frontend),!canary",
    json!({"app": "web", "tier": "frontend", "canary": "1"}),
    false
)]
#[case::empty_selector("", json!({"app": "web"}), true)]
#[case::whitespace("  app = web ,  tier  ", json!({"app": "web", "tier": "x"}), true)]
fn selector_matches(#[case] selector: &str, #[case] object_labels: Value, #[case] expected: bool) {
    let selector = LabelSelector::parse(selector).unwrap();

    assert_eq!(selector.matches(Some(&labels(object_labels))), expected);
}

#[rstest]
#[case::exists_without_labels("app", false)]
#[case::not_equals_without_labels("app!=web", true)]
#[case::empty_without_labels("", true)]
fn selector_matches_object_without_labels(#[case] selector: &str, #[case] expected: bool) {
    let selector = LabelSelector::parse(selector).unwrap();

    assert_eq!(selector.matches(None), expected);
}

#[rstest]
#[case::missing_close_paren("tier in (a,b")]
#[case::missing_open_paren("tier in a")]
#[case::empty_set("tier in ()")]
#[case::unknown_operator("app ~ web")]
#[case::missing_key("=web")]
#[case::trailing_comma("app=web,")]
#[case::double_not("!!app")]
#[case::invalid_key("-app=web")]
#[case::invalid_prefix("Example.com/app=web")]
#[case::invalid_value("app=-web")]
#[case::not_integer("shard>two")]
#[case::two_values("app=web api")]
fn selector_rejects(#[context] context: Context, #[case] selector: &str) {
    let error = LabelSelector::parse(selector).unwrap_err();

    assert_eq!(error.selector, selector);
    assert_message_snapshot!(context, error.to_string());
}
