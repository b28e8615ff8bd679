//! Go builds of the upstream binaries and the cache that keeps them between runs.
//!
//! Each component and version gets a directory such as `upstream/kubernetes-v1.37.2/` under
//! the cache directory. A build writes into a sibling `.partial-…` directory, checks that each
//! binary prints the expected `--version`, records the size and SHA-256 of every binary in
//! `kspec-build.json`, and only then renames the directory into place. A directory without a
//! valid record, or whose binaries no longer match it, is reported as corrupt.

use std::fmt;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::command::{TAIL_LINES, reset_log, run_logged, run_logged_with_stdout, tail};
use super::error::LocalClusterError;
use super::gomod;
use super::lock;
use super::paths::Paths;
use super::progress::{OnProgress, Progress, report};
use super::versions::{Version, Versions};

/// Name of the build record inside each cache directory.
const MARKER: &str = "kspec-build.json";

/// Time a binary gets to print its version.
const VERSION_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// A group of binaries built together from one Go module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// kube-apiserver, kube-controller-manager and kube-scheduler from `k8s.io/kubernetes`.
    Kubernetes,
    /// etcd from `go.etcd.io/etcd/server/v3`.
    Etcd,
    /// kwok and kwokctl from `sigs.k8s.io/kwok`.
    Kwok,
}

impl Component {
    /// Every component, in build order (fastest first).
    pub const ALL: [Component; 3] = [Component::Etcd, Component::Kwok, Component::Kubernetes];

    /// Returns the names of the binaries the component provides.
    pub fn binaries(self) -> &'static [&'static str] {
        match self {
            Component::Kubernetes => &[
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
            ],
            Component::Etcd => &["etcd"],
            Component::Kwok => &["kwok", "kwokctl"],
        }
    }

    /// The component's version among `versions`.
    pub fn version(self, versions: &Versions) -> Version {
        match self {
            Component::Kubernetes => versions.kubernetes,
            Component::Etcd => versions.etcd,
            Component::Kwok => versions.kwok,
        }
    }

    /// Returns the lowercase name used in cache directory names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Component::Kubernetes => "kubernetes",
            Component::Etcd => "etcd",
            Component::Kwok => "kwok",
        }
    }

    fn dir_name(self, version: Version) -> String {
        format!("{self}-{version}")
    }

    /// Text that `binary --version` prints for this version, such as `Kubernetes v1.37.2`.
    fn version_text(self, binary: &str, version: Version) -> String {
        match self {
            Component::Kubernetes => format!("Kubernetes {version}"),
            Component::Etcd => format!(
                "etcd Version: {}.{}.{}",
                version.major, version.minor, version.patch
            ),
            Component::Kwok => format!("{binary} version {version}"),
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Paths of the built binaries of one set of versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binaries {
    upstream_dir: PathBuf,
    versions: Versions,
}

impl Binaries {
    pub(crate) fn new(paths: &Paths, versions: Versions) -> Self {
        Self {
            upstream_dir: paths.upstream_dir(),
            versions,
        }
    }

    /// Returns the cache directory of `component`.
    pub fn dir(&self, component: Component) -> PathBuf {
        let version = component.version(&self.versions);
        self.upstream_dir.join(component.dir_name(version))
    }

    /// Returns the path of `binary`, one of [`Component::binaries`].
    pub fn path(&self, component: Component, binary: &str) -> PathBuf {
        self.dir(component).join(binary)
    }
}

/// Result of `ensure_built` for one component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOutcome {
    pub component: Component,
    pub version: Version,
    pub dir: PathBuf,
    /// The build time, or `None` when the binaries came from the cache.
    pub built_in: Option<Duration>,
}

/// The build record written next to the binaries.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Marker {
    component: Component,
    version: Version,
    go_version: String,
    binaries: Vec<BinaryRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BinaryRecord {
    name: String,
    size: u64,
    sha256: String,
}

/// State of one cache directory.
#[derive(Debug)]
enum CacheState {
    Missing,
    Ready,
    Corrupt(String),
}

/// Builds every component of `versions` that is not cached yet, and returns where the
/// binaries are.
///
/// With `verify_checksums`, every cached binary is hashed and compared with its build record,
/// which takes about a second. Otherwise only the sizes are checked, in milliseconds.
/// Concurrent calls for the same component wait for each other instead of building twice.
pub async fn ensure_built(
    paths: &Paths,
    versions: Versions,
    verify_checksums: bool,
    on_progress: OnProgress<'_>,
) -> Result<(Binaries, Vec<BuildOutcome>), LocalClusterError> {
    let binaries = Binaries::new(paths, versions);
    let mut outcomes = Vec::new();
    for component in Component::ALL {
        let version = component.version(&versions);
        let dir = binaries.dir(component);
        let built_in =
            ensure_component(paths, component, version, verify_checksums, on_progress).await?;
        outcomes.push(BuildOutcome {
            component,
            version,
            dir,
            built_in,
        });
    }
    Ok((binaries, outcomes))
}

async fn ensure_component(
    paths: &Paths,
    component: Component,
    version: Version,
    verify_checksums: bool,
    on_progress: OnProgress<'_>,
) -> Result<Option<Duration>, LocalClusterError> {
    let upstream = paths.upstream_dir();
    let name = component.dir_name(version);
    let dir = upstream.join(&name);

    match inspect(&dir, component, version, verify_checksums) {
        CacheState::Ready => {
            report(
                on_progress,
                Progress::Cached {
                    component,
                    version,
                    dir,
                },
            );
            return Ok(None);
        }
        CacheState::Corrupt(problem) => {
            return Err(LocalClusterError::CacheCorrupt { dir, problem });
        }
        CacheState::Missing => {}
    }

    let _lock = lock::lock(&upstream.join(".locks").join(format!("{name}.lock"))).await?;

    // Another process may have built it while this one waited for the lock.
    match inspect(&dir, component, version, false) {
        CacheState::Ready => {
            report(
                on_progress,
                Progress::Cached {
                    component,
                    version,
                    dir,
                },
            );
            return Ok(None);
        }
        CacheState::Corrupt(problem) => {
            return Err(LocalClusterError::CacheCorrupt { dir, problem });
        }
        CacheState::Missing => {}
    }

    let go_version = go_version().await?;
    let log = upstream.join("logs").join(format!("{name}.log"));
    reset_log(&log)?;
    report(
        on_progress,
        Progress::BuildStarted {
            component,
            version,
            log: log.clone(),
        },
    );
    let started = Instant::now();
    let partial = upstream.join(format!(".partial-{name}"));
    remove_dir_if_present(&partial)?;
    build(
        component,
        version,
        &upstream.join(".work").join(&name),
        &partial,
        &log,
    )
    .await?;
    check_versions(component, version, &partial, &log).await?;
    write_marker(component, version, go_version, &partial)?;
    fs::rename(&partial, &dir)
        .map_err(|source| LocalClusterError::io("move the build into", &dir, source))?;

    let elapsed = started.elapsed();
    report(
        on_progress,
        Progress::BuildFinished {
            component,
            version,
            dir,
            elapsed,
        },
    );
    Ok(Some(elapsed))
}

fn inspect(dir: &Path, component: Component, version: Version, checksums: bool) -> CacheState {
    if !dir.exists() {
        return CacheState::Missing;
    }
    let marker_path = dir.join(MARKER);
    let marker: Marker = match fs::read(&marker_path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(marker) => marker,
            Err(err) => return CacheState::Corrupt(format!("{MARKER} is invalid: {err}")),
        },
        Err(_) => return CacheState::Corrupt(format!("{MARKER} is missing")),
    };
    if marker.component != component || marker.version != version {
        return CacheState::Corrupt(format!(
            "{MARKER} describes {} {}, not {component} {version}",
            marker.component, marker.version
        ));
    }
    for name in component.binaries() {
        let Some(record) = marker.binaries.iter().find(|record| record.name == *name) else {
            return CacheState::Corrupt(format!("{MARKER} does not list {name}"));
        };
        let path = dir.join(name);
        let size = match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => metadata.len(),
            _ => return CacheState::Corrupt(format!("{name} is missing")),
        };
        if size != record.size {
            return CacheState::Corrupt(format!(
                "{name} has {size} bytes, but was built with {}",
                record.size
            ));
        }
        if checksums {
            match sha256_file(&path) {
                Ok(sum) if sum == record.sha256 => {}
                Ok(_) => return CacheState::Corrupt(format!("{name} has changed since its build")),
                Err(err) => return CacheState::Corrupt(format!("{name} is unreadable: {err}")),
            }
        }
    }
    CacheState::Ready
}

/// Runs `go version`, which also proves that Go is installed.
async fn go_version() -> Result<String, LocalClusterError> {
    let output = Command::new("go")
        .arg("version")
        .output()
        .await
        .map_err(|source| LocalClusterError::GoMissing { source })?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        return Err(LocalClusterError::GoMissing {
            source: std::io::Error::other(message),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Creates a `go` command with the settings every build uses. Modules are resolved through
/// the module proxy into the wrapper's go.mod, no toolchain is downloaded, the binaries are
/// static, and neither a go.work file nor a surrounding VCS checkout has an effect.
fn go_command(workdir: &Path) -> Command {
    let mut command = Command::new("go");
    command
        .current_dir(workdir)
        .env("GOFLAGS", "-mod=mod -buildvcs=false")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0");
    command
}

async fn build(
    component: Component,
    version: Version,
    workdir: &Path,
    out_dir: &Path,
    log: &Path,
) -> Result<(), LocalClusterError> {
    remove_dir_if_present(workdir)?;
    fs::create_dir_all(workdir)
        .map_err(|source| LocalClusterError::io("create directory", workdir, source))?;
    fs::create_dir_all(out_dir)
        .map_err(|source| LocalClusterError::io("create directory", out_dir, source))?;
    let failed = || LocalClusterError::BuildFailed {
        component: component.name(),
        version: version.to_string(),
        log: log.to_owned(),
        tail: tail(log, TAIL_LINES),
    };

    // The wrapper starts without replacements so that `go mod download` can fetch the
    // release's own go.mod, which lists the staging modules to replace.
    let go_mod = workdir.join("go.mod");
    write_file(&go_mod, &gomod::wrapper_go_mod(component, version, &[]))?;
    let (main_go_mod, release_time) = download_main_module(component, version, workdir, log)
        .await?
        .ok_or_else(failed)?;
    let staging = match component {
        Component::Kubernetes => gomod::staging_modules(&main_go_mod),
        Component::Etcd | Component::Kwok => Vec::new(),
    };
    write_file(
        &go_mod,
        &gomod::wrapper_go_mod(component, version, &staging),
    )?;

    let output = match component {
        Component::Etcd => out_dir.join("etcd"),
        Component::Kubernetes | Component::Kwok => {
            // A trailing slash makes `go build -o` write one binary per package.
            PathBuf::from(format!("{}/", out_dir.display()))
        }
    };
    let mut command = go_command(workdir);
    command
        .arg("build")
        .arg("-trimpath")
        .arg("-o")
        .arg(&output)
        .arg("-ldflags")
        .arg(gomod::ldflags(component, version, &release_time))
        .args(gomod::packages(component));
    let status = run_logged(&mut command, log).await?;
    if !status.success() {
        return Err(failed());
    }
    Ok(())
}

/// Downloads the module that provides the commands and returns its go.mod text and release
/// time, or `None` when `go mod download` failed (its output is in `log`).
async fn download_main_module(
    component: Component,
    version: Version,
    workdir: &Path,
    log: &Path,
) -> Result<Option<(String, String)>, LocalClusterError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Download {
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        go_mod: Option<PathBuf>,
        #[serde(default)]
        info: Option<PathBuf>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Info {
        time: String,
    }

    let module = gomod::required_module(component, version).replace(' ', "@");
    let mut command = go_command(workdir);
    command.args(["mod", "download", "-json", &module]);
    let json_path = workdir.join("download.json");
    let json_file = File::create(&json_path)
        .map_err(|source| LocalClusterError::io("create", &json_path, source))?;
    let status = run_logged_with_stdout(&mut command, log, Some(json_file)).await?;
    let text = fs::read_to_string(&json_path)
        .map_err(|source| LocalClusterError::io("read", &json_path, source))?;
    // `go mod download -json` reports a failed download inside the JSON, not on stderr.
    let download = serde_json::from_str::<Download>(&text).ok();
    let go_mod_path = match download.as_ref() {
        Some(Download {
            error: None,
            go_mod: Some(go_mod),
            ..
        }) if status.success() => go_mod.clone(),
        _ => {
            let message = download.and_then(|download| download.error).unwrap_or(text);
            let mut file = File::options()
                .append(true)
                .open(log)
                .map_err(|source| LocalClusterError::io("open log file", log, source))?;
            writeln!(file, "{message}")
                .map_err(|source| LocalClusterError::io("write log file", log, source))?;
            return Ok(None);
        }
    };
    let go_mod = fs::read_to_string(&go_mod_path)
        .map_err(|source| LocalClusterError::io("read", &go_mod_path, source))?;
    let release_time = download
        .and_then(|download| download.info)
        .and_then(|info| fs::read(info).ok())
        .and_then(|bytes| serde_json::from_slice::<Info>(&bytes).ok())
        .map(|info| info.time)
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
    Ok(Some((go_mod, release_time)))
}

async fn check_versions(
    component: Component,
    version: Version,
    dir: &Path,
    log: &Path,
) -> Result<(), LocalClusterError> {
    for binary in component.binaries() {
        let path = dir.join(binary);
        let expected = component.version_text(binary, version);
        let problem = match version_output(&path).await {
            Ok(output) if output.contains(&expected) => continue,
            Ok(output) => format!(
                "`--version` printed `{}`, expected `{expected}`",
                output.trim()
            ),
            Err(err) => format!("`--version` did not run: {err}"),
        };
        return Err(LocalClusterError::BinaryCheckFailed {
            binary: path,
            problem,
            log: log.to_owned(),
        });
    }
    Ok(())
}

async fn version_output(binary: &Path) -> std::io::Result<String> {
    let run = Command::new(binary)
        .arg("--version")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(VERSION_CHECK_TIMEOUT, run)
        .await
        .map_err(|_| std::io::Error::other("timed out"))??;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(text)
}

fn write_marker(
    component: Component,
    version: Version,
    go_version: String,
    dir: &Path,
) -> Result<(), LocalClusterError> {
    let mut binaries = Vec::new();
    for name in component.binaries() {
        let path = dir.join(name);
        let size = fs::metadata(&path)
            .map_err(|source| LocalClusterError::io("inspect", &path, source))?
            .len();
        let sha256 =
            sha256_file(&path).map_err(|source| LocalClusterError::io("read", &path, source))?;
        binaries.push(BinaryRecord {
            name: (*name).to_owned(),
            size,
            sha256,
        });
    }
    let marker = Marker {
        component,
        version,
        go_version,
        binaries,
    };
    let text = serde_json::to_string_pretty(&marker).expect("the build record serializes");
    write_file(&dir.join(MARKER), &text)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        context.update(&buffer[..read]);
    }
    Ok(hex::encode(context.finish()))
}

fn write_file(path: &Path, text: &str) -> Result<(), LocalClusterError> {
    fs::write(path, text).map_err(|source| LocalClusterError::io("write", path, source))
}

fn remove_dir_if_present(path: &Path) -> Result<(), LocalClusterError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LocalClusterError::io("remove", path, source)),
    }
}
