use rstest::{Context, rstest};
use serde_json::{Value, json};

use super::judge_survivors;
use crate::assert::testing::{Object, Recording, assert_message_snapshot, render_outcome};
use crate::assert::{JudgeContext, Outcome, SurvivorExpectation};
use crate::recorder::timeline::Timeline;

fn expectation(yaml: &str) -> SurvivorExpectation {
    serde_yaml::from_str(yaml).expect("test expectations are valid YAML")
}

fn statefulset(templates: &[&str]) -> Object {
    let templates: Vec<Value> = templates
        .iter()
        .map(|name| json!({"metadata": {"name": name}}))
        .collect();
    Object::named("web").set(&["spec", "volumeClaimTemplates"], json!(templates))
}

fn claim(name: &str, owned: bool) -> Object {
    let claim = Object::named(name).set(&["status", "phase"], json!("Bound"));
    if owned {
        claim.owner("StatefulSet", "web")
    } else {
        claim
    }
}

/// Records a StatefulSet with claim templates `data` and `logs`, two pods and their claims
/// (owned by the StatefulSet when `owned`), then deletes the StatefulSet and pods.
fn deleted_statefulset(owned: bool) -> Recording {
    let sts = statefulset(&["data", "logs"]);
    let mut recording = Recording::new().add("StatefulSet", sts.clone());
    for ordinal in 0..2 {
        let pod = Object::named(&format!("web-{ordinal}")).owner("StatefulSet", "web");
        recording = recording
            .add(
                "PersistentVolumeClaim",
                claim(&format!("data-web-{ordinal}"), owned),
            )
            .add(
                "PersistentVolumeClaim",
                claim(&format!("logs-web-{ordinal}"), owned),
            )
            .add("Pod", pod.clone().running(true))
            .delete("Pod", pod.running(true).terminating());
    }
    recording.delete("StatefulSet", sts)
}

/// `whenDeleted: Delete`: the garbage collector removes every claim after the StatefulSet.
fn claims_collected() -> Timeline {
    let mut recording = deleted_statefulset(true);
    for name in ["data-web-0", "logs-web-0", "data-web-1", "logs-web-1"] {
        recording = recording.delete("PersistentVolumeClaim", claim(name, true).terminating());
    }
    recording.build()
}

/// Records a Deployment deleted with `propagationPolicy: Orphan`: its ReplicaSet loses the
/// ownerReference and stays.
fn orphaned_replicaset() -> Timeline {
    let replicaset = Object::named("api-5d8").owner("Deployment", "api");
    Recording::new()
        .add("Deployment", Object::named("api"))
        .add("ReplicaSet", replicaset)
        .delete("Deployment", Object::named("api"))
        .modify("ReplicaSet", Object::named("api-5d8"))
        .build()
}

fn judge(timeline: &Timeline, yaml: &str) -> Outcome {
    let context = JudgeContext { timeline, from: 0 };
    judge_survivors(&expectation(yaml), &context)
}

#[rstest]
#[case::claims_retained(
    deleted_statefulset(false).build(),
    "owner: sts/web\nkind: pvc\nsurvive: true",
    json!({"ownerGone": true, "dependents": 4, "survived": 4})
)]
#[case::claims_collected(
    claims_collected(),
    "owner: sts/web\nkind: persistentvolumeclaim\nsurvive: false",
    json!({"ownerGone": true, "dependents": 4, "survived": 0})
)]
#[case::foreign_pod_ignored(
    deleted_statefulset(false)
        .add("Pod", Object::named("web-7").owner("ReplicaSet", "web"))
        .build(),
    "owner: sts/web\nkind: pvc\nsurvive: true",
    json!({"ownerGone": true, "dependents": 4, "survived": 4})
)]
#[case::named_claims(
    deleted_statefulset(false).build(),
    "owner: sts/web\nkind: pvc\nnames: [data-web-0]\nsurvive: true",
    json!({"ownerGone": true, "dependents": 1, "survived": 1})
)]
#[case::orphaned_replicaset(
    orphaned_replicaset(),
    "owner: deployment/api\nkind: rs\nsurvive: true",
    json!({"ownerGone": true, "dependents": 1, "survived": 1})
)]
#[case::pods_deleted_with_owner(
    deleted_statefulset(false).build(),
    "owner: sts/web\nkind: pod\nsurvive: false",
    json!({"ownerGone": true, "dependents": 2, "survived": 0})
)]
fn judge_survivors_passes(#[case] timeline: Timeline, #[case] yaml: &str, #[case] facts: Value) {
    let outcome = judge(&timeline, yaml);

    assert_eq!(outcome.failure, None);
    assert_eq!(json!(outcome.facts), facts);
}

#[rstest]
#[case::owner_still_exists(
    Recording::new()
        .add("StatefulSet", statefulset(&["data"]))
        .add("Pod", Object::named("web-0"))
        .add("PersistentVolumeClaim", claim("data-web-0", false))
        .build(),
    "owner: sts/web\nkind: pvc\nsurvive: true"
)]
#[case::owner_being_deleted(
    Recording::new()
        .add("StatefulSet", statefulset(&["data"]).terminating())
        .add("Pod", Object::named("web-0"))
        .add("PersistentVolumeClaim", claim("data-web-0", true))
        .build(),
    "owner: sts/web\nkind: pvc\nsurvive: false"
)]
#[case::claims_deleted(claims_collected(), "owner: sts/web\nkind: pvc\nsurvive: true")]
#[case::claims_remain(
    deleted_statefulset(false).build(),
    "owner: sts/web\nkind: pvc\nsurvive: false"
)]
#[case::owned_claims_remain(
    deleted_statefulset(true).build(),
    "owner: sts/web\nkind: pvc\nsurvive: false"
)]
#[case::claim_being_deleted(
    deleted_statefulset(true)
        .modify("PersistentVolumeClaim", claim("logs-web-1", true).terminating())
        .build(),
    "owner: sts/web\nkind: pvc\nnames: [data-web-0, logs-web-1]\nsurvive: true"
)]
#[case::claim_never_recorded(
    deleted_statefulset(false).build(),
    "owner: sts/web\nkind: pvc\nnames: [data-web-9]\nsurvive: false"
)]
#[case::no_claim_templates(
    Recording::new()
        .add("StatefulSet", Object::named("web"))
        .delete("StatefulSet", Object::named("web"))
        .build(),
    "owner: sts/web\nkind: pvc\nsurvive: true"
)]
#[case::statefulset_never_recorded(claims_collected(), "owner: sts/db\nkind: pvc\nsurvive: true")]
#[case::no_dependents(
    orphaned_replicaset(),
    "owner: deployment/api\nkind: pod\nsurvive: true"
)]
#[case::unknown_kind(
    orphaned_replicaset(),
    "owner: deployment/api\nkind: replicaz\nsurvive: true"
)]
fn judge_survivors_fails(
    #[context] context: Context,
    #[case] timeline: Timeline,
    #[case] yaml: &str,
) {
    let outcome = judge(&timeline, yaml);

    assert!(outcome.failure.is_some(), "{outcome:?}");
    assert_message_snapshot!(context, render_outcome(&outcome));
}
