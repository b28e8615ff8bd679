//! Runs scenarios: applies manifests, executes steps, judges the recording and cleans up.
//!
//! Each scenario gets its own namespace with a random suffix, and scenarios run in parallel up
//! to [`RunOptions::jobs`]. Everything a scenario created is deleted when it ends, also when it
//! fails or the run is cancelled.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use tokio_util::sync::CancellationToken;

use crate::cluster::Connection;
use crate::dsl::LoadedScenario;
use crate::report::model::{ScenarioReport, Status};
use crate::report::progress::Progress;

pub mod apply;
pub mod cleanup;
pub mod diagnostics;
pub mod labels;
pub mod node_lock;
pub mod scenario;
pub mod simulate;
pub mod steps;
pub mod summary;
pub mod waits;

/// Taint that marks control-plane nodes since Kubernetes 1.24.
pub const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane";

/// A scenario ready to run, with what its suite adds.
#[derive(Clone, Debug)]
pub struct PlannedScenario {
    pub loaded: Arc<LoadedScenario>,
    pub suite: Option<String>,
    pub points: Option<u32>,
    /// Variables from the suite.
    pub variables: BTreeMap<String, String>,
}

/// Settings of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Scenarios run at the same time.
    pub jobs: usize,
    /// Variables from the command line; they override every other source.
    pub variables: BTreeMap<String, String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            jobs: 16,
            variables: BTreeMap::new(),
        }
    }
}

/// Runs scenarios against one connected cluster.
pub struct Runner {
    pub connection: Connection,
    pub applier: apply::Applier,
    pub options: RunOptions,
    pub progress: Arc<dyn Progress>,
    /// Serializes scenarios that change the cluster's nodes (node steps, Node manifests)
    /// against scenarios that judge DaemonSet placement, which any node change would disturb.
    /// Other scenarios run regardless.
    pub nodes: tokio::sync::RwLock<()>,
    /// The file lock that extends [`Runner::nodes`] to other kspec processes on this machine.
    pub nodes_file: std::path::PathBuf,
}

impl Runner {
    pub fn new(connection: Connection, options: RunOptions, progress: Arc<dyn Progress>) -> Self {
        let applier = apply::Applier::new(connection.client.clone());
        let nodes_file = node_lock::lock_path(&connection.server);
        Self {
            nodes_file,
            connection,
            applier,
            options,
            progress,
            nodes: tokio::sync::RwLock::new(()),
        }
    }

    /// Runs one scenario.
    pub async fn run_one(
        &self,
        planned: &PlannedScenario,
        cancel: CancellationToken,
    ) -> ScenarioReport {
        if cancel.is_cancelled() {
            return ScenarioReport::not_run(
                &planned.loaded.scenario().name,
                planned.loaded.path().to_path_buf(),
                Status::Errored,
                "not run: the run was interrupted before this scenario started".to_owned(),
            );
        }
        self.progress.started(&planned.loaded.scenario().name);
        let report = scenario::run(self, planned, cancel).await;
        self.progress.finished(&report);
        report
    }

    /// Runs scenarios in parallel, at most `jobs` at a time, and returns their reports in the
    /// order given.
    pub async fn run_all(
        &self,
        planned: &[PlannedScenario],
        cancel: CancellationToken,
    ) -> Vec<ScenarioReport> {
        let jobs = self.options.jobs.max(1);
        let mut reports: Vec<(usize, ScenarioReport)> =
            futures::stream::iter(planned.iter().enumerate())
                .map(|(index, planned)| {
                    let cancel = cancel.clone();
                    async move { (index, self.run_one(planned, cancel).await) }
                })
                .buffer_unordered(jobs)
                .collect()
                .await;
        reports.sort_by_key(|(index, _)| *index);
        reports.into_iter().map(|(_, report)| report).collect()
    }

    /// Whether some node carries the control-plane taint.
    pub async fn has_tainted_control_plane(&self) -> bool {
        let nodes = kube::Api::<Node>::all(self.connection.client.clone());
        let Ok(list) = nodes.list(&Default::default()).await else {
            return false;
        };
        list.items.iter().any(|node| {
            node.spec
                .as_ref()
                .and_then(|spec| spec.taints.as_ref())
                .is_some_and(|taints| taints.iter().any(|taint| taint.key == CONTROL_PLANE_TAINT))
        })
    }
}
