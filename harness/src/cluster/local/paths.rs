//! Directories of the local cluster: built binaries (the cache) and running clusters (the
//! state).

use std::env;
use std::path::PathBuf;

/// The two directories the local cluster backend writes to, both outside the checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Built binaries, one directory per component and version, under `upstream/`. Default:
    /// `$KSPEC_CACHE_DIR`, else `$XDG_CACHE_HOME/kspec`, else `~/.cache/kspec`.
    pub cache_dir: PathBuf,
    /// Running clusters, one directory per name, under `clusters/`. Default:
    /// `$KSPEC_STATE_DIR`, else `$XDG_STATE_HOME/kspec`, else `~/.local/state/kspec`.
    pub state_dir: PathBuf,
}

impl Paths {
    /// Resolves both directories from the environment as documented on the fields.
    pub fn from_env() -> Self {
        let home = || {
            env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(env::temp_dir)
        };
        let cache_dir = non_empty_var("KSPEC_CACHE_DIR").unwrap_or_else(|| {
            xdg_var("XDG_CACHE_HOME")
                .unwrap_or_else(|| home().join(".cache"))
                .join("kspec")
        });
        let state_dir = non_empty_var("KSPEC_STATE_DIR").unwrap_or_else(|| {
            xdg_var("XDG_STATE_HOME")
                .unwrap_or_else(|| home().join(".local").join("state"))
                .join("kspec")
        });
        Self {
            cache_dir,
            state_dir,
        }
    }

    /// Root of the built binaries.
    pub fn upstream_dir(&self) -> PathBuf {
        self.cache_dir.join("upstream")
    }

    /// Directory of the cluster `name`; `down` removes it whole.
    pub fn cluster_dir(&self, name: &str) -> PathBuf {
        self.clusters_dir().join(name)
    }

    /// Parent of every cluster directory.
    pub fn clusters_dir(&self) -> PathBuf {
        self.state_dir.join("clusters")
    }

    /// Lock file of the cluster `name`. It lives outside the cluster directory so that `down`
    /// can remove that directory while holding the lock.
    pub fn cluster_lock(&self, name: &str) -> PathBuf {
        self.state_dir.join("locks").join(format!("{name}.lock"))
    }

    /// Lock file held while any cluster starts. kwokctl picks free ports before the components
    /// bind them, so two clusters starting at once can pick the same port.
    pub fn start_lock(&self) -> PathBuf {
        self.state_dir.join("locks").join("start.lock")
    }
}

fn non_empty_var(name: &str) -> Option<PathBuf> {
    env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Reads an XDG base directory variable, ignoring relative paths as the XDG Base Directory
/// Specification requires.
fn xdg_var(name: &str) -> Option<PathBuf> {
    non_empty_var(name).filter(|path| path.is_absolute())
}
