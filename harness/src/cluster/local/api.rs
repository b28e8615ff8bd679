//! API calls after kwokctl has started the control plane: the StorageClass, the nodes, and
//! the wait for them to be Ready.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use super::error::LocalClusterError;
use super::stages::{PROVISIONER, STORAGE_CLASS};

/// Interval between two looks at the nodes while waiting for them.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Time one request gets while probing a cluster that may be dead.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a client for the cluster behind `kubeconfig`.
pub(crate) async fn client(kubeconfig: &Path, name: &str) -> Result<Client, LocalClusterError> {
    let kubeconfig_error = |source| LocalClusterError::Kubeconfig {
        path: kubeconfig.to_owned(),
        source,
    };
    let file = Kubeconfig::read_from(kubeconfig).map_err(kubeconfig_error)?;
    let mut config = Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
        .await
        .map_err(kubeconfig_error)?;
    config.connect_timeout = Some(PROBE_TIMEOUT);
    config.read_timeout = Some(Duration::from_secs(30));
    Client::try_from(config).map_err(|source| LocalClusterError::Client {
        name: name.to_owned(),
        source,
    })
}

/// Creates the default StorageClass, which binds claims immediately through the volume stages
/// and deletes released volumes.
pub(crate) async fn create_storage_class(client: &Client) -> Result<(), LocalClusterError> {
    let class = StorageClass {
        metadata: ObjectMeta {
            name: Some(STORAGE_CLASS.to_owned()),
            annotations: Some(BTreeMap::from([(
                "storageclass.kubernetes.io/is-default-class".to_owned(),
                "true".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        provisioner: PROVISIONER.to_owned(),
        reclaim_policy: Some("Delete".to_owned()),
        volume_binding_mode: Some("Immediate".to_owned()),
        allow_volume_expansion: Some(true),
        ..StorageClass::default()
    };
    let api: Api<StorageClass> = Api::all(client.clone());
    create_if_absent(
        &api,
        &class,
        &format!("create StorageClass {STORAGE_CLASS}"),
    )
    .await
}

/// Creates every node that does not exist yet.
pub(crate) async fn create_nodes(client: &Client, nodes: &[Node]) -> Result<(), LocalClusterError> {
    let api: Api<Node> = Api::all(client.clone());
    for node in nodes {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        create_if_absent(&api, node, &format!("create node {name}")).await?;
    }
    Ok(())
}

async fn create_if_absent<K>(
    api: &Api<K>,
    object: &K,
    action: &str,
) -> Result<(), LocalClusterError>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(source) => Err(LocalClusterError::api(action, source)),
    }
}

/// Node counts of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCounts {
    pub ready: usize,
    pub total: usize,
}

/// Counts the nodes and the Ready ones among them.
pub(crate) async fn node_counts(client: &Client) -> Result<NodeCounts, LocalClusterError> {
    let ready = ready_node_names(client, false).await?;
    let api: Api<Node> = Api::all(client.clone());
    let total = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(|source| LocalClusterError::api("list nodes", source))?
        .items
        .len();
    Ok(NodeCounts {
        ready: ready.len(),
        total,
    })
}

/// Lists the nodes that are Ready and, unless `schedulable` is false, free of the taints the
/// node lifecycle controller puts on nodes that are not ready.
async fn ready_node_names(
    client: &Client,
    schedulable: bool,
) -> Result<BTreeSet<String>, LocalClusterError> {
    let api: Api<Node> = Api::all(client.clone());
    let nodes = api
        .list(&ListParams::default())
        .await
        .map_err(|source| LocalClusterError::api("list nodes", source))?;
    Ok(nodes
        .items
        .into_iter()
        .filter(is_ready)
        .filter(|node| !schedulable || !has_readiness_taint(node))
        .filter_map(|node| node.metadata.name)
        .collect())
}

/// Returns whether the node carries `node.kubernetes.io/not-ready` or
/// `node.kubernetes.io/unreachable`. The node lifecycle controller adds the first when a node
/// registers before it is Ready, and removes it shortly after the node turns Ready. Until then
/// only pods that tolerate it, such as DaemonSet pods, are scheduled there.
fn has_readiness_taint(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|spec| spec.taints.as_ref())
        .is_some_and(|taints| {
            taints.iter().any(|taint| {
                taint.key == "node.kubernetes.io/not-ready"
                    || taint.key == "node.kubernetes.io/unreachable"
            })
        })
}

fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True")
        })
}

/// Waits until every node in `expected` is Ready and free of the not-ready taints, so that
/// pods can be scheduled there. On timeout the error contains how many of them were.
pub(crate) async fn wait_nodes_ready(
    client: &Client,
    expected: &BTreeSet<String>,
    timeout: Duration,
) -> Result<(), usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let ready = match ready_node_names(client, true).await {
            Ok(ready) => ready.intersection(expected).count(),
            // The API server may still be settling; a later attempt decides.
            Err(err) => {
                tracing::debug!(error = %err, "listing nodes failed; retrying");
                0
            }
        };
        if ready == expected.len() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ready);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
