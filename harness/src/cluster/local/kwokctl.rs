//! kwokctl's configuration and commands, and the component processes it starts.
//!
//! kwokctl's binary runtime runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler
//! and kwok-controller as background processes, each with a pid file under
//! `<workdir>/clusters/<name>/pids/`. They keep running after kwokctl exits.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use tokio::process::Command;

use super::build::{Binaries, Component};
use super::command::{TAIL_LINES, run_logged, tail};
use super::error::LocalClusterError;
use super::stages;
use super::versions::Versions;

/// The processes of a running cluster, by the names kwokctl gives their pid files.
pub const COMPONENTS: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok-controller",
];

/// Seconds a node Lease lasts; kwok-controller renews it like a kubelet does.
const NODE_LEASE_SECONDS: u32 = 40;

/// Time the kernel gets to end a process after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How long `kwokctl create cluster` waits for the API server.
const CREATE_WAIT: &str = "90s";

/// Files of one cluster as kwokctl lays them out under the cluster directory.
#[derive(Clone, Debug)]
pub(crate) struct KwokctlFiles {
    /// Cluster name, which kwokctl also uses.
    pub name: String,
    /// `KWOK_WORKDIR` of the cluster's kwokctl calls.
    pub workdir: PathBuf,
    /// kwokctl's configuration, written by kspec.
    pub config: PathBuf,
    /// Kubeconfig that kwokctl writes the cluster's context into.
    pub kubeconfig: PathBuf,
    /// Output of every kwokctl call.
    pub log: PathBuf,
}

impl KwokctlFiles {
    pub fn new(cluster_dir: &Path, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            workdir: cluster_dir.join("kwok"),
            config: cluster_dir.join("kwokctl.yaml"),
            kubeconfig: cluster_dir.join("kubeconfig"),
            log: cluster_dir.join("kwokctl.log"),
        }
    }

    /// Directory of the component logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.kwok_cluster_dir().join("logs")
    }

    fn kwok_cluster_dir(&self) -> PathBuf {
        self.workdir.join("clusters").join(&self.name)
    }
}

/// kwokctl's configuration: the binary runtime with every binary from the cache, components
/// bound to 127.0.0.1, and the stages.
///
/// kubectl, etcdctl and etcdutl point at files that do not exist. kwokctl only needs them for
/// commands kspec does not run, and a local path makes such a command fail here instead of
/// downloading the tool.
pub(crate) fn render_config(binaries: &Binaries, versions: &Versions) -> String {
    let path = |component, binary| quote(&binaries.path(component, binary));
    let options = [
        ("runtime", quote_str("binary")),
        ("bindAddress", quote_str("127.0.0.1")),
        ("kubeVersion", quote_str(&versions.kubernetes.to_string())),
        ("etcdVersion", quote_str(&versions.etcd.to_string()[1..])),
        ("kwokVersion", quote_str(&versions.kwok.to_string())),
        (
            "kubeApiserverBinary",
            path(Component::Kubernetes, "kube-apiserver"),
        ),
        (
            "kubeControllerManagerBinary",
            path(Component::Kubernetes, "kube-controller-manager"),
        ),
        (
            "kubeSchedulerBinary",
            path(Component::Kubernetes, "kube-scheduler"),
        ),
        ("etcdBinary", path(Component::Etcd, "etcd")),
        ("etcdctlBinary", path(Component::Etcd, "etcdctl")),
        ("etcdutlBinary", path(Component::Etcd, "etcdutl")),
        ("kwokControllerBinary", path(Component::Kwok, "kwok")),
        ("kubectlBinary", path(Component::Kwok, "kubectl")),
        ("nodeLeaseDurationSeconds", NODE_LEASE_SECONDS.to_string()),
    ];
    let mut text = String::from(
        "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokctlConfiguration\noptions:\n",
    );
    for (key, value) in options {
        text.push_str(&format!("  {key}: {value}\n"));
    }
    text.push_str("---\n");
    text.push_str(&stages::render(versions.kubernetes));
    text
}

/// Quotes `text` as a YAML double-quoted string (JSON strings are valid YAML).
fn quote_str(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn quote(path: &Path) -> String {
    quote_str(&path.to_string_lossy())
}

/// Creates a kwokctl command for the cluster. kwokctl lets `KWOK_*` environment variables
/// override its configuration file, so those are removed except the work directory.
fn kwokctl(binaries: &Binaries, files: &KwokctlFiles) -> Command {
    let mut command = Command::new(binaries.path(Component::Kwok, "kwokctl"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("KWOK_") {
            command.env_remove(key);
        }
    }
    command.env("KWOK_WORKDIR", &files.workdir);
    command
}

/// Creates and starts the cluster, and waits until its API server is ready.
pub(crate) async fn create(
    binaries: &Binaries,
    files: &KwokctlFiles,
) -> Result<(), LocalClusterError> {
    let mut command = kwokctl(binaries, files);
    command
        .arg("--config")
        .arg(&files.config)
        .args([
            "create",
            "cluster",
            "--name",
            &files.name,
            "--wait",
            CREATE_WAIT,
        ])
        .arg("--kubeconfig")
        .arg(&files.kubeconfig);
    let status = run_logged(&mut command, &files.log).await?;
    check(status, "create", files)
}

/// Stops the component processes and keeps the files, such as the logs.
pub(crate) async fn stop(
    binaries: &Binaries,
    files: &KwokctlFiles,
) -> Result<(), LocalClusterError> {
    let mut command = kwokctl(binaries, files);
    command.args(["stop", "cluster", "--name", &files.name]);
    let status = run_logged(&mut command, &files.log).await?;
    check(status, "stop", files)
}

/// Stops the component processes and removes kwokctl's files of the cluster.
pub(crate) async fn delete(
    binaries: &Binaries,
    files: &KwokctlFiles,
) -> Result<(), LocalClusterError> {
    let mut command = kwokctl(binaries, files);
    command
        .args(["delete", "cluster", "--name", &files.name])
        .arg("--kubeconfig")
        .arg(&files.kubeconfig);
    let status = run_logged(&mut command, &files.log).await?;
    check(status, "delete", files)
}

fn check(
    status: ExitStatus,
    action: &'static str,
    files: &KwokctlFiles,
) -> Result<(), LocalClusterError> {
    if status.success() {
        return Ok(());
    }
    Err(LocalClusterError::Kwokctl {
        action,
        name: files.name.clone(),
        log: files.log.clone(),
        tail: tail(&files.log, TAIL_LINES),
    })
}

/// One component process as recorded in its pid file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentProcess {
    /// Component name, such as `kube-apiserver`.
    pub name: String,
    /// Process id from the pid file, if the file exists and contains a number.
    pub pid: Option<u32>,
    /// Whether that process is alive and belongs to this cluster.
    pub running: bool,
}

/// Reads the state of every component process of the cluster.
///
/// A pid counts as the component's only if its command line mentions the cluster's work
/// directory, so a pid reused by an unrelated process after a crash is not mistaken for it.
pub(crate) fn processes(files: &KwokctlFiles) -> Vec<ComponentProcess> {
    let pids_dir = files.kwok_cluster_dir().join("pids");
    COMPONENTS
        .iter()
        .map(|name| {
            let pid = fs::read_to_string(pids_dir.join(format!("{name}.pid")))
                .ok()
                .and_then(|text| text.trim().parse::<u32>().ok());
            let running = pid.is_some_and(|pid| belongs_to(pid, &files.workdir));
            ComponentProcess {
                name: (*name).to_owned(),
                pid,
                running,
            }
        })
        .collect()
}

/// Returns whether process `pid` exists and has not finished exiting.
///
/// A killed process first loses its command line, and its main thread can become a zombie
/// while other threads still run. The files, and so the listening sockets, close only when the
/// last thread has exited, so every thread is checked.
fn alive(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.filter_map(Result::ok).any(|task| {
        let Ok(stat) = fs::read_to_string(task.path().join("stat")) else {
            return false;
        };
        // The state follows the command name, which is in parentheses and may contain spaces.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        !matches!(state, None | Some('Z' | 'X' | 'x'))
    })
}

fn belongs_to(pid: u32, workdir: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    // An exiting process and a zombie have an empty command line, so they do not count.
    let needle = workdir.to_string_lossy();
    String::from_utf8_lossy(&cmdline).contains(needle.as_ref())
}

/// Waits until the processes in `pids`, components of the cluster, have exited, and sends
/// SIGKILL to those still running after `grace`. Returns the pids that survived SIGKILL too.
///
/// `kwokctl delete` signals the components and returns without waiting for them, and it
/// cannot stop them at all once its binary is gone from the cache, so `down` relies on this
/// to leave no process or port behind.
pub(crate) async fn reap(workdir: &Path, pids: &[u32], grace: Duration) -> Vec<u32> {
    let mut remaining = wait_for_exit(pids, grace).await;
    if remaining.is_empty() {
        return remaining;
    }
    for pid in &remaining {
        // A process that is exiting has no command line left and needs no signal. Checking
        // the command line also keeps a reused pid from being killed.
        let Ok(signed) = i32::try_from(*pid) else {
            continue;
        };
        if !belongs_to(*pid, workdir) {
            continue;
        }
        tracing::debug!(pid, "killing a component process that outlived kwokctl");
        // SAFETY: kill(2) has no memory-safety preconditions, and the pid was checked to run a
        // component of this cluster just above.
        if unsafe { libc::kill(signed, libc::SIGKILL) } != 0 {
            tracing::debug!(pid, error = %std::io::Error::last_os_error(), "kill failed");
        }
    }
    remaining = wait_for_exit(&remaining, KILL_WAIT).await;
    remaining
}

/// Waits until none of `pids` is alive or `timeout` passed, and returns those still alive.
async fn wait_for_exit(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let remaining: Vec<u32> = pids.iter().copied().filter(|pid| alive(*pid)).collect();
        if remaining.is_empty() || Instant::now() >= deadline {
            return remaining;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Returns the pids of the cluster's component processes that run now.
pub(crate) fn running_pids(files: &KwokctlFiles) -> Vec<u32> {
    processes(files)
        .into_iter()
        .filter(|process| process.running)
        .filter_map(|process| process.pid)
        .collect()
}
