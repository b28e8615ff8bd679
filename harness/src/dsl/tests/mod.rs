//! Tests of the DSL loader: scenarios, manifests, variables, suites and lint, each reading YAML
//! written here into a temporary directory.

mod discover;
mod lint;
mod load;
mod render;
mod snapshots;
mod syntax;

use std::path::PathBuf;

use tempfile::TempDir;

/// Files written into a temporary directory, removed when dropped.
pub(super) struct Files {
    dir: TempDir,
}

impl Files {
    /// Writes `(relative path, text)` pairs, creating directories as needed.
    pub(super) fn new(entries: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in entries {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self { dir }
    }

    pub(super) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Replaces the temporary directory in rendered text, so snapshots do not depend on it.
    pub(super) fn redact(&self, text: &str) -> String {
        text.replace(&format!("{}/", self.dir.path().display()), "")
    }
}

/// A Job manifest, as the scenarios below apply it.
pub(super) const JOB: &str = "\
apiVersion: batch/v1
kind: Job
metadata:
  name: hello
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: hello
        image: busybox
        args: ['sh', '-c', 'date']
";
