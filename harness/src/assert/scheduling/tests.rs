use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::{Eligibility, daemon_eligibility};
use crate::assert::testing::assert_message_snapshot;

fn node(labels: Value, taints: Value) -> Value {
    json!({"metadata": {"name": "node-1", "labels": labels}, "spec": {"taints": taints}})
}

fn template(spec: Value) -> Value {
    json!({"metadata": {"labels": {"app": "agent"}}, "spec": spec})
}

fn control_plane() -> Value {
    node(
        json!({"node-role.kubernetes.io/control-plane": ""}),
        json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
    )
}

fn worker() -> Value {
    node(
        json!({"zone": "a", "disktype": "ssd", "cores": "8"}),
        json!([]),
    )
}

fn affinity(terms: Value) -> Value {
    template(json!({"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
    }}}))
}

#[rstest]
#[case::plain_worker(template(json!({})), worker())]
#[case::taint_tolerated_by_key(
    template(json!({"tolerations": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
         "effect": "NoSchedule"}
    ]})),
    control_plane()
)]
#[case::taint_tolerated_by_empty_key(
    template(json!({"tolerations": [{"operator": "Exists"}]})),
    control_plane()
)]
#[case::taint_tolerated_by_value(
    template(json!({"tolerations": [{"key": "gpu", "value": "a100", "effect": "NoExecute"}]})),
    node(json!({}), json!([{"key": "gpu", "value": "a100", "effect": "NoExecute"}]))
)]
#[case::toleration_without_effect(
    template(json!({"tolerations": [{"key": "gpu", "operator": "Exists"}]})),
    node(json!({}), json!([{"key": "gpu", "effect": "NoExecute"}]))
)]
#[case::prefer_no_schedule_ignored(
    template(json!({})),
    node(json!({}), json!([{"key": "busy", "effect": "PreferNoSchedule"}]))
)]
#[case::not_ready_added_by_controller(
    template(json!({})),
    node(json!({}), json!([{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]))
)]
#[case::unschedulable_added_by_controller(
    template(json!({})),
    node(json!({}), json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]))
)]
#[case::network_unavailable_with_host_network(
    template(json!({"hostNetwork": true})),
    node(
        json!({}),
        json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}])
    )
)]
#[case::node_selector(template(json!({"nodeSelector": {"disktype": "ssd"}})), worker())]
#[case::affinity_in(
    affinity(json!([{"matchExpressions": [
        {"key": "zone", "operator": "In", "values": ["a", "b"]}
    ]}])),
    worker()
)]
#[case::affinity_not_in_missing_label(
    affinity(json!([{"matchExpressions": [{"key": "gpu", "operator": "NotIn", "values": ["x"]}]}])),
    worker()
)]
#[case::affinity_exists_and_does_not_exist(
    affinity(json!([{"matchExpressions": [
        {"key": "zone", "operator": "Exists"},
        {"key": "gpu", "operator": "DoesNotExist"}
    ]}])),
    worker()
)]
#[case::affinity_gt_and_lt(
    affinity(json!([{"matchExpressions": [
        {"key": "cores", "operator": "Gt", "values": ["4"]},
        {"key": "cores", "operator": "Lt", "values": ["16"]}
    ]}])),
    worker()
)]
#[case::affinity_match_fields(
    affinity(json!([{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["node-1"]}
    ]}])),
    worker()
)]
#[case::affinity_second_term(
    affinity(json!([
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
        {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["ssd"]}]}
    ])),
    worker()
)]
#[case::node_name(template(json!({"nodeName": "node-1"})), worker())]
fn daemon_pod_eligible(#[case] template: Value, #[case] node: Value) {
    assert_eq!(daemon_eligibility(&template, &node), Eligibility::Eligible);
}

#[rstest]
#[case::control_plane_master_toleration(
    template(json!({"tolerations": [
        {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"}
    ]})),
    control_plane(),
    "keeps"
)]
#[case::control_plane_no_tolerations(template(json!({})), control_plane(), "keeps")]
#[case::no_execute(
    template(json!({})),
    node(json!({}), json!([{"key": "maintenance", "value": "true", "effect": "NoExecute"}])),
    "ineligible"
)]
#[case::wrong_value(
    template(json!({"tolerations": [{"key": "gpu", "value": "t4", "effect": "NoSchedule"}]})),
    node(json!({}), json!([{"key": "gpu", "value": "a100", "effect": "NoSchedule"}])),
    "keeps"
)]
#[case::wrong_effect(
    template(json!({"tolerations": [
        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]})),
    node(json!({}), json!([{"key": "gpu", "effect": "NoExecute"}])),
    "ineligible"
)]
#[case::network_unavailable_without_host_network(
    template(json!({})),
    node(
        json!({}),
        json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}])
    ),
    "keeps"
)]
#[case::node_selector_value(
    template(json!({"nodeSelector": {"disktype": "hdd"}})),
    worker(),
    "ineligible"
)]
#[case::node_selector_missing(
    template(json!({"nodeSelector": {"gpu": "true", "zone": "a"}})),
    worker(),
    "ineligible"
)]
#[case::affinity_in(
    affinity(json!([{"matchExpressions": [
        {"key": "zone", "operator": "In", "values": ["b", "c"]}
    ]}])),
    worker(),
    "ineligible"
)]
#[case::affinity_not_in(
    affinity(json!([{"matchExpressions": [
        {"key": "zone", "operator": "NotIn", "values": ["a"]}
    ]}])),
    worker(),
    "ineligible"
)]
#[case::affinity_gt_not_integer(
    affinity(json!([{"matchExpressions": [{"key": "zone", "operator": "Gt", "values": ["1"]}]}])),
    worker(),
    "ineligible"
)]
#[case::affinity_empty_term(affinity(json!([{}])), worker(), "ineligible")]
#[case::affinity_other_node(
    affinity(json!([
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-2"]}]},
        {"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}
    ])),
    worker(),
    "ineligible"
)]
#[case::affinity_invalid_field(
    affinity(json!([{"matchFields": [
        {"key": "spec.podCIDR", "operator": "In", "values": ["x"]}
    ]}])),
    worker(),
    "ineligible"
)]
#[case::node_name_other(template(json!({"nodeName": "node-2"})), worker(), "ineligible")]
#[case::selector_and_taint(
    template(json!({"nodeSelector": {"disktype": "ssd"}})),
    control_plane(),
    "ineligible"
)]
fn daemon_pod_not_eligible(
    #[context] context: Context,
    #[case] template: Value,
    #[case] node: Value,
    #[case] expected: &str,
) {
    let (kind, reasons) = match daemon_eligibility(&template, &node) {
        Eligibility::Eligible => panic!("expected the node to be excluded"),
        Eligibility::KeepsExisting(reasons) => ("keeps", reasons),
        Eligibility::Ineligible(reasons) => ("ineligible", reasons),
    };

    assert_eq!(kind, expected);
    assert_message_snapshot!(context, reasons.join("\n"));
}
