//! Cluster backends: an existing cluster from a kubeconfig, a k3s container started with
//! testcontainers, or the local cluster (upstream control plane with kwok-simulated nodes).

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub mod container;
pub mod local;

/// Which cluster to run against.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A cluster from a kubeconfig file (`None`: the default lookup kubectl uses, `KUBECONFIG`
    /// then `~/.kube/config`) and an optional context.
    Kubeconfig {
        path: Option<PathBuf>,
        context: Option<String>,
    },
    /// A k3s container; needs a Docker engine and the image locally or in a reachable registry.
    K3s { image: String, tag: String },
    /// The local cluster with these settings, started (and built) when needed.
    Local(local::LocalClusterConfig),
}

impl Backend {
    /// Names of the variables the backend provides once connected. Scenarios are loaded before
    /// the connection exists (listing trials must not start a cluster), with
    /// [`Backend::placeholder_variables`] standing in for these.
    pub fn provided_variables(&self) -> &'static [&'static str] {
        match self {
            Backend::Local(_) => &[
                "storageClass",
                "kubernetesVersion",
                "nodeCount",
                "workerCount",
                "controlPlaneCount",
            ],
            Backend::K3s { .. } | Backend::Kubeconfig { .. } => &["storageClass"],
        }
    }

    /// A stand-in value for every provided variable. The runner renders manifests with the
    /// connection's real values; a stand-in reaches a manifest only when the cluster lacks the
    /// value, and a scenario that needs storage declares `requires: [storage]`.
    pub fn placeholder_variables(&self) -> BTreeMap<String, String> {
        self.provided_variables()
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    format!("unset-{}", name.to_ascii_lowercase()),
                )
            })
            .collect()
    }
}

/// Errors of connecting to a backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// kube's kubeconfig errors repeat their cause in their own message, so `error` is not
    /// marked as the source, because printing the chain with `{:#}` would show that cause
    /// twice.
    #[error("read the kubeconfig {}", describe_kubeconfig_error(path.as_deref(), error))]
    KubeconfigFailed {
        path: Option<PathBuf>,
        error: kube::config::KubeconfigError,
    },
    #[error("build a client for context {}", context.as_deref().unwrap_or("(current)"))]
    ClientFailed {
        context: Option<String>,
        #[source]
        source: kube::Error,
    },
    #[error(
        "reach the API server at {url} (hint: check that the cluster runs and that the kubeconfig points at it)"
    )]
    Unreachable {
        url: String,
        #[source]
        source: kube::Error,
    },
    #[error("start the local cluster `{name}`")]
    LocalFailed {
        name: String,
        #[source]
        source: local::LocalClusterError,
    },
    #[error("start the k3s container {image}:{tag}")]
    ContainerFailed {
        image: String,
        tag: String,
        #[source]
        source: container::ContainerError,
    },
}

/// Describes a kubeconfig failure as `FILE: cause`. A read failure gives only the I/O error,
/// because kube's message for it repeats the file as a debug-quoted path.
fn describe_kubeconfig_error(
    path: Option<&std::path::Path>,
    error: &kube::config::KubeconfigError,
) -> String {
    use kube::config::KubeconfigError;
    match (path, error) {
        (Some(path), KubeconfigError::ReadConfig(io, _)) => format!("{}: {io}", path.display()),
        (None, KubeconfigError::ReadConfig(io, file)) => format!("{}: {io}", file.display()),
        (Some(path), other) => format!("{}: {other}", path.display()),
        (None, other) => format!("(default lookup): {other}"),
    }
}

/// A connected cluster: a client plus what scenarios may rely on.
pub struct Connection {
    pub client: Client,
    /// Short description for reports, such as `local cluster kspec (Kubernetes v1.37.2)`.
    pub description: String,
    /// Whether pods run on kwok-simulated nodes that obey `kspec.dev/` annotations.
    pub simulated: bool,
    /// Variables the backend provides to scenarios, such as `storageClass`.
    pub variables: BTreeMap<String, String>,
    /// URL of the API server, which identifies the cluster however it was reached.
    pub server: String,
    /// Keeps a container backend alive for as long as the connection lives.
    _container: Option<container::RunningK3s>,
}

impl Connection {
    /// Connects to a backend, starting the local cluster or a container when that is the
    /// backend, and checks that the API server answers.
    pub async fn open(
        backend: &Backend,
        on_progress: local::OnProgress<'_>,
    ) -> Result<Self, BackendError> {
        match backend {
            Backend::Kubeconfig { path, context } => {
                let connected = client_from_kubeconfig(path.clone(), context.clone()).await?;
                let version = connected.server_version().await?;
                let ClusterClient {
                    client,
                    url: server,
                } = connected;
                let storage_class = default_storage_class(&client).await;
                Ok(Self {
                    client,
                    description: format!(
                        "cluster from {} (Kubernetes {version})",
                        path.as_deref()
                            .map_or("the default kubeconfig".into(), |p| p.display().to_string())
                    ),
                    simulated: false,
                    variables: storage_class
                        .map(|class| BTreeMap::from([("storageClass".to_owned(), class)]))
                        .unwrap_or_default(),
                    server,
                    _container: None,
                })
            }
            Backend::Local(config) => {
                let name = &config.name;
                let cluster = local::LocalCluster::ensure_up(config, on_progress)
                    .await
                    .map_err(|source| BackendError::LocalFailed {
                        name: name.clone(),
                        source,
                    })?;
                let connected =
                    client_from_kubeconfig(Some(cluster.kubeconfig_path().to_path_buf()), None)
                        .await?;
                let version = connected.server_version().await?;
                let ClusterClient {
                    client,
                    url: server,
                } = connected;
                Ok(Self {
                    client,
                    description: format!("local cluster {name} (Kubernetes {version})"),
                    simulated: true,
                    variables: cluster.variables(),
                    server,
                    _container: None,
                })
            }
            Backend::K3s { image, tag } => {
                let running = container::RunningK3s::start(image, tag)
                    .await
                    .map_err(|source| BackendError::ContainerFailed {
                        image: image.clone(),
                        tag: tag.clone(),
                        source,
                    })?;
                let connected =
                    client_from_kubeconfig(Some(running.kubeconfig_path().to_path_buf()), None)
                        .await?;
                let version = connected.server_version().await?;
                let ClusterClient {
                    client,
                    url: server,
                } = connected;
                Ok(Self {
                    client,
                    description: format!("k3s container {image}:{tag} (Kubernetes {version})"),
                    simulated: false,
                    variables: BTreeMap::from([(
                        "storageClass".to_owned(),
                        "local-path".to_owned(),
                    )]),
                    server,
                    _container: Some(running),
                })
            }
        }
    }
}

async fn client_from_kubeconfig(
    path: Option<PathBuf>,
    context: Option<String>,
) -> Result<ClusterClient, BackendError> {
    let options = KubeConfigOptions {
        context: context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &path {
        Some(file) => {
            let kubeconfig =
                Kubeconfig::read_from(file).map_err(|error| BackendError::KubeconfigFailed {
                    path: path.clone(),
                    error,
                })?;
            Config::from_custom_kubeconfig(kubeconfig, &options).await
        }
        None => Config::from_kubeconfig(&options).await,
    }
    .map_err(|error| BackendError::KubeconfigFailed {
        path: path.clone(),
        error,
    })?;
    let url = config.cluster_url.to_string();
    let client = Client::try_from(config)
        .map_err(|source| BackendError::ClientFailed { context, source })?;
    Ok(ClusterClient { client, url })
}

/// A client and the API server URL it talks to.
struct ClusterClient {
    client: Client,
    url: String,
}

impl ClusterClient {
    async fn server_version(&self) -> Result<String, BackendError> {
        self.client
            .apiserver_version()
            .await
            .map(|info| info.git_version)
            .map_err(|source| BackendError::Unreachable {
                url: self.url.clone(),
                source,
            })
    }
}

/// Name of the StorageClass annotated as the cluster's default, if any.
async fn default_storage_class(client: &Client) -> Option<String> {
    use k8s_openapi::api::storage::v1::StorageClass;
    let classes = kube::Api::<StorageClass>::all(client.clone())
        .list(&Default::default())
        .await
        .ok()?;
    classes.items.into_iter().find_map(|class| {
        let annotations = class.metadata.annotations.as_ref()?;
        let is_default = annotations
            .get("storageclass.kubernetes.io/is-default-class")
            .is_some_and(|value| value == "true");
        is_default.then(|| class.metadata.name.clone()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::PathBuf;

    use kube::config::KubeconfigError;
    use rstest::rstest;

    use super::BackendError;

    fn not_found(file: &str) -> KubeconfigError {
        KubeconfigError::ReadConfig(
            io::Error::from(io::ErrorKind::NotFound),
            PathBuf::from(file),
        )
    }

    #[rstest]
    #[case::named_file(
        Some("/nonexistent/kc"),
        not_found("/nonexistent/kc"),
        "read the kubeconfig /nonexistent/kc: entity not found"
    )]
    #[case::default_lookup(
        None,
        not_found("/root/.kube/config"),
        "read the kubeconfig /root/.kube/config: entity not found"
    )]
    #[case::other_error(
        Some("/tmp/kc"),
        KubeconfigError::CurrentContextNotSet,
        "read the kubeconfig /tmp/kc: failed to determine current context"
    )]
    fn kubeconfig_error_reads_once(
        #[case] path: Option<&str>,
        #[case] error: KubeconfigError,
        #[case] expected: &str,
    ) {
        let error = BackendError::KubeconfigFailed {
            path: path.map(PathBuf::from),
            error,
        };
        let chain = format!("{:#}", anyhow::Error::from(error));
        assert_eq!(chain, expected);
    }
}
