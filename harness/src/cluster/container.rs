//! The k3s container backend, started with testcontainers.
//!
//! k3s runs real kubelets, so pods run real containers: `simulate` blocks do not apply, the
//! images that manifests name must be pullable from inside the container, and time-based
//! scenarios take as long as their containers do.

use std::path::{Path, PathBuf};

use testcontainers::ContainerAsync;
use testcontainers::core::ImageExt;
use testcontainers::runners::AsyncRunner;
use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};

/// Default image of the k3s backend; `--k3s-image` overrides it.
pub const DEFAULT_IMAGE: &str = "rancher/k3s";
/// Default tag of the k3s backend; `--k3s-image name:tag` overrides it.
pub const DEFAULT_TAG: &str = "v1.35.1-k3s1";

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("create a directory for the k3s configuration")]
    ConfigDirFailed(#[source] std::io::Error),
    #[error(
        "start the container (hint: a Docker engine must run and the image must be local or pullable)"
    )]
    StartFailed(#[source] testcontainers::TestcontainersError),
    #[error("read the kubeconfig k3s wrote")]
    KubeconfigUnreadable(#[source] std::io::Error),
    #[error("write the kubeconfig for the mapped API port")]
    KubeconfigUnwritable(#[source] std::io::Error),
}

/// A running k3s container and the kubeconfig that reaches it from the host.
pub struct RunningK3s {
    _container: ContainerAsync<K3s>,
    _config_dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl RunningK3s {
    /// Starts k3s and writes a kubeconfig whose server is the host port mapped to 6443.
    pub async fn start(image: &str, tag: &str) -> Result<Self, ContainerError> {
        let config_dir = tempfile::Builder::new()
            .prefix("kspec-k3s-")
            .tempdir()
            .map_err(ContainerError::ConfigDirFailed)?;
        let k3s = K3s::default().with_conf_mount(config_dir.path());
        let container = k3s
            .clone()
            .with_name(image)
            .with_tag(tag)
            .with_privileged(true)
            .with_userns_mode("host")
            .start()
            .await
            .map_err(ContainerError::StartFailed)?;
        let port = container
            .get_host_port_ipv4(KUBE_SECURE_PORT)
            .await
            .map_err(ContainerError::StartFailed)?;

        let written = k3s
            .read_kube_config()
            .map_err(ContainerError::KubeconfigUnreadable)?;
        let rewritten = written.replace(
            "https://127.0.0.1:6443",
            &format!("https://127.0.0.1:{port}"),
        );
        let kubeconfig = config_dir.path().join("kubeconfig.host.yaml");
        std::fs::write(&kubeconfig, rewritten).map_err(ContainerError::KubeconfigUnwritable)?;
        Ok(Self {
            _container: container,
            _config_dir: config_dir,
            kubeconfig,
        })
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }
}
