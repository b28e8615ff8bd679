use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::judge_placement;
use crate::assert::testing::{Object, Recording, assert_message_snapshot, render_outcome};
use crate::assert::{JudgeContext, Outcome, PlacementExpectation};
use crate::recorder::timeline::Timeline;

fn expectation(yaml: &str) -> PlacementExpectation {
    serde_yaml::from_str(yaml).expect("test expectations are valid YAML")
}

fn control_plane() -> Object {
    Object::named("cp-0")
        .label("node-role.kubernetes.io/control-plane", "")
        .set(
            &["spec", "taints"],
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
        )
}

fn worker(name: &str, disk: &str) -> Object {
    Object::named(name).label("disktype", disk)
}

fn daemonset(spec: Value) -> Object {
    Object::named("agent").set(&["spec", "template", "spec"], spec)
}

fn agent(name: &str, node: &str) -> Object {
    Object::named(name)
        .owner("DaemonSet", "agent")
        .node(node)
        .running(true)
}

/// Records a control-plane node and three workers, w-3 with an HDD.
fn cluster() -> Recording {
    Recording::new()
        .existing("Node", control_plane())
        .existing("Node", worker("w-1", "ssd"))
        .existing("Node", worker("w-2", "ssd"))
        .existing("Node", worker("w-3", "hdd"))
}

/// Records the DaemonSet with `spec`, and one agent pod on each of `nodes`.
fn placed(spec: Value, nodes: &[&str]) -> Recording {
    let mut recording = cluster().add("DaemonSet", daemonset(spec));
    for node in nodes {
        recording = recording.add("Pod", agent(&format!("agent-{node}"), node));
    }
    recording
}

fn master_toleration() -> Value {
    json!({"tolerations": [
        {"key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"}
    ]})
}

fn control_plane_toleration() -> Value {
    json!({"tolerations": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
         "effect": "NoSchedule"}
    ]})
}

fn judge(timeline: &Timeline, yaml: &str) -> Outcome {
    let context = JudgeContext { timeline, from: 0 };
    judge_placement(&expectation(yaml), &context)
}

fn workers_and_extras() -> Timeline {
    let pending = Object::named("agent-pending")
        .owner("DaemonSet", "agent")
        .phase("Pending")
        .set(
            &[
                "spec",
                "affinity",
                "nodeAffinity",
                "requiredDuringSchedulingIgnoredDuringExecution",
            ],
            json!({"nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["w-3"]}
            ]}]}),
        );
    placed(json!({}), &["w-1", "w-2"])
        .add("Pod", pending)
        .add("Pod", agent("agent-old", "w-1").terminating())
        .add("Pod", agent("agent-done", "w-2").phase("Succeeded"))
        .add(
            "Pod",
            Object::named("logger-cp-0")
                .owner("DaemonSet", "logger")
                .node("cp-0"),
        )
        .build()
}

/// w-2 gets a NoSchedule taint after its pod started; the pod may stay.
fn tainted_after_start(effect: &str) -> Timeline {
    placed(json!({}), &["w-1", "w-2", "w-3"])
        .modify(
            "Node",
            worker("w-2", "ssd").set(
                &["spec", "taints"],
                json!([{"key": "maintenance", "effect": effect}]),
            ),
        )
        .build()
}

#[rstest]
#[case::eligible_workers(
    placed(json!({}), &["w-1", "w-2", "w-3"]).build(),
    "daemonset: agent\ncount: 3",
    json!({"nodes": ["w-1", "w-2", "w-3"], "count": 3})
)]
#[case::all_nodes_tolerated(
    placed(control_plane_toleration(), &["cp-0", "w-1", "w-2", "w-3"]).build(),
    "daemonset: agent\nnodes: all\ncount: 4",
    json!({"nodes": ["cp-0", "w-1", "w-2", "w-3"], "count": 4})
)]
#[case::node_selector(
    placed(json!({"nodeSelector": {"disktype": "ssd"}}), &["w-1", "w-2"]).build(),
    "daemonset: agent\nnodes: eligible",
    json!({"nodes": ["w-1", "w-2"], "count": 2})
)]
#[case::pending_pod_by_affinity(
    workers_and_extras(),
    "daemonset: agent\ncount: 3",
    json!({"nodes": ["w-1", "w-2", "w-3"], "count": 3})
)]
#[case::no_schedule_keeps_pod(
    tainted_after_start("NoSchedule"),
    "daemonset: agent",
    json!({"nodes": ["w-1", "w-2", "w-3"], "count": 3})
)]
#[case::no_schedule_without_pod(
    placed(master_toleration(), &["w-1", "w-2", "w-3"]).build(),
    "daemonset: agent\ncount: 3",
    json!({"nodes": ["w-1", "w-2", "w-3"], "count": 3})
)]
fn judge_placement_passes(#[case] timeline: Timeline, #[case] yaml: &str, #[case] facts: Value) {
    let outcome = judge(&timeline, yaml);

    assert_eq!(outcome.failure, None);
    assert_eq!(json!(outcome.facts), facts);
}

#[rstest]
#[case::missing_on_eligible(placed(json!({}), &["w-1", "w-2"]).build(), "daemonset: agent")]
#[case::control_plane_not_tolerated(
    placed(master_toleration(), &["w-1", "w-2", "w-3"]).build(),
    "daemonset: agent\nnodes: all"
)]
#[case::pod_on_ineligible(
    placed(json!({"nodeSelector": {"disktype": "ssd"}}), &["w-1", "w-2", "w-3"]).build(),
    "daemonset: agent"
)]
#[case::two_pods_on_node(
    placed(json!({}), &["w-1", "w-2", "w-3"]).add("Pod", agent("agent-extra", "w-1")).build(),
    "daemonset: agent"
)]
#[case::count_differs(
    placed(json!({}), &["w-1", "w-2", "w-3"]).build(),
    "daemonset: agent\ncount: 4"
)]
#[case::pod_on_unknown_node(
    placed(json!({}), &["w-1", "w-2", "w-3", "w-9"]).build(),
    "daemonset: agent"
)]
#[case::no_execute_taint(tainted_after_start("NoExecute"), "daemonset: agent")]
#[case::daemonset_missing(cluster().build(), "daemonset: agent")]
#[case::daemonset_deleted(
    placed(json!({}), &[]).delete("DaemonSet", daemonset(json!({}))).build(),
    "daemonset: agent"
)]
fn judge_placement_fails(
    #[context] context: Context,
    #[case] timeline: Timeline,
    #[case] yaml: &str,
) {
    let outcome = judge(&timeline, yaml);

    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert_message_snapshot!(context, render_outcome(&outcome));
}
