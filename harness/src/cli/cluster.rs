//! `kspec cluster`: build, start, stop and inspect local clusters.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::cluster::local::{
    self, Component, DEFAULT_NAME, LocalCluster, LocalClusterConfig, NodeLayout, NodeTaint, Paths,
    Progress, Version, Versions,
};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Build the binaries that are not cached yet (minutes on a cold Go build cache).
    Build(BuildArgs),
    /// Start a local cluster, or reuse a matching one, and print its kubeconfig path.
    Up(Box<UpArgs>),
    /// Stop a local cluster and remove its processes and files.
    Down(DownArgs),
    /// List local clusters with their components, nodes and kubeconfig.
    Status,
}

/// Component versions; each flag can also be set through its environment variable.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Kubernetes version of the control plane and of the nodes' kubelet version.
    #[arg(long, env = "KSPEC_KUBERNETES_VERSION", default_value_t = local::versions::DEFAULT_KUBERNETES)]
    kubernetes_version: Version,
    /// etcd version.
    #[arg(long, env = "KSPEC_ETCD_VERSION", default_value_t = local::versions::DEFAULT_ETCD)]
    etcd_version: Version,
    /// kwok version (kwok-controller and kwokctl).
    #[arg(long, env = "KSPEC_KWOK_VERSION", default_value_t = local::versions::DEFAULT_KWOK)]
    kwok_version: Version,
}

impl VersionArgs {
    fn versions(&self) -> Versions {
        Versions {
            kubernetes: self.kubernetes_version,
            etcd: self.etcd_version,
            kwok: self.kwok_version,
        }
    }
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    versions: VersionArgs,
    /// Also compare every cached binary with the SHA-256 recorded at build time.
    #[arg(long)]
    verify: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Cluster name; several named clusters can run side by side.
    #[arg(long, default_value = DEFAULT_NAME)]
    name: String,
    #[command(flatten)]
    versions: VersionArgs,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Time the nodes get to become Ready, such as 60s or 2m.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    ready_timeout: Duration,
}

/// The nodes: either the flags below or a layout file.
#[derive(Debug, Args)]
pub struct LayoutArgs {
    /// YAML file with node groups (see docs/local-cluster.md); replaces the other node flags.
    #[arg(
        long,
        conflicts_with_all = ["control_planes", "workers", "label", "taint", "legacy_master_taint", "cpu", "memory", "max_pods"]
    )]
    layout: Option<PathBuf>,
    /// Number of control-plane nodes (`cp-N`), labelled and tainted
    /// node-role.kubernetes.io/control-plane:NoSchedule.
    #[arg(long, default_value_t = 1)]
    control_planes: usize,
    /// Number of worker nodes (`worker-N`).
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// Extra label for the worker nodes, as KEY=VALUE; repeatable.
    #[arg(long, value_parser = parse_label)]
    label: Vec<(String, String)>,
    /// Taint for the worker nodes, as KEY[=VALUE]:EFFECT; repeatable.
    #[arg(long)]
    taint: Vec<NodeTaint>,
    /// Also taint control-plane nodes node-role.kubernetes.io/master:NoSchedule, as clusters
    /// before Kubernetes 1.24 did.
    #[arg(long)]
    legacy_master_taint: bool,
    /// CPU capacity of every node, as a quantity such as 8 or 500m.
    #[arg(long, default_value = "8")]
    cpu: String,
    /// Memory capacity of every node, as a quantity such as 32Gi.
    #[arg(long, default_value = "32Gi")]
    memory: String,
    /// Pod capacity of every node.
    #[arg(long, default_value = "110")]
    max_pods: String,
}

impl LayoutArgs {
    fn layout(&self) -> anyhow::Result<NodeLayout> {
        if let Some(path) = &self.layout {
            return Ok(NodeLayout::from_file(path)?);
        }
        let mut layout = NodeLayout::new(self.control_planes, self.workers);
        for group in &mut layout.groups {
            group.capacity.cpu.clone_from(&self.cpu);
            group.capacity.memory.clone_from(&self.memory);
            group.capacity.pods.clone_from(&self.max_pods);
            if group.control_plane {
                group.legacy_master_taint = self.legacy_master_taint;
            } else {
                group.labels.extend(self.label.iter().cloned());
                if !self.taint.is_empty() {
                    group.taints = Some(self.taint.clone());
                }
            }
        }
        layout.groups.retain(|group| group.count > 0);
        layout.validate()?;
        Ok(layout)
    }
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("invalid label `{text}` (write it as KEY=VALUE)")),
    }
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Cluster name.
    #[arg(long, default_value = DEFAULT_NAME)]
    name: String,
    /// Stop every local cluster instead of one.
    #[arg(long, conflicts_with = "name")]
    all: bool,
}

/// Runs a `kspec cluster` subcommand. Exit code 0 on success, 2 when it failed.
pub async fn run(command: ClusterCommand) -> ExitCode {
    let result = match command {
        ClusterCommand::Build(args) => build(args).await,
        ClusterCommand::Up(args) => up(*args).await,
        ClusterCommand::Down(args) => down(args).await,
        ClusterCommand::Status => status().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: failed to {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  cause: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

fn print_progress(progress: &Progress) {
    eprintln!("==> {progress}");
}

async fn build(args: BuildArgs) -> anyhow::Result<()> {
    let paths = Paths::from_env();
    let started = Instant::now();
    let (binaries, outcomes) = local::ensure_built(
        &paths,
        args.versions.versions(),
        args.verify,
        &print_progress,
    )
    .await?;
    for outcome in &outcomes {
        let action = match outcome.built_in {
            Some(elapsed) => format!("built in {:.1}s", elapsed.as_secs_f64()),
            None if args.verify => "cached, checksums verified".to_owned(),
            None => "cached".to_owned(),
        };
        println!(
            "{:<11} {:<8} {:<28} {}",
            outcome.component,
            outcome.version.to_string(),
            action,
            binaries.dir(outcome.component).display()
        );
    }
    let built = outcomes
        .iter()
        .filter(|outcome| outcome.built_in.is_some())
        .count();
    println!(
        "{built} of {} components built, {:.1}s in total",
        Component::ALL.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let mut config = LocalClusterConfig::new(&args.name);
    config.versions = args.versions.versions();
    config.layout = args.layout.layout()?;
    config.ready_timeout = args.ready_timeout;

    let cluster = LocalCluster::ensure_up(&config, &print_progress).await?;
    let layout = cluster.layout();
    let kubeconfig = cluster.kubeconfig_path().display();
    println!(
        "cluster `{}` is {}: {} nodes ({} control plane, {} workers), Kubernetes {}",
        cluster.name(),
        if cluster.reused() {
            "running (reused)"
        } else {
            "running"
        },
        layout.node_count(),
        layout.control_plane_count(),
        layout.node_count() - layout.control_plane_count(),
        cluster.versions().kubernetes
    );
    println!("kubeconfig: {kubeconfig}");
    println!();
    println!("  export KUBECONFIG={kubeconfig}");
    println!("  kubectl get nodes");
    println!();
    println!("or, without changing the environment:");
    println!();
    println!("  kubectl --kubeconfig {kubeconfig} get nodes");
    println!();
    println!(
        "stop it with `kspec cluster down --name {}`",
        cluster.name()
    );
    Ok(())
}

async fn down(args: DownArgs) -> anyhow::Result<()> {
    let paths = Paths::from_env();
    if args.all {
        for name in local::names(&paths)? {
            local::down(&paths, &name, &print_progress).await?;
        }
        return Ok(());
    }
    let removed = local::down(&paths, &args.name, &print_progress).await?;
    if !removed {
        println!(
            "no cluster named `{}` in {}",
            args.name,
            paths.clusters_dir().display()
        );
    }
    Ok(())
}

async fn status() -> anyhow::Result<()> {
    let paths = Paths::from_env();
    let statuses = local::status(&paths)
        .await
        .context("inspect the local clusters")?;
    if statuses.is_empty() {
        println!("no local clusters in {}", paths.clusters_dir().display());
        return Ok(());
    }
    println!(
        "{:<16} {:<10} {:<12} {:<11} KUBECONFIG",
        "NAME", "VERSION", "COMPONENTS", "NODES READY"
    );
    for status in &statuses {
        let running = status
            .components
            .iter()
            .filter(|process| process.running)
            .count();
        let nodes = match status.nodes {
            Some(nodes) => format!("{}/{}", nodes.ready, nodes.total),
            None => "-".to_owned(),
        };
        let version = status
            .versions
            .map(|versions| versions.kubernetes.to_string())
            .unwrap_or_else(|| "-".to_owned());
        println!(
            "{:<16} {:<10} {:<12} {:<11} {}",
            status.name,
            version,
            format!("{running}/{} up", status.components.len()),
            nodes,
            status.kubeconfig.display()
        );
        let stopped: Vec<&str> = status
            .components
            .iter()
            .filter(|process| !process.running)
            .map(|process| process.name.as_str())
            .collect();
        if !stopped.is_empty() {
            println!("  not running: {}", stopped.join(", "));
        }
        if !status.healthy() {
            println!(
                "  unhealthy: `kspec cluster up --name {}` replaces it, `kspec cluster down \
                 --name {}` removes it",
                status.name, status.name
            );
        }
    }
    Ok(())
}
