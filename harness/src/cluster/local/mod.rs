//! The local cluster: upstream kube-apiserver, kube-controller-manager, kube-scheduler and
//! etcd run as processes on this machine by kwokctl, with kwok simulating the nodes and the
//! pod lifecycle.
//!
//! The binaries are built from the Go module proxy into a cache ([`build`]) and the cluster is
//! started, reused or replaced by [`LocalCluster::ensure_up`]. Pods are steered by the
//! [`annotations`]. `docs/local-cluster.md` describes the layout, versions, cache and
//! troubleshooting.

pub mod annotations;
mod api;
pub mod build;
mod command;
mod error;
mod gomod;
mod kwokctl;
pub mod layout;
mod lifecycle;
mod lock;
mod paths;
mod progress;
mod stages;
pub mod versions;

pub use api::NodeCounts;
pub use build::{Binaries, BuildOutcome, Component, ensure_built};
pub use error::{LayoutFileError, LocalClusterError};
pub use kwokctl::{COMPONENTS, ComponentProcess};
pub use layout::{Capacity, NodeGroup, NodeLayout, NodeTaint};
pub use lifecycle::{
    ClusterStatus, DEFAULT_NAME, LocalCluster, LocalClusterConfig, down, names, status,
};
pub use paths::Paths;
pub use progress::{OnProgress, Progress};
pub use stages::{PROVISIONER, STORAGE_CLASS};
pub use versions::{Version, Versions};
