//! Progress of long local cluster operations, for a terminal or a test log.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::build::Component;
use super::versions::Version;

/// One step of `build`, `up` or `down`. Each step is also logged with tracing at info level.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The binaries of a component were found in the cache.
    Cached {
        component: Component,
        version: Version,
        dir: PathBuf,
    },
    /// A Go build of a component started; it takes minutes when the Go build cache is cold.
    BuildStarted {
        component: Component,
        version: Version,
        log: PathBuf,
    },
    /// A Go build finished and its binaries passed their `--version` check.
    BuildFinished {
        component: Component,
        version: Version,
        dir: PathBuf,
        elapsed: Duration,
    },
    /// A healthy cluster with the requested versions and layout is used as it is.
    Reused { name: String },
    /// An existing cluster is deleted before a new one starts.
    Replacing { name: String, reason: String },
    /// kwokctl is starting the control plane.
    Starting { name: String },
    /// All nodes reported Ready.
    NodesReady {
        name: String,
        nodes: usize,
        elapsed: Duration,
    },
    /// A cluster's processes were stopped and its directory removed.
    Removed { name: String },
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Cached {
                component,
                version,
                dir,
            } => write!(f, "{component} {version}: cached in {}", dir.display()),
            Progress::BuildStarted {
                component,
                version,
                log,
            } => write!(
                f,
                "{component} {version}: building {} with Go (minutes on a cold Go build \
                 cache; log: {})",
                component.binaries().join(", "),
                log.display()
            ),
            Progress::BuildFinished {
                component,
                version,
                dir,
                elapsed,
            } => write!(
                f,
                "{component} {version}: built in {:.1}s into {}",
                elapsed.as_secs_f64(),
                dir.display()
            ),
            Progress::Reused { name } => {
                write!(
                    f,
                    "cluster `{name}` is already running with this configuration"
                )
            }
            Progress::Replacing { name, reason } => {
                write!(f, "replacing cluster `{name}`: {reason}")
            }
            Progress::Starting { name } => write!(f, "starting cluster `{name}`"),
            Progress::NodesReady {
                name,
                nodes,
                elapsed,
            } => write!(
                f,
                "cluster `{name}`: {nodes} nodes Ready after {:.1}s",
                elapsed.as_secs_f64()
            ),
            Progress::Removed { name } => write!(f, "cluster `{name}` removed"),
        }
    }
}

/// A receiver of [`Progress`] steps. Pass `&|_| {}` to ignore them.
pub type OnProgress<'a> = &'a (dyn Fn(&Progress) + Send + Sync);

/// Logs `progress` and hands it to `on_progress`.
pub(crate) fn report(on_progress: OnProgress<'_>, progress: Progress) {
    tracing::info!("{progress}");
    on_progress(&progress);
}
