//! Pod annotations that steer the simulated kubelets of the local cluster.
//!
//! The runner writes them into pod templates from a scenario's `simulate` block, and users can
//! set them by hand. The kwok Stages in `stages/pod.yaml` read the same names. Durations are
//! Go durations (`1500ms`, `2s`, `1m30s`).

/// Time from Running to container exit. Pods owned by a Job exit after 1s without it; other
/// pods run until they are deleted unless it is set.
pub const RUN_FOR: &str = "kspec.dev/run-for";

/// Exit code of the containers, an integer; default 0.
///
/// With `restartPolicy: Never` the pod ends Succeeded (0) or Failed (non-zero, container
/// `terminated.reason: Error`). With `OnFailure` a non-zero exit restarts the containers and
/// 0 ends Succeeded. With `Always` the containers restart whatever the code.
pub const EXIT_CODE: &str = "kspec.dev/exit-code";

/// Prefix of the per-index exit code: `kspec.dev/exit-code-index-N` applies to the pod of
/// completion index N of an Indexed Job and overrides [`EXIT_CODE`].
pub const EXIT_CODE_INDEX_PREFIX: &str = "kspec.dev/exit-code-index-";

/// `"false"` keeps a Running pod not Ready (conditions Ready and ContainersReady False).
pub const READY: &str = "kspec.dev/ready";

/// Time from scheduling (spec.nodeName set) to Running; default 500ms.
pub const START_AFTER: &str = "kspec.dev/start-after";

/// The annotation the Job controller sets on the pods of an Indexed Job.
pub const JOB_COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// Returns the per-index exit code annotation for completion index `index`.
pub fn exit_code_for_index(index: u32) -> String {
    format!("{EXIT_CODE_INDEX_PREFIX}{index}")
}
