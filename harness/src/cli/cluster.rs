//! `kspec cluster`: build, start, stop and inspect local clusters.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Start a local cluster and print its kubeconfig path.
    Up,
}

pub async fn run(command: ClusterCommand) -> ExitCode {
    match command {
        ClusterCommand::Up => {
            eprintln!("error: `kspec cluster up` is not implemented yet");
            ExitCode::from(2)
        }
    }
}
