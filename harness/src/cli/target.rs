//! Options that choose the cluster, shared by `kspec run` and `kspec lint`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use crate::cluster::local::{self, LocalClusterConfig, Progress};
use crate::cluster::{Backend, container};

/// Which cluster to use. Without `--kubeconfig`, `--context` or `--k3s`, the local cluster.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Run against the cluster of this kubeconfig file instead of the local cluster.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use (with the default kubeconfig when --kubeconfig is not given).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Run against a k3s container started with testcontainers; needs Docker and the image.
    /// The value is the image, optionally with a tag.
    #[arg(long, value_name = "IMAGE[:TAG]", num_args = 0..=1, default_missing_value = container::DEFAULT_IMAGE)]
    pub k3s: Option<String>,
    /// Name of the local cluster to use (started when it does not run).
    #[arg(long, value_name = "NAME", default_value = local::DEFAULT_NAME)]
    pub cluster: String,
    /// A variable for scenarios, as name=value; repeatable. Overrides suite and backend values.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::dsl::parse_assignment)]
    pub variables: Vec<(String, String)>,
}

impl TargetArgs {
    /// The backend these options name.
    pub fn backend(&self) -> Backend {
        if let Some(image) = &self.k3s {
            let (name, tag) = match image.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => (name, tag),
                _ => (image.as_str(), container::DEFAULT_TAG),
            };
            return Backend::K3s {
                image: name.to_owned(),
                tag: tag.to_owned(),
            };
        }
        if self.kubeconfig.is_some() || self.context.is_some() {
            return Backend::Kubeconfig {
                path: self.kubeconfig.clone(),
                context: self.context.clone(),
            };
        }
        Backend::Local(LocalClusterConfig::new(self.cluster.clone()))
    }

    pub fn variables(&self) -> BTreeMap<String, String> {
        self.variables.iter().cloned().collect()
    }
}

/// Prints local cluster progress (builds, start) to stderr.
pub fn print_progress(progress: &Progress) {
    eprintln!("kspec: {progress}");
}
