//! The `kspec` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cluster;

/// Conformance checks for Kubernetes workload controllers, driven by scenario files.
#[derive(Debug, Parser)]
#[command(name = "kspec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, stop and inspect the local cluster (upstream control plane, simulated nodes).
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// Parses the command line, runs the command and maps its result to the process exit code:
/// 0 success, 1 a check failed, 2 unusable input or environment.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Cluster(command) => cluster::run(command).await,
        }
    })
}

/// Logs go to stderr, filtered by `KSPEC_LOG` (default `warn`), and stay separate from the
/// terminal report.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KSPEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
