//! Running external programs (`go`, `kwokctl`) with their output appended to a log file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use tokio::process::Command;

use super::error::LocalClusterError;

/// Lines of a failed command's output shown in the error message.
pub(crate) const TAIL_LINES: usize = 25;

/// Runs `command` to completion with stdout and stderr appended to `log`, after a header line
/// naming the command.
pub(crate) async fn run_logged(
    command: &mut Command,
    log: &Path,
) -> Result<ExitStatus, LocalClusterError> {
    run_logged_with_stdout(command, log, None).await
}

/// Like [`run_logged`], but sends stdout to `stdout` when given.
pub(crate) async fn run_logged_with_stdout(
    command: &mut Command,
    log: &Path,
    stdout: Option<File>,
) -> Result<ExitStatus, LocalClusterError> {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent)
            .map_err(|source| LocalClusterError::io("create directory", parent, source))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|source| LocalClusterError::io("open log file", log, source))?;
    writeln!(file, "$ {}", describe(command))
        .map_err(|source| LocalClusterError::io("write log file", log, source))?;
    let stderr = file
        .try_clone()
        .map_err(|source| LocalClusterError::io("open log file", log, source))?;
    let stdout = stdout.unwrap_or(file);

    tracing::debug!(command = %describe(command), log = %log.display(), "running");
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|source| LocalClusterError::Spawn { program, source })?;
    Ok(status)
}

/// Returns the last `lines` lines of a log file, indented for an error message, or a note
/// when the file cannot be read.
pub(crate) fn tail(log: &Path, lines: usize) -> String {
    let Ok(text) = fs::read_to_string(log) else {
        return format!("    (no output: {} is missing)", log.display());
    };
    if text.trim().is_empty() {
        return "    (no output)".to_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..]
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Creates (or truncates) a log file so that it holds only the next command's output.
pub(crate) fn reset_log(log: &Path) -> Result<(), LocalClusterError> {
    if let Some(parent) = log.parent() {
        fs::create_dir_all(parent)
            .map_err(|source| LocalClusterError::io("create directory", parent, source))?;
    }
    File::create(log).map_err(|source| LocalClusterError::io("create log file", log, source))?;
    Ok(())
}

/// Formats the command line, with the environment variables it sets, for logs.
fn describe(command: &Command) -> String {
    let std = command.as_std();
    let mut words: Vec<String> = std
        .get_envs()
        .filter_map(|(key, value)| {
            value.map(|value| format!("{}={}", key.to_string_lossy(), value.to_string_lossy()))
        })
        .collect();
    words.push(std.get_program().to_string_lossy().into_owned());
    words.extend(std.get_args().map(|arg| arg.to_string_lossy().into_owned()));
    words.join(" ")
}
