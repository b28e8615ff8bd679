//! Starting, reusing, replacing and removing local clusters.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::api::{self, NodeCounts};
use super::build::{self, Binaries};
use super::error::LocalClusterError;
use super::kwokctl::{self, ComponentProcess, KwokctlFiles};
use super::layout::NodeLayout;
use super::lock;
use super::paths::Paths;
use super::progress::{OnProgress, Progress, report};
use super::stages::STORAGE_CLASS;
use super::versions::Versions;

/// Name of the cluster when none is given.
pub const DEFAULT_NAME: &str = "kspec";

/// Record of a finished `up`, written last, in the cluster directory.
const RECORD: &str = "kspec-cluster.json";

/// Time the components get to exit after kwokctl signalled them, before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Default time the nodes get to become Ready.
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings of a cluster to start: name, component versions, nodes and directories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalClusterConfig {
    /// Cluster name: 1 to 40 lowercase letters, digits and `-`. Default: `kspec`.
    pub name: String,
    pub versions: Versions,
    pub layout: NodeLayout,
    pub paths: Paths,
    /// Time the nodes get to become Ready after the control plane started. Default: 60s.
    pub ready_timeout: Duration,
}

impl LocalClusterConfig {
    /// Creates settings with the default versions and layout, and directories from the
    /// environment.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            versions: Versions::default(),
            layout: NodeLayout::default(),
            paths: Paths::from_env(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
}

impl Default for LocalClusterConfig {
    fn default() -> Self {
        Self::new(DEFAULT_NAME)
    }
}

/// The record of a started cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterRecord {
    name: String,
    /// SHA-256 of the kwokctl configuration and the layout; a cluster whose fingerprint
    /// differs from the requested one is replaced.
    fingerprint: String,
    versions: Versions,
    layout: NodeLayout,
}

/// A running local cluster.
#[derive(Clone, Debug)]
pub struct LocalCluster {
    name: String,
    dir: PathBuf,
    files: KwokctlFiles,
    versions: Versions,
    layout: NodeLayout,
    reused: bool,
}

impl LocalCluster {
    /// Makes sure the cluster `config.name` runs with the requested versions and layout, and
    /// returns it once all its nodes are Ready and free of the `node.kubernetes.io/not-ready`
    /// taint.
    ///
    /// Missing binaries are built first (minutes when the Go build cache is cold). A healthy
    /// cluster with the same configuration is reused. A cluster with another configuration, a
    /// dead component or no record of a finished start is deleted and started anew. Calls for
    /// the same name from several processes take turns through a file lock.
    pub async fn ensure_up(
        config: &LocalClusterConfig,
        on_progress: OnProgress<'_>,
    ) -> Result<LocalCluster, LocalClusterError> {
        validate_name(&config.name)?;
        config.layout.validate()?;
        let (binaries, _) =
            build::ensure_built(&config.paths, config.versions, false, on_progress).await?;

        let _lock = lock::lock(&config.paths.cluster_lock(&config.name)).await?;
        let dir = config.paths.cluster_dir(&config.name);
        let files = KwokctlFiles::new(&dir, &config.name);
        let kwokctl_config = kwokctl::render_config(&binaries, &config.versions);
        let fingerprint = fingerprint(&kwokctl_config, &config.layout);
        let mut cluster = LocalCluster {
            name: config.name.clone(),
            dir: dir.clone(),
            files,
            versions: config.versions,
            layout: config.layout.clone(),
            reused: false,
        };

        if dir.exists() {
            match cluster.assess(&fingerprint).await {
                Ok(()) => {
                    let started = Instant::now();
                    cluster.provision(config.ready_timeout).await?;
                    cluster.reused = true;
                    report(
                        on_progress,
                        Progress::Reused {
                            name: cluster.name.clone(),
                        },
                    );
                    cluster.report_ready(on_progress, started);
                    return Ok(cluster);
                }
                Err(reason) => {
                    report(
                        on_progress,
                        Progress::Replacing {
                            name: cluster.name.clone(),
                            reason,
                        },
                    );
                    remove(&config.paths, &config.name).await?;
                }
            }
        }

        let started = Instant::now();
        report(
            on_progress,
            Progress::Starting {
                name: cluster.name.clone(),
            },
        );
        let start_lock = lock::lock(&config.paths.start_lock()).await?;
        let started_cluster = cluster
            .start(&binaries, &kwokctl_config, config.ready_timeout)
            .await;
        drop(start_lock);
        if let Err(err) = started_cluster {
            // Stop the processes but keep the logs in the cluster directory for troubleshooting.
            // The next `up` replaces the cluster because it has no record.
            let pids = kwokctl::running_pids(&cluster.files);
            if let Err(stop_err) = kwokctl::stop(&binaries, &cluster.files).await {
                tracing::debug!(error = %stop_err, "stopping the failed cluster failed");
            }
            kwokctl::reap(&cluster.files.workdir, &pids, STOP_GRACE).await;
            return Err(err);
        }
        let record = ClusterRecord {
            name: cluster.name.clone(),
            fingerprint,
            versions: cluster.versions,
            layout: cluster.layout.clone(),
        };
        write_record(&dir, &record)?;
        cluster.report_ready(on_progress, started);
        Ok(cluster)
    }

    /// Cluster name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Directory of the cluster's files, which `down` removes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kubeconfig of the cluster, with the context `kwok-<name>` selected.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.files.kubeconfig
    }

    /// Directory of the component logs (`kube-apiserver.log`, `kwok-controller.log`, …).
    pub fn logs_dir(&self) -> PathBuf {
        self.files.logs_dir()
    }

    /// Returns whether `ensure_up` found this cluster running instead of starting it.
    pub fn reused(&self) -> bool {
        self.reused
    }

    pub fn versions(&self) -> Versions {
        self.versions
    }

    pub fn layout(&self) -> &NodeLayout {
        &self.layout
    }

    /// Builds a client for the cluster's API server.
    pub async fn client(&self) -> Result<kube::Client, LocalClusterError> {
        api::client(self.kubeconfig_path(), &self.name).await
    }

    /// Variables the backend offers scenarios:
    ///
    /// - `storageClass`: the default StorageClass, which binds any number of claims;
    /// - `kubernetesVersion`: the control plane's version, such as `v1.37.2`;
    /// - `nodeCount`, `workerCount` and `controlPlaneCount`: node counts of the layout.
    pub fn variables(&self) -> BTreeMap<String, String> {
        let nodes = self.layout.node_count();
        let control_planes = self.layout.control_plane_count();
        BTreeMap::from([
            ("storageClass".to_owned(), STORAGE_CLASS.to_owned()),
            (
                "kubernetesVersion".to_owned(),
                self.versions.kubernetes.to_string(),
            ),
            ("nodeCount".to_owned(), nodes.to_string()),
            (
                "workerCount".to_owned(),
                (nodes - control_planes).to_string(),
            ),
            ("controlPlaneCount".to_owned(), control_planes.to_string()),
        ])
    }

    /// Checks that the existing cluster can be reused. Returns why not otherwise.
    async fn assess(&self, fingerprint: &str) -> Result<(), String> {
        let Some(record) = read_record(&self.dir) else {
            return Err("it has no record of a finished start".to_owned());
        };
        if record.fingerprint != fingerprint {
            return Err("its versions, nodes or stages differ from the requested ones".to_owned());
        }
        let stopped: Vec<String> = kwokctl::processes(&self.files)
            .into_iter()
            .filter(|process| !process.running)
            .map(|process| process.name)
            .collect();
        if !stopped.is_empty() {
            return Err(format!("{} not running", stopped.join(", ")));
        }
        let client = self.client().await.map_err(|err| err.to_string())?;
        match tokio::time::timeout(api::PROBE_TIMEOUT, api::node_counts(&client)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(format!("its API server does not answer: {err}")),
            Err(_) => Err("its API server does not answer".to_owned()),
        }
    }

    async fn start(
        &self,
        binaries: &Binaries,
        kwokctl_config: &str,
        ready_timeout: Duration,
    ) -> Result<(), LocalClusterError> {
        fs::create_dir_all(&self.dir)
            .map_err(|source| LocalClusterError::io("create directory", &self.dir, source))?;
        fs::write(&self.files.config, kwokctl_config)
            .map_err(|source| LocalClusterError::io("write", &self.files.config, source))?;
        kwokctl::create(binaries, &self.files).await?;
        self.provision(ready_timeout).await
    }

    /// Creates the StorageClass and the nodes of the layout where they are missing, and waits
    /// until all nodes are Ready.
    async fn provision(&self, timeout: Duration) -> Result<(), LocalClusterError> {
        let client = self.client().await?;
        api::create_storage_class(&client).await?;
        let nodes = self.layout.nodes();
        api::create_nodes(&client, &nodes).await?;
        let expected: BTreeSet<String> = nodes
            .into_iter()
            .filter_map(|node| node.metadata.name)
            .collect();
        api::wait_nodes_ready(&client, &expected, timeout)
            .await
            .map_err(|ready| LocalClusterError::NodesNotReady {
                name: self.name.clone(),
                ready,
                expected: expected.len(),
                timeout,
                log: self.logs_dir().join("kwok-controller.log"),
            })
    }

    fn report_ready(&self, on_progress: OnProgress<'_>, started: Instant) {
        report(
            on_progress,
            Progress::NodesReady {
                name: self.name.clone(),
                nodes: self.layout.node_count(),
                elapsed: started.elapsed(),
            },
        );
    }
}

/// Stops the cluster `name` and removes its processes and directory. Returns false when no
/// such cluster existed.
pub async fn down(
    paths: &Paths,
    name: &str,
    on_progress: OnProgress<'_>,
) -> Result<bool, LocalClusterError> {
    validate_name(name)?;
    let _lock = lock::lock(&paths.cluster_lock(name)).await?;
    if !paths.cluster_dir(name).exists() {
        return Ok(false);
    }
    remove(paths, name).await?;
    report(
        on_progress,
        Progress::Removed {
            name: name.to_owned(),
        },
    );
    Ok(true)
}

/// Deletes the cluster with kwokctl, kills what survived and removes the directory. The
/// caller holds the cluster lock.
async fn remove(paths: &Paths, name: &str) -> Result<(), LocalClusterError> {
    let dir = paths.cluster_dir(name);
    let files = KwokctlFiles::new(&dir, name);
    let versions = read_record(&dir)
        .map(|record| record.versions)
        .unwrap_or_default();
    let binaries = Binaries::new(paths, versions);
    // kwokctl removes the pid files, so read them first.
    let pids = kwokctl::running_pids(&files);
    if files.config.exists()
        && let Err(err) = kwokctl::delete(&binaries, &files).await
    {
        tracing::debug!(error = %err, "kwokctl delete failed; killing the processes");
    }
    let survivors = kwokctl::reap(&files.workdir, &pids, STOP_GRACE).await;
    if !survivors.is_empty() {
        tracing::warn!(
            ?survivors,
            cluster = name,
            "component processes survived SIGKILL; check them with `ps`"
        );
    }
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LocalClusterError::io("remove", &dir, source)),
    }
}

/// Runtime state of one cluster.
#[derive(Clone, Debug)]
pub struct ClusterStatus {
    pub name: String,
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    /// Versions from the cluster's record; `None` when it never finished starting.
    pub versions: Option<Versions>,
    pub components: Vec<ComponentProcess>,
    /// Node counts, when the API server responded.
    pub nodes: Option<NodeCounts>,
}

impl ClusterStatus {
    /// Returns whether every component runs and every node is Ready.
    pub fn healthy(&self) -> bool {
        self.versions.is_some()
            && self.components.iter().all(|process| process.running)
            && self
                .nodes
                .is_some_and(|nodes| nodes.total > 0 && nodes.ready == nodes.total)
    }
}

/// Lists the names of the clusters under the state directory, sorted.
pub fn names(paths: &Paths) -> Result<Vec<String>, LocalClusterError> {
    let clusters_dir = paths.clusters_dir();
    let entries = match fs::read_dir(&clusters_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(LocalClusterError::io("list", &clusters_dir, source)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Inspects every cluster under the state directory, sorted by name.
pub async fn status(paths: &Paths) -> Result<Vec<ClusterStatus>, LocalClusterError> {
    let mut statuses = Vec::new();
    for name in names(paths)? {
        let dir = paths.cluster_dir(&name);
        let files = KwokctlFiles::new(&dir, &name);
        let components = kwokctl::processes(&files);
        let api_running = components
            .iter()
            .any(|process| process.name == "kube-apiserver" && process.running);
        let nodes = if api_running {
            probe_nodes(&files.kubeconfig, &name).await
        } else {
            None
        };
        statuses.push(ClusterStatus {
            versions: read_record(&dir).map(|record| record.versions),
            kubeconfig: files.kubeconfig.clone(),
            name,
            dir,
            components,
            nodes,
        });
    }
    Ok(statuses)
}

async fn probe_nodes(kubeconfig: &Path, name: &str) -> Option<NodeCounts> {
    let client = api::client(kubeconfig, name).await.ok()?;
    tokio::time::timeout(api::PROBE_TIMEOUT, api::node_counts(&client))
        .await
        .ok()?
        .ok()
}

/// Checks that `name` is safe as a directory name and a kwokctl cluster name.
fn validate_name(name: &str) -> Result<(), LocalClusterError> {
    let bytes = name.as_bytes();
    let valid = (1..=40).contains(&bytes.len())
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-';
    if valid {
        Ok(())
    } else {
        Err(LocalClusterError::InvalidName {
            name: name.to_owned(),
        })
    }
}

fn fingerprint(kwokctl_config: &str, layout: &NodeLayout) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(kwokctl_config.as_bytes());
    context.update(&serde_json::to_vec(layout).expect("a layout serializes"));
    hex::encode(context.finish())
}

fn read_record(dir: &Path) -> Option<ClusterRecord> {
    let bytes = fs::read(dir.join(RECORD)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_record(dir: &Path, record: &ClusterRecord) -> Result<(), LocalClusterError> {
    let path = dir.join(RECORD);
    let text = serde_json::to_string_pretty(record).expect("a cluster record serializes");
    fs::write(&path, text).map_err(|source| LocalClusterError::io("write", &path, source))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::default_name("kspec", true)]
    #[case::with_digits("kspec-e2e-2", true)]
    #[case::empty("", false)]
    #[case::uppercase("Kspec", false)]
    #[case::leading_dash("-kspec", false)]
    #[case::path("../etc", false)]
    #[case::too_long(&"a".repeat(41), false)]
    fn cluster_name_validation(#[case] name: &str, #[case] valid: bool) {
        assert_eq!(validate_name(name).is_ok(), valid);
    }

    #[test]
    fn fingerprint_changes_with_layout() {
        let config = "options: {}";
        let default = fingerprint(config, &NodeLayout::default());
        assert_eq!(default, fingerprint(config, &NodeLayout::default()));
        assert_ne!(default, fingerprint(config, &NodeLayout::new(1, 2)));
        assert_ne!(
            default,
            fingerprint("options: {runtime: binary}", &NodeLayout::default())
        );
    }

    #[test]
    fn variables_include_storage_class() {
        let cluster = LocalCluster {
            name: "kspec".to_owned(),
            dir: PathBuf::from("/state/clusters/kspec"),
            files: KwokctlFiles::new(Path::new("/state/clusters/kspec"), "kspec"),
            versions: Versions::default(),
            layout: NodeLayout::default(),
            reused: false,
        };
        let variables = cluster.variables();
        assert_eq!(variables["storageClass"], "standard");
        assert_eq!(variables["workerCount"], "3");
        assert_eq!(variables["controlPlaneCount"], "1");
        assert_eq!(variables["kubernetesVersion"], "v1.37.2");
    }
}
