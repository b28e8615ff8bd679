//! Errors of the local cluster backend.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Error of building, starting, stopping or inspecting a local cluster. Each message reads
/// after "failed to", and the cause, if any, is the error's source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalClusterError {
    #[error(
        "run the Go toolchain (`go version`)\n  (hint: install Go 1.26 or newer and put `go` on \
         PATH: the local cluster builds kube-apiserver, etcd and kwok from source through the \
         Go module proxy)"
    )]
    GoMissing {
        #[source]
        source: io::Error,
    },

    #[error(
        "build {component} {version} with Go; the last lines of its output:\n{tail}\n  \
         (full log: {})",
        log.display()
    )]
    BuildFailed {
        component: &'static str,
        version: String,
        log: PathBuf,
        tail: String,
    },

    #[error(
        "verify the built binary {}: {problem}\n  (full build log: {})",
        binary.display(),
        log.display()
    )]
    BinaryCheckFailed {
        binary: PathBuf,
        problem: String,
        log: PathBuf,
    },

    #[error(
        "use the cached binaries in {}: {problem}\n  (hint: delete that directory and run \
         `kspec cluster build` to build them again)",
        dir.display()
    )]
    CacheCorrupt { dir: PathBuf, problem: String },

    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("start `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "{action} cluster `{name}` with kwokctl; the last lines of its output:\n{tail}\n  \
         (full log: {})",
        log.display()
    )]
    Kwokctl {
        action: &'static str,
        name: String,
        log: PathBuf,
        tail: String,
    },

    #[error(
        "use cluster name `{name}`\n  (hint: use 1 to 40 lowercase letters, digits and `-`, \
         starting and ending with a letter or digit)"
    )]
    InvalidName { name: String },

    #[error("use the node layout: {problem}")]
    InvalidLayout { problem: String },

    #[error("read the node layout file {}", path.display())]
    LayoutFile {
        path: PathBuf,
        #[source]
        source: LayoutFileError,
    },

    #[error("load the kubeconfig {}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },

    #[error("connect to the API server of cluster `{name}`")]
    Client {
        name: String,
        #[source]
        source: kube::Error,
    },

    #[error("{action}")]
    Api {
        action: String,
        #[source]
        source: kube::Error,
    },

    #[error(
        "see all nodes of cluster `{name}` Ready within {timeout:?}: {ready} of {expected} are \
         Ready\n  (hint: the kwok-controller log is {})",
        log.display()
    )]
    NodesNotReady {
        name: String,
        ready: usize,
        expected: usize,
        timeout: Duration,
        log: PathBuf,
    },
}

/// Error of reading a node layout file.
#[derive(Debug, thiserror::Error)]
pub enum LayoutFileError {
    #[error("read the file")]
    Read(#[source] io::Error),
    #[error("parse the YAML")]
    Parse(#[source] serde_yaml::Error),
}

impl LocalClusterError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Self::Api {
            action: action.into(),
            source,
        }
    }
}
