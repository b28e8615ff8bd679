//! The node lock shared by every kspec process on this machine that runs against the same
//! cluster.
//!
//! A scenario that labels, taints or adds nodes would make the placement checks of a
//! scenario running at the same time see nodes it did not expect. Inside one process
//! [`Runner::nodes`](super::Runner::nodes) orders them; this file lock does the same across
//! processes, such as `cargo test` and `kspec run` against the local cluster `kspec`. Scenarios
//! that change nodes take it exclusively, scenarios that judge placement take it shared. The
//! lock is named after the API server's URL, so processes on other machines, or reaching the
//! same cluster through another address, are not covered.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::cluster::local::Paths;

/// A held file lock; dropping it closes the file, which releases the lock.
#[derive(Debug)]
pub struct NodeFileLock {
    _file: File,
}

/// Returns the lock file of the cluster whose API server is at `server`, so that every way of
/// reaching one cluster (a local cluster's name, its kubeconfig) takes the same lock.
pub fn lock_path(server: &str) -> PathBuf {
    Paths::from_env()
        .state_dir
        .join("locks")
        .join(format!("nodes-{}.lock", crate::report::slug(server)))
}

/// Waits for the lock at `path`, exclusive or shared.
pub async fn acquire(path: &Path, exclusive: bool) -> std::io::Result<NodeFileLock> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        if exclusive {
            file.lock()?;
        } else {
            file.lock_shared()?;
        }
        Ok(NodeFileLock { _file: file })
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn lock_path_names_server() {
        let path = lock_path("https://127.0.0.1:32771/");
        assert!(
            path.ends_with("locks/nodes-https-127-0-0-1-32771.lock"),
            "{}",
            path.display()
        );
    }

    #[tokio::test]
    async fn shared_locks_coexist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.lock");
        let first = acquire(&path, false).await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), acquire(&path, false)).await;
        assert!(second.is_ok(), "a second shared lock waited");
        drop(first);
    }

    #[tokio::test]
    async fn exclusive_waits_for_shared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.lock");
        let shared = acquire(&path, false).await.unwrap();
        let waiting = tokio::spawn({
            let path = path.clone();
            async move { acquire(&path, true).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "the exclusive lock did not wait");
        drop(shared);
        let exclusive = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(exclusive.is_ok(), "the exclusive lock was not granted");
    }
}
