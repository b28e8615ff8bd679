//! Integration tests of the local cluster backend against real clusters that the tests start.
//!
//! Most trials share the cluster `kspec-test`, started once before them and removed after
//! them; each trial works in its own namespace. The lifecycle trial uses its own cluster,
//! `kspec-test-lifecycle`, because it stops, kills and replaces it. Missing binaries are built
//! first, which takes minutes on a cold Go build cache.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kspec::cluster::local::{
    self, LocalCluster, LocalClusterConfig, Progress, annotations, layout::CONTROL_PLANE_ROLE,
};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::json;
use tokio::runtime::Runtime;

const SHARED_CLUSTER: &str = "kspec-test";
const LIFECYCLE_CLUSTER: &str = "kspec-test-lifecycle";

type TrialResult = Result<(), Failed>;

struct Shared {
    runtime: Runtime,
    client: Client,
}

fn main() {
    let args = Arguments::from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");

    let config = LocalClusterConfig::new(SHARED_CLUSTER);
    let setup = runtime.block_on(async {
        let cluster = LocalCluster::ensure_up(&config, &|progress| eprintln!("==> {progress}"))
            .await
            .map_err(|err| format!("failed to {err}"))?;
        cluster
            .client()
            .await
            .map_err(|err| format!("failed to {err}"))
    });
    let shared = setup.map(|client| Arc::new(Shared { runtime, client }));

    let trials = [
        (
            "nodes_ready_with_tainted_control_plane",
            shared_trial(&shared, nodes_ready),
        ),
        (
            "job_hello_world_completes",
            shared_trial(&shared, job_hello_world),
        ),
        (
            "failing_job_exceeds_backoff_limit",
            shared_trial(&shared, failing_job),
        ),
        (
            "on_failure_job_restarts_container",
            shared_trial(&shared, on_failure_job),
        ),
        (
            "indexed_job_uses_per_index_exit_code",
            shared_trial(&shared, indexed_job),
        ),
        (
            "not_ready_pod_stays_running",
            shared_trial(&shared, not_ready_pod),
        ),
        (
            "statefulset_orders_pods_and_binds_claims",
            shared_trial(&shared, statefulset),
        ),
        (
            "run_for_follows_restart_policy",
            shared_trial(&shared, run_for_and_restart_policies),
        ),
        (
            "pod_deletion_waits_for_finalizer",
            shared_trial(&shared, finalizer_delays_removal),
        ),
        (
            "daemonset_respects_control_plane_taint",
            shared_trial(&shared, daemonsets),
        ),
        ("lifecycle_down_up_kill_replace", Box::new(lifecycle)),
    ];
    let trials = trials
        .into_iter()
        .map(|(name, run)| Trial::test(name, run))
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);

    if let Ok(shared) = shared {
        let paths = config.paths.clone();
        if let Err(err) = shared
            .runtime
            .block_on(local::down(&paths, SHARED_CLUSTER, &|_| {}))
        {
            eprintln!("failed to {err}");
        }
    }
    conclusion.exit();
}

type TrialFn = Box<dyn FnOnce() -> TrialResult + Send>;

fn shared_trial<F, Fut>(shared: &Result<Arc<Shared>, String>, test: F) -> TrialFn
where
    F: FnOnce(Client) -> Fut + Send + 'static,
    Fut: Future<Output = TrialResult>,
{
    let shared = shared.clone();
    Box::new(move || {
        let shared = shared.map_err(|err| Failed::from(format!("cluster setup: {err}")))?;
        let client = shared.client.clone();
        shared.runtime.block_on(test(client))
    })
}

/// Fails the trial with `message` unless `condition` holds.
fn check(condition: bool, message: impl Into<String>) -> TrialResult {
    if condition {
        Ok(())
    } else {
        Err(message.into().into())
    }
}

/// Polls `probe` every 250ms until it returns `Some`, or fails after `timeout`.
async fn wait_for<T, Fut>(
    description: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Fut,
) -> Result<T, Failed>
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {description}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn namespace(client: &Client, name: &str) -> Result<String, Failed> {
    let api: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(err) => return Err(err.to_string().into()),
    }
    Ok(name.to_owned())
}

async fn create<K>(
    client: &Client,
    namespace: &str,
    manifest: serde_json::Value,
) -> Result<K, Failed>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let object: K = serde_json::from_value(manifest)?;
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api.create(&PostParams::default(), &object).await?)
}

fn job_condition(job: &Job, type_: &str) -> Option<(String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find_map(|condition| {
            (condition.type_ == type_ && condition.status == "True").then(|| {
                (
                    condition.reason.clone().unwrap_or_default(),
                    condition.message.clone().unwrap_or_default(),
                )
            })
        })
}

async fn wait_job_condition(
    client: &Client,
    namespace: &str,
    name: &str,
    type_: &str,
    timeout: Duration,
) -> Result<String, Failed> {
    let api: Api<Job> = Api::namespaced(client.clone(), namespace);
    wait_for(&format!("job {name} to be {type_}"), timeout, || async {
        let job = api.get(name).await.ok()?;
        job_condition(&job, type_).map(|(reason, _)| reason)
    })
    .await
}

async fn pods(client: &Client, namespace: &str, selector: &str) -> Result<Vec<Pod>, Failed> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .list(&ListParams::default().labels(selector))
        .await?
        .items)
}

fn pod_condition(pod: &Pod, type_: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == type_ && c.status == "True")
        })
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|status| status.phase.as_deref())
        .unwrap_or("")
}

fn terminated(pod: &Pod) -> Option<(i32, String)> {
    let state = pod
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?;
    let terminated = state.terminated.as_ref()?;
    Some((
        terminated.exit_code,
        terminated.reason.clone().unwrap_or_default(),
    ))
}

async fn nodes_ready(client: Client) -> TrialResult {
    let nodes = Api::<Node>::all(client)
        .list(&ListParams::default())
        .await?
        .items;
    let names: BTreeSet<String> = nodes
        .iter()
        .filter_map(|node| node.metadata.name.clone())
        .collect();
    check(
        names == BTreeSet::from(["cp-0", "worker-0", "worker-1", "worker-2"].map(String::from)),
        format!("unexpected nodes {names:?}"),
    )?;
    for node in &nodes {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            });
        check(ready, format!("node {:?} is not Ready", node.metadata.name))?;
        let kubelet = node
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|info| info.kubelet_version.clone());
        check(
            kubelet.as_deref() == Some("v1.37.2"),
            format!("kubelet version {kubelet:?}"),
        )?;
    }
    let tainted: Vec<&str> = nodes
        .iter()
        .filter(|node| {
            node.spec
                .as_ref()
                .and_then(|spec| spec.taints.as_ref())
                .is_some_and(|taints| {
                    taints.iter().any(|taint| {
                        taint.key == CONTROL_PLANE_ROLE && taint.effect == "NoSchedule"
                    })
                })
        })
        .filter_map(|node| node.metadata.name.as_deref())
        .collect();
    check(
        tainted == ["cp-0"],
        format!("control-plane taint on {tainted:?}"),
    )?;
    // up returns once the node lifecycle controller has lifted the not-ready taints.
    for node in &nodes {
        let keys: Vec<&str> = node
            .spec
            .as_ref()
            .and_then(|spec| spec.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|taint| taint.key.as_str())
            .collect();
        check(
            !keys.contains(&"node.kubernetes.io/not-ready"),
            format!("node {:?} has taints {keys:?}", node.metadata.name),
        )?;
    }
    let labelled = nodes
        .iter()
        .filter(|node| {
            node.metadata
                .labels
                .as_ref()
                .is_some_and(|labels| labels.get(CONTROL_PLANE_ROLE).is_some_and(String::is_empty))
        })
        .count();
    check(
        labelled == 1,
        format!("{labelled} nodes carry the control-plane role label"),
    )
}

async fn job_hello_world(client: Client) -> TrialResult {
    let ns = namespace(&client, "job-hello-world").await?;
    create::<Job>(&client, &ns, json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "job-hello-world"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "hello", "image": "busybox", "args": ["sh", "-c", "echo hello, world && exit 0"]}],
        }}},
    }))
    .await?;
    wait_job_condition(
        &client,
        &ns,
        "job-hello-world",
        "Complete",
        Duration::from_secs(60),
    )
    .await?;
    let job = Api::<Job>::namespaced(client, &ns)
        .get("job-hello-world")
        .await?;
    let succeeded = job.status.as_ref().and_then(|status| status.succeeded);
    check(
        succeeded == Some(1),
        format!("succeeded = {succeeded:?}, expected 1/1"),
    )
}

async fn failing_job(client: Client) -> TrialResult {
    let ns = namespace(&client, "job-fail").await?;
    let backoff_limit = 2;
    create::<Job>(&client, &ns, json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "fail"},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "metadata": {"annotations": {annotations::EXIT_CODE: "1", annotations::RUN_FOR: "200ms"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }))
    .await?;
    // The Job controller waits 10s, then 20s, before it replaces a failed pod.
    let reason =
        wait_job_condition(&client, &ns, "fail", "Failed", Duration::from_secs(120)).await?;
    check(
        reason == "BackoffLimitExceeded",
        format!("Failed reason {reason}"),
    )?;

    let pods = pods(&client, &ns, "job-name=fail").await?;
    let failed: Vec<_> = pods.iter().filter(|pod| phase(pod) == "Failed").collect();
    check(
        failed.len() == backoff_limit + 1,
        format!(
            "{} failed pods, expected {}",
            failed.len(),
            backoff_limit + 1
        ),
    )?;
    check(
        pods.len() == backoff_limit + 1,
        format!("{} pods in total", pods.len()),
    )?;
    for pod in failed {
        let outcome = terminated(pod);
        check(
            outcome == Some((1, "Error".to_owned())),
            format!("pod terminated with {outcome:?}"),
        )?;
    }
    Ok(())
}

async fn on_failure_job(client: Client) -> TrialResult {
    let ns = namespace(&client, "job-on-failure").await?;
    create::<Job>(&client, &ns, json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "retry"},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "metadata": {"annotations": {annotations::EXIT_CODE: "3", annotations::RUN_FOR: "500ms"}},
                "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }))
    .await?;
    // The pod restarts in place; watch it while it does.
    let restarted = wait_for("a restarted container", Duration::from_secs(60), || async {
        let pods = pods(&client, &ns, "job-name=retry").await.ok()?;
        pods.into_iter().find_map(|pod| {
            let status = pod
                .status
                .as_ref()?
                .container_statuses
                .as_ref()?
                .first()?
                .clone();
            (status.restart_count >= 1).then_some((phase(&pod).to_owned(), status))
        })
    })
    .await?;
    let (pod_phase, status) = restarted;
    check(
        pod_phase == "Running",
        format!("a restarting pod is {pod_phase}"),
    )?;
    let last = status.last_state.and_then(|state| state.terminated);
    check(
        last.as_ref().map(|t| t.exit_code) == Some(3),
        format!("last state {last:?}"),
    )?;
    check(
        last.and_then(|t| t.reason).as_deref() == Some("Error"),
        "last state reason is not Error",
    )?;

    let reason =
        wait_job_condition(&client, &ns, "retry", "Failed", Duration::from_secs(60)).await?;
    check(
        reason == "BackoffLimitExceeded",
        format!("Failed reason {reason}"),
    )
}

async fn indexed_job(client: Client) -> TrialResult {
    let ns = namespace(&client, "job-indexed").await?;
    create::<Job>(&client, &ns, json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "indexed"},
        "spec": {
            "completionMode": "Indexed",
            "completions": 3,
            "parallelism": 3,
            "backoffLimitPerIndex": 0,
            "template": {
                "metadata": {"annotations": {annotations::exit_code_for_index(1): "7"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
            },
        },
    }))
    .await?;
    wait_job_condition(&client, &ns, "indexed", "Failed", Duration::from_secs(60)).await?;
    let job = Api::<Job>::namespaced(client.clone(), &ns)
        .get("indexed")
        .await?;
    let status = job.status.unwrap_or_default();
    check(
        status.failed_indexes.as_deref() == Some("1"),
        format!("failed indexes {:?}", status.failed_indexes),
    )?;
    check(
        status.completed_indexes.as_deref() == Some("0,2"),
        format!("completed indexes {:?}", status.completed_indexes),
    )?;

    for pod in pods(&client, &ns, "job-name=indexed").await? {
        let index = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(annotations::JOB_COMPLETION_INDEX))
            .cloned();
        let expected = if index.as_deref() == Some("1") {
            (7, "Error")
        } else {
            (0, "Completed")
        };
        let outcome = terminated(&pod);
        check(
            outcome == Some((expected.0, expected.1.to_owned())),
            format!("index {index:?} terminated with {outcome:?}"),
        )?;
    }
    Ok(())
}

async fn not_ready_pod(client: Client) -> TrialResult {
    let ns = namespace(&client, "pod-not-ready").await?;
    create::<Pod>(&client, &ns, json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "idle", "annotations": {annotations::READY: "false", annotations::START_AFTER: "200ms"}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }))
    .await?;
    let api: Api<Pod> = Api::namespaced(client, &ns);
    let pod = wait_for("pod idle to run", Duration::from_secs(30), || async {
        api.get("idle")
            .await
            .ok()
            .filter(|pod| phase(pod) == "Running")
    })
    .await?;
    check(!pod_condition(&pod, "Ready"), "the pod became Ready")?;
    check(
        !pod_condition(&pod, "ContainersReady"),
        "the containers became Ready",
    )?;
    let ip = pod.status.as_ref().and_then(|status| status.pod_ip.clone());
    check(ip.is_some(), "the running pod has no IP")?;

    // Running pods without run-for keep running.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pod = api.get("idle").await?;
    check(
        phase(&pod) == "Running",
        format!("the pod is {} after 2s", phase(&pod)),
    )
}

async fn run_for_and_restart_policies(client: Client) -> TrialResult {
    let ns = namespace(&client, "pod-run-for").await?;
    let pod = |name: &str, restart_policy: &str, annotations: serde_json::Value| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "restartPolicy": restart_policy,
                "containers": [{"name": "main", "image": "busybox"}],
            },
        })
    };
    create::<Pod>(
        &client,
        &ns,
        pod("once", "Never", json!({annotations::RUN_FOR: "500ms"})),
    )
    .await?;
    create::<Pod>(
        &client,
        &ns,
        pod(
            "looping",
            "Always",
            json!({annotations::RUN_FOR: "500ms", annotations::EXIT_CODE: "2"}),
        ),
    )
    .await?;
    create::<Pod>(
        &client,
        &ns,
        pod("late", "Always", json!({annotations::START_AFTER: "3s"})),
    )
    .await?;
    let api: Api<Pod> = Api::namespaced(client, &ns);

    // A pod cannot start before its start-after delay has passed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let late = api.get("late").await?;
    check(
        phase(&late) == "Pending",
        format!("pod late is {} 1s after creation", phase(&late)),
    )?;

    let once = wait_for("pod once to succeed", Duration::from_secs(30), || async {
        api.get("once")
            .await
            .ok()
            .filter(|pod| phase(pod) == "Succeeded")
    })
    .await?;
    let outcome = terminated(&once);
    check(
        outcome == Some((0, "Completed".to_owned())),
        format!("pod once terminated with {outcome:?}"),
    )?;

    let looping = wait_for(
        "pod looping to restart twice",
        Duration::from_secs(30),
        || async {
            let pod = api.get("looping").await.ok()?;
            let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
            (status.restart_count >= 2).then_some(pod.clone())
        },
    )
    .await?;
    check(
        phase(&looping) == "Running",
        format!("pod looping is {}", phase(&looping)),
    )?;
    let last = looping
        .status
        .and_then(|status| status.container_statuses)
        .and_then(|statuses| statuses.into_iter().next())
        .and_then(|status| status.last_state)
        .and_then(|state| state.terminated);
    check(
        last.as_ref().map(|terminated| terminated.exit_code) == Some(2),
        format!("pod looping last state {last:?}"),
    )?;

    let late = wait_for("pod late to run", Duration::from_secs(30), || async {
        api.get("late")
            .await
            .ok()
            .filter(|pod| phase(pod) == "Running")
    })
    .await?;
    let status = late.status.unwrap_or_default();
    let scheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|condition| condition.type_ == "PodScheduled")
        .and_then(|condition| condition.last_transition_time.clone());
    let started = status.start_time;
    let waited = match (scheduled, started) {
        (Some(scheduled), Some(started)) => started.0.as_second() - scheduled.0.as_second(),
        other => return Err(format!("pod late lacks timestamps: {other:?}").into()),
    };
    // Both timestamps have whole seconds, so a 3s delay shows as at least 2s.
    check(
        waited >= 2,
        format!("pod late started {waited}s after scheduling"),
    )
}

async fn statefulset(client: Client) -> TrialResult {
    let ns = namespace(&client, "statefulset").await?;
    create::<Service>(&client, &ns, json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
    }))
    .await?;

    // Record pod events in the order the API server delivers them, to check that each pod
    // appeared only after its predecessor was Running and Ready.
    let events: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let watch_events = events.clone();
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let watch = tokio::spawn(async move {
        let stream =
            watcher(pods_api, watcher::Config::default().labels("app=web")).applied_objects();
        let mut stream = std::pin::pin!(stream);
        while let Ok(Some(pod)) = stream.try_next().await {
            let ready = phase(&pod) == "Running" && pod_condition(&pod, "Ready");
            watch_events
                .lock()
                .unwrap()
                .push((pod.metadata.name.clone().unwrap_or_default(), ready));
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    create::<StatefulSet>(&client, &ns, json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "serviceName": "web",
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "nginx", "image": "nginx",
                    "ports": [{"name": "http", "containerPort": 80}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }]},
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }],
        },
    }))
    .await?;

    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    wait_for("3 ready replicas", Duration::from_secs(60), || async {
        let sts = sts_api.get("web").await.ok()?;
        (sts.status?.ready_replicas == Some(3)).then_some(())
    })
    .await?;
    watch.abort();

    let events = events.lock().unwrap().clone();
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_ready: BTreeMap<String, usize> = BTreeMap::new();
    for (position, (name, ready)) in events.iter().enumerate() {
        first_seen.entry(name.clone()).or_insert(position);
        if *ready {
            first_ready.entry(name.clone()).or_insert(position);
        }
    }
    for (previous, next) in [("web-0", "web-1"), ("web-1", "web-2")] {
        let ready = first_ready.get(previous).copied();
        let created = first_seen.get(next).copied();
        check(
            matches!((ready, created), (Some(ready), Some(created)) if ready < created),
            format!(
                "{next} appeared at event {created:?}, {previous} was Ready at {ready:?}: {events:?}"
            ),
        )?;
    }

    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await?
        .items;
    let bound: BTreeSet<String> = claims
        .iter()
        .filter(|claim| claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
        .filter_map(|claim| claim.metadata.name.clone())
        .collect();
    check(
        bound == BTreeSet::from(["data-web-0", "data-web-1", "data-web-2"].map(String::from)),
        format!("bound claims {bound:?}"),
    )?;

    let slices_api: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns);
    let hostnames = wait_for(
        "an EndpointSlice with 3 hostnames",
        Duration::from_secs(30),
        || async {
            let slices = slices_api
                .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
                .await
                .ok()?;
            let hostnames: BTreeSet<String> = slices
                .items
                .iter()
                .flat_map(|slice| slice.endpoints.iter().flatten())
                .filter(|endpoint| !endpoint.addresses.is_empty())
                .filter_map(|endpoint| endpoint.hostname.clone())
                .collect();
            (hostnames.len() == 3).then_some(hostnames)
        },
    )
    .await?;
    check(
        hostnames == BTreeSet::from(["web-0", "web-1", "web-2"].map(String::from)),
        format!("endpoint hostnames {hostnames:?}"),
    )?;

    // Scaling down removes web-2 but keeps its claim Bound (the default retention policy).
    let patch = json!({"spec": {"replicas": 2}});
    sts_api
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    wait_for(
        "pod web-2 to be removed",
        Duration::from_secs(30),
        || async { matches!(pods_api.get_opt("web-2").await, Ok(None)).then_some(()) },
    )
    .await?;
    let claims_api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let claim = claims_api.get("data-web-2").await?;
    let claim_phase = claim
        .status
        .as_ref()
        .and_then(|status| status.phase.clone());
    check(
        claim_phase.as_deref() == Some("Bound"),
        format!("retained claim is {claim_phase:?}"),
    )?;

    // Deleting the claim deletes its volume (reclaim policy Delete).
    let volume = claim
        .spec
        .and_then(|spec| spec.volume_name)
        .ok_or("the bound claim names no volume")?;
    claims_api
        .delete("data-web-2", &DeleteParams::default())
        .await?;
    let volumes_api: Api<PersistentVolume> = Api::all(client);
    wait_for(
        "the released volume to be deleted",
        Duration::from_secs(30),
        || async { matches!(volumes_api.get_opt(&volume).await, Ok(None)).then_some(()) },
    )
    .await
}

async fn finalizer_delays_removal(client: Client) -> TrialResult {
    let ns = namespace(&client, "pod-finalizer").await?;
    create::<Pod>(
        &client,
        &ns,
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "guarded", "finalizers": ["kspec.dev/test-guard"]},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]},
        }),
    )
    .await?;
    let api: Api<Pod> = Api::namespaced(client, &ns);
    wait_for("pod guarded to run", Duration::from_secs(30), || async {
        api.get("guarded")
            .await
            .ok()
            .filter(|pod| phase(pod) == "Running")
    })
    .await?;

    // A deleted pod stops (it ends Failed) but stays while its finalizer is set.
    api.delete("guarded", &DeleteParams::default()).await?;
    let stopped = wait_for("pod guarded to stop", Duration::from_secs(30), || async {
        api.get("guarded")
            .await
            .ok()
            .filter(|pod| phase(pod) == "Failed")
    })
    .await?;
    check(
        stopped.metadata.deletion_timestamp.is_some(),
        "the stopped pod has no deletionTimestamp",
    )?;
    let outcome = terminated(&stopped);
    check(
        outcome == Some((137, "Error".to_owned())),
        format!("the stopped container terminated with {outcome:?}"),
    )?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    check(
        api.get_opt("guarded").await?.is_some(),
        "the pod was removed while its finalizer was set",
    )?;

    // Removing the finalizer lets the API server remove the pod.
    let patch = json!({"metadata": {"finalizers": null}});
    api.patch("guarded", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait_for(
        "pod guarded to be removed",
        Duration::from_secs(30),
        || async { matches!(api.get_opt("guarded").await, Ok(None)).then_some(()) },
    )
    .await
}

async fn daemonsets(client: Client) -> TrialResult {
    let ns = namespace(&client, "daemonset").await?;
    let daemonset = |name: &str, tolerate: bool| {
        let tolerations = if tolerate {
            json!([{"key": CONTROL_PLANE_ROLE, "operator": "Exists", "effect": "NoSchedule"}])
        } else {
            json!([])
        };
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"tolerations": tolerations, "containers": [{"name": "agent", "image": "busybox"}]},
                },
            },
        })
    };
    create::<DaemonSet>(&client, &ns, daemonset("plain", false)).await?;
    create::<DaemonSet>(&client, &ns, daemonset("tolerant", true)).await?;

    let api: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    for (name, expected) in [("plain", 3), ("tolerant", 4)] {
        let status = wait_for(
            &format!("daemonset {name} to be ready"),
            Duration::from_secs(60),
            || async {
                let status = api.get(name).await.ok()?.status?;
                (status.number_ready == expected && status.desired_number_scheduled == expected)
                    .then_some(status)
            },
        )
        .await?;
        check(
            status.number_misscheduled == 0,
            format!("{name} misscheduled pods"),
        )?;
        let pods = pods(&client, &ns, &format!("app={name}")).await?;
        check(
            pods.len() == expected as usize,
            format!("{name} has {} pods, expected {expected}", pods.len()),
        )?;
        let on_control_plane = pods.iter().any(|pod| {
            pod.spec.as_ref().and_then(|spec| spec.node_name.as_deref()) == Some("cp-0")
        });
        check(
            on_control_plane == (name == "tolerant"),
            format!("{name} on cp-0: {on_control_plane}"),
        )?;
    }
    Ok(())
}

fn lifecycle() -> TrialResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lifecycle_steps())
}

/// Reads the API server's address from the kubeconfig, to check that its port is released.
fn api_server_address(kubeconfig: &Path) -> Result<SocketAddr, Failed> {
    let text = std::fs::read_to_string(kubeconfig)?;
    let server = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("server: https://"))
        .ok_or("no server in the kubeconfig")?;
    Ok(server.trim().parse()?)
}

async fn lifecycle_steps() -> TrialResult {
    let mut config = LocalClusterConfig::new(LIFECYCLE_CLUSTER);
    config.layout = local::NodeLayout::new(1, 1);
    let paths = config.paths.clone();
    let quiet = |_: &Progress| {};

    // A leftover from an earlier run must not decide the outcome.
    local::down(&paths, LIFECYCLE_CLUSTER, &quiet).await?;
    // Two concurrent calls take turns: one starts the cluster, the other reuses it.
    let (first, second) = tokio::join!(
        LocalCluster::ensure_up(&config, &quiet),
        LocalCluster::ensure_up(&config, &quiet)
    );
    let (first, second) = (first?, second?);
    check(
        first.reused() != second.reused(),
        format!(
            "concurrent calls reused: {} and {}",
            first.reused(),
            second.reused()
        ),
    )?;
    let again = LocalCluster::ensure_up(&config, &quiet).await?;
    check(again.reused(), "a healthy matching cluster was not reused")?;

    // down leaves no process, port or directory behind.
    let address = api_server_address(first.kubeconfig_path())?;
    let processes = component_pids(&paths).await?;
    check(
        processes.len() == local::COMPONENTS.len(),
        format!("running components {processes:?}"),
    )?;
    check(
        local::down(&paths, LIFECYCLE_CLUSTER, &quiet).await?,
        "down found no cluster",
    )?;
    for pid in &processes {
        check(!alive(*pid), format!("process {pid} survived down"))?;
    }
    check(
        !first.dir().exists(),
        format!("{} survived down", first.dir().display()),
    )?;
    check(
        TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err(),
        format!(
            "{address} still accepts connections: {}",
            listeners(address.port())
        ),
    )?;

    // up works after down.
    let restarted = LocalCluster::ensure_up(&config, &quiet).await?;
    check(
        !restarted.reused(),
        "up after down reused a removed cluster",
    )?;

    // SIGKILL every component; up replaces the dead cluster instead of joining it.
    for pid in component_pids(&paths).await? {
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let seen = reasons.clone();
    let on_progress = move |progress: &Progress| {
        if let Progress::Replacing { reason, .. } = progress {
            seen.lock().unwrap().push(reason.clone());
        }
    };
    let replaced = LocalCluster::ensure_up(&config, &on_progress).await?;
    check(!replaced.reused(), "a killed cluster was reused")?;
    let reasons = reasons.lock().unwrap().clone();
    check(
        reasons.len() == 1 && reasons[0].contains("not running"),
        format!("replace reasons {reasons:?}"),
    )?;
    let client = replaced.client().await?;
    let nodes = Api::<Node>::all(client)
        .list(&ListParams::default())
        .await?
        .items;
    check(
        nodes.len() == 2,
        format!("{} nodes after replacing", nodes.len()),
    )?;

    // A changed layout replaces the cluster too.
    config.layout = local::NodeLayout::new(1, 2);
    let resized = LocalCluster::ensure_up(&config, &quiet).await?;
    check(
        !resized.reused(),
        "a cluster with another layout was reused",
    )?;

    local::down(&paths, LIFECYCLE_CLUSTER, &quiet).await?;
    Ok(())
}

/// Describes the listening sockets on `port` with `ss`, for a failure message.
fn listeners(port: u16) -> String {
    std::process::Command::new("ss")
        .args(["-ltnpH", &format!("sport = :{port}")])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|err| format!("(ss failed: {err})"))
}

/// Returns whether `pid` runs; a zombie waiting to be reaped does not.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

async fn component_pids(paths: &local::Paths) -> Result<Vec<u32>, Failed> {
    let statuses = local::status(paths).await?;
    let status = statuses
        .iter()
        .find(|status| status.name == LIFECYCLE_CLUSTER)
        .ok_or("the lifecycle cluster is not listed")?;
    Ok(status
        .components
        .iter()
        .filter(|process| process.running)
        .filter_map(|process| process.pid)
        .collect())
}
