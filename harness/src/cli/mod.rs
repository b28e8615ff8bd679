//! The `kspec` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cluster;
pub mod lint;
pub mod run;
pub mod target;

/// Conformance checks for Kubernetes workload controllers, driven by scenario files.
#[derive(Debug, Parser)]
#[command(name = "kspec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenario files, suites or directories of scenarios and judge their behaviour.
    Run(Box<run::RunArgs>),
    /// Check scenario, suite and manifest files, with a server-side dry run when a cluster is
    /// reachable.
    Lint(Box<lint::LintArgs>),
    /// Print the JSON Schema of scenario files (or of suite files with --suite).
    Schema {
        /// Print the schema of suite files.
        #[arg(long)]
        suite: bool,
    },
    /// Start, stop and inspect the local cluster (upstream control plane, simulated nodes).
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// Parses the command line, runs the command and maps its result to the process exit code:
/// 0 success, 1 a check failed, 2 unusable input or environment.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let result = match cli.command {
            Command::Run(args) => run::run(*args).await,
            Command::Lint(args) => lint::run(*args).await,
            Command::Schema { suite } => {
                let schema = if suite {
                    crate::dsl::suite_schema()
                } else {
                    crate::dsl::scenario_schema()
                };
                println!("{schema}");
                Ok(ExitCode::SUCCESS)
            }
            Command::Cluster(command) => return cluster::run(command).await,
        };
        result.unwrap_or_else(|err| {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        })
    })
}

/// Logs go to stderr, filtered by `KSPEC_LOG` (default `warn`), and stay separate from the
/// terminal report. kube's HTTP layer logs every rejected request at error level; those
/// rejections reach the report as results, so its log is off by default.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KSPEC_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,kube_client::client::builder=off")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
