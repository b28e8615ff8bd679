//! Exclusive file locks that serialize builds and cluster changes across processes, such as
//! two test binaries calling `up` for the same cluster at once.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use super::error::LocalClusterError;

/// An exclusive lock on a file. The operating system releases it when the value is dropped or
/// the process exits, so a killed process never leaves a cluster locked.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// Takes the exclusive lock on `path`, creating the file if needed, and waits while another
/// process holds it.
pub(crate) async fn lock(path: &Path) -> Result<FileLock, LocalClusterError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|source| LocalClusterError::io("create directory", parent, source))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| LocalClusterError::io("open lock file", path, source))?;

    match file.try_lock() {
        Ok(()) => return Ok(FileLock { _file: file }),
        Err(TryLockError::WouldBlock) => {
            tracing::info!(lock = %path.display(), "waiting for another kspec process");
        }
        Err(TryLockError::Error(source)) => {
            return Err(LocalClusterError::io("lock", path, source));
        }
    }

    let owned: PathBuf = path.to_owned();
    tokio::task::spawn_blocking(move || file.lock().map(|()| FileLock { _file: file }))
        .await
        .map_err(|join| LocalClusterError::io("lock", &owned, std::io::Error::other(join)))?
        .map_err(|source| LocalClusterError::io("lock", &owned, source))
}
