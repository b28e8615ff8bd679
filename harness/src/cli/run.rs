//! `kspec run`: runs scenario files, suites and directories against a cluster.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::target::{TargetArgs, print_progress};
use crate::cluster::{Backend, Connection};
use crate::dsl::{self, Entry, FileKind};
use crate::report::model::{ScenarioReport, Status};
use crate::report::progress::Terminal;
use crate::report::{count_noun, files, picture, slug, table};
use crate::runner::{PlannedScenario, RunOptions, Runner, cleanup};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, suite files or directories of scenarios. Default: suites/.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run only scenarios whose name contains this text, or with `tag:NAME` only scenarios
    /// with that tag; repeatable (a scenario runs when any filter matches).
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Scenarios run at the same time.
    #[arg(long, short, default_value_t = 16)]
    pub jobs: usize,
    /// Write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a timeline picture (SVG, pods as bars over time) per scenario into this directory.
    #[arg(long, value_name = "DIR")]
    pub timelines: Option<PathBuf>,
}

/// Runs the command; exit code 0 when every scenario passed (or was ignored), 1 when one
/// failed, 2 when some input was unusable.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if let Err(err) = prepare_outputs(&args) {
        eprintln!("error: {err:#}");
        return Ok(ExitCode::from(2));
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("suites")]
    } else {
        args.paths.clone()
    };
    let entries = match dsl::discover(&paths) {
        Ok(entries) => entries,
        Err(err) => {
            eprintln!("{}", dsl::render_error(&err));
            return Ok(ExitCode::from(2));
        }
    };

    let backend = args.target.backend();
    let mut load_variables = backend.placeholder_variables();
    load_variables.extend(args.target.variables());
    let (planned, mut unusable) = plan(&entries, &load_variables);
    let planned = match select(planned, &args.filter) {
        Ok(planned) => planned,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    for report in &unusable {
        eprintln!("{}", report.failure.as_deref().unwrap_or_default());
    }
    if planned.is_empty() {
        eprintln!("kspec: no scenario to run; the cluster was not started");
        print!("{}", table::summary_table(&unusable));
        write_outputs(&args, "no cluster", &unusable)?;
        return Ok(exit_code(&unusable));
    }

    let connection = Connection::open(&backend, &print_progress)
        .await
        .context("failed to connect to the cluster")?;
    eprintln!(
        "kspec: running {} on {}",
        count_noun(planned.len(), "scenario", "scenarios"),
        connection.description
    );
    if matches!(backend, Backend::Local(_)) {
        for line in cleanup::clean_up_leftovers(&connection).await {
            eprintln!("kspec: {line}");
        }
    }
    let description = connection.description.clone();
    let options = RunOptions {
        jobs: args.jobs,
        variables: args.target.variables(),
    };
    let runner = Runner::new(connection, options, Arc::new(Terminal::new()));

    let cancel = CancellationToken::new();
    tokio::spawn(cancel_on_signal(cancel.clone()));
    let mut reports = runner.run_all(&planned, cancel.clone()).await;
    reports.append(&mut unusable);

    eprintln!();
    print!("{}", table::summary_table(&reports));
    if let Some(sheet) = table::grade_sheet(&reports) {
        print!("{sheet}");
    }
    write_outputs(&args, &description, &reports)?;

    if cancel.is_cancelled() {
        return Ok(ExitCode::from(130));
    }
    Ok(exit_code(&reports))
}

/// Cancels the run on SIGINT (Ctrl-C) or SIGTERM, so that every running scenario cleans up.
/// A second signal stops the process at once.
async fn cancel_on_signal(cancel: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};

    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!(
            "installing the SIGINT and SIGTERM handlers failed; a signal stops kspec without cleanup"
        );
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("kspec: interrupted; cleaning up (a second Ctrl-C or SIGTERM stops at once)");
    cancel.cancel();
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    std::process::exit(130);
}

/// Checks before the run that the report files differ and can be written, and removes the
/// files of an earlier run, so that a run that stops early leaves no stale results behind.
fn prepare_outputs(args: &RunArgs) -> anyhow::Result<()> {
    // The report files need not exist yet, so paths are compared as absolute paths with
    // their parent directory resolved, which catches `out.xml` against `./dir/../out.xml`.
    let resolve = |path: &Path| {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        match (absolute.parent(), absolute.file_name()) {
            (Some(parent), Some(name)) => std::fs::canonicalize(parent)
                .map(|parent| parent.join(name))
                .unwrap_or(absolute),
            _ => absolute,
        }
    };
    if let (Some(junit), Some(json)) = (&args.junit, &args.json)
        && resolve(junit) == resolve(json)
    {
        anyhow::bail!(
            "--junit and --json name the same file {}, so one report would overwrite the \
             other. Give each report its own file",
            json.display()
        );
    }
    for (option, path) in [("--junit", &args.junit), ("--json", &args.json)] {
        let Some(path) = path else { continue };
        std::fs::File::create(path)
            .with_context(|| format!("cannot write the {option} report {}", path.display()))?;
        std::fs::remove_file(path)
            .with_context(|| format!("cannot replace the {option} report {}", path.display()))?;
    }
    if let Some(dir) = &args.timelines {
        std::fs::create_dir_all(dir).with_context(|| {
            format!("cannot create the --timelines directory {}", dir.display())
        })?;
    }
    Ok(())
}

/// Loads every scenario entry. Entries that cannot be loaded become errored reports, so the
/// others still run and the problem is reported with them.
fn plan(
    entries: &[Entry],
    variables: &dsl::Variables,
) -> (Vec<PlannedScenario>, Vec<ScenarioReport>) {
    let mut planned = Vec::new();
    let mut unusable = Vec::new();
    for entry in entries {
        if entry.kind == FileKind::Manifests {
            unusable.push(ScenarioReport::not_run(
                &entry.path.display().to_string(),
                entry.path.clone(),
                Status::Errored,
                format!(
                    "error: {} holds manifests, not a scenario; `kspec run` takes scenario and suite files (use `kspec lint` to check manifests)",
                    entry.path.display()
                ),
            ));
            continue;
        }
        let mut load_variables = entry.variables.clone();
        load_variables.extend(variables.clone());
        match dsl::load_scenario(&entry.path, &load_variables) {
            Ok(loaded) => planned.push(PlannedScenario {
                loaded: Arc::new(loaded),
                suite: entry.suite.clone(),
                points: entry.points,
                variables: entry.variables.clone(),
            }),
            Err(err) => {
                let mut report = ScenarioReport::not_run(
                    &entry.path.display().to_string(),
                    entry.path.clone(),
                    Status::Errored,
                    dsl::render_error(&err),
                );
                report.suite = entry.suite.clone();
                report.points = entry.points;
                unusable.push(report);
            }
        }
    }
    (planned, unusable)
}

/// Keeps the scenarios that match a filter, once each, sorted by name. A filter that matches
/// nothing is an error rather than an empty green run.
pub fn select(
    planned: Vec<PlannedScenario>,
    filters: &[String],
) -> Result<Vec<PlannedScenario>, String> {
    let mut seen = BTreeSet::new();
    let mut selected: Vec<PlannedScenario> = planned
        .into_iter()
        .filter(|planned| seen.insert(planned.loaded.path().to_path_buf()))
        .filter(|planned| {
            filters.is_empty() || filters.iter().any(|filter| matches(planned, filter))
        })
        .collect();
    if selected.is_empty() && !filters.is_empty() {
        return Err(format!(
            "no scenario matches the filter {}",
            filters.join(", ")
        ));
    }
    selected.sort_by(|a, b| a.loaded.scenario().name.cmp(&b.loaded.scenario().name));
    Ok(selected)
}

fn matches(planned: &PlannedScenario, filter: &str) -> bool {
    let scenario = planned.loaded.scenario();
    match filter.strip_prefix("tag:") {
        Some(tag) => scenario.tags.iter().any(|t| t == tag),
        None => scenario.name.contains(filter),
    }
}

/// Writes every requested report; one that cannot be written does not keep the others from
/// being written.
fn write_outputs(args: &RunArgs, backend: &str, reports: &[ScenarioReport]) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    if let Some(path) = &args.junit {
        let written = files::junit(reports)
            .context("failed to render the JUnit report")
            .and_then(|xml| write(path, &xml));
        problems.extend(written.err());
    }
    if let Some(path) = &args.json {
        problems.extend(write(path, &files::json(backend, reports)).err());
    }
    if let Some(dir) = &args.timelines {
        let drawn = reports.iter().filter(|report| !report.pod_bars.is_empty());
        let names: Vec<&str> = drawn.clone().map(|report| report.name.as_str()).collect();
        for (report, file) in drawn.zip(unique_slugs(&names)) {
            let file = dir.join(format!("{file}.svg"));
            problems.extend(write(&file, &picture::svg(report)).err());
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let messages: Vec<String> = problems.iter().map(|err| format!("{err:#}")).collect();
    anyhow::bail!("{}", messages.join("\n"))
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("failed to write {}", path.display()))
}

/// File names for scenario names: their slugs, with `-2`, `-3`, … added where two names give
/// the same slug.
fn unique_slugs(names: &[&str]) -> Vec<String> {
    let mut used = BTreeSet::new();
    names
        .iter()
        .map(|name| {
            let base = slug(name);
            let mut candidate = base.clone();
            let mut number = 2;
            while !used.insert(candidate.clone()) {
                candidate = format!("{base}-{number}");
                number += 1;
            }
            candidate
        })
        .collect()
}

fn exit_code(reports: &[ScenarioReport]) -> ExitCode {
    if reports
        .iter()
        .any(|report| report.status == Status::Errored)
    {
        ExitCode::from(2)
    } else if reports.iter().any(|report| report.status == Status::Failed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::unique_slugs;

    #[test]
    fn unique_slugs_number_collisions() {
        let names = ["rv slug: a/b", "rv slug a b", "other", "rv-slug-a-b"];
        assert_eq!(
            unique_slugs(&names),
            ["rv-slug-a-b", "rv-slug-a-b-2", "other", "rv-slug-a-b-3"]
        );
    }
}
