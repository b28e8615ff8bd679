//! Runs every scenario of the suites in `suites/` as its own test trial, sorted by name, and
//! keeps an insta snapshot of each passing scenario's behavioural summary in
//! `tests/snapshots/`.
//!
//! The cluster comes from the environment: `KSPEC_KUBECONFIG` (with `KSPEC_CONTEXT`) names an
//! existing cluster, `KSPEC_K3S=image[:tag]` a k3s container, and otherwise the local cluster
//! `KSPEC_CLUSTER` (default `kspec`) is used, started (and its binaries built) when needed.
//! Usual libtest options work: a filter, `--exact`, `--skip`, `--list`, `--ignored`,
//! `--test-threads`. Scenarios the cluster cannot run (a missing capability) are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use kspec::cluster::local::LocalClusterConfig;
use kspec::cluster::{Backend, Connection};
use kspec::dsl::{self, Capability, FileKind};
use kspec::report::model::Status;
use kspec::report::progress::Silent;
use kspec::runner::{PlannedScenario, RunOptions, Runner, cleanup, summary};
use libtest_mimic::{Arguments, Failed, Trial};
use tokio_util::sync::CancellationToken;

/// Scenarios wait on the cluster, not on the CPU, so they run far more at once than there are
/// cores unless `--test-threads` says otherwise.
const DEFAULT_TEST_THREADS: usize = 64;

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(DEFAULT_TEST_THREADS);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let backend = backend_from_env();

    let entries = match dsl::discover(&suite_files(&root.join("suites"))) {
        Ok(entries) => entries,
        Err(err) => {
            eprintln!("{}", dsl::render_error(&err));
            return ExitCode::from(2);
        }
    };
    let scenarios = load(&entries, &backend);
    if let Err(message) = check_filter(&args, &scenarios) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }

    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime starts"),
    );
    let runner = if args.list {
        None
    } else {
        match runtime.block_on(connect(&backend)) {
            Ok(runner) => Some(Arc::new(runner)),
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        }
    };
    let capabilities = match &runner {
        Some(runner) => runtime.block_on(capabilities(runner)),
        None => BTreeSet::new(),
    };

    let trials = scenarios
        .into_iter()
        .map(|loaded| {
            trial(
                loaded,
                runner.clone(),
                Arc::clone(&runtime),
                &capabilities,
                root,
            )
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// The suite files in `dir`, sorted.
fn suite_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|read| {
            read.filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension()
                        .is_some_and(|extension| extension == "yaml")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A scenario ready to become a trial, or the file that failed to load.
enum Loaded {
    Scenario(PlannedScenario),
    Invalid { path: PathBuf, message: String },
}

impl Loaded {
    fn name(&self) -> String {
        match self {
            Loaded::Scenario(planned) => planned.loaded.scenario().name.clone(),
            Loaded::Invalid { path, .. } => path.display().to_string(),
        }
    }
}

fn backend_from_env() -> Backend {
    if let Ok(image) = std::env::var("KSPEC_K3S") {
        let (name, tag) = image
            .rsplit_once(':')
            .unwrap_or((image.as_str(), kspec::cluster::container::DEFAULT_TAG));
        return Backend::K3s {
            image: name.to_owned(),
            tag: tag.to_owned(),
        };
    }
    let kubeconfig = std::env::var_os("KSPEC_KUBECONFIG").map(PathBuf::from);
    let context = std::env::var("KSPEC_CONTEXT").ok();
    if kubeconfig.is_some() || context.is_some() {
        return Backend::Kubeconfig {
            path: kubeconfig,
            context,
        };
    }
    let name = std::env::var("KSPEC_CLUSTER").unwrap_or_else(|_| "kspec".to_owned());
    Backend::Local(LocalClusterConfig::new(name))
}

/// Loads every scenario once (a scenario listed by several suites runs once, under the first
/// suite), sorted by name.
fn load(entries: &[dsl::Entry], backend: &Backend) -> Vec<Loaded> {
    let mut seen = BTreeSet::new();
    let mut loaded = Vec::new();
    for entry in entries {
        if entry.kind != FileKind::Scenario || !seen.insert(entry.path.clone()) {
            continue;
        }
        let mut variables = backend.placeholder_variables();
        variables.extend(entry.variables.clone());
        match dsl::load_scenario(&entry.path, &variables) {
            Ok(scenario) => loaded.push(Loaded::Scenario(PlannedScenario {
                loaded: Arc::new(scenario),
                suite: entry.suite.clone(),
                points: entry.points,
                variables: entry.variables.clone(),
            })),
            Err(err) => loaded.push(Loaded::Invalid {
                path: entry.path.clone(),
                message: dsl::render_error(&err),
            }),
        }
    }
    loaded.sort_by_key(Loaded::name);
    reject_shared_snapshots(loaded)
}

/// Rejects scenarios whose names give the same snapshot file, because they would compare
/// against each other's snapshot. Each one after the first becomes an invalid trial.
fn reject_shared_snapshots(loaded: Vec<Loaded>) -> Vec<Loaded> {
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    loaded
        .into_iter()
        .map(|entry| {
            let Loaded::Scenario(planned) = &entry else {
                return entry;
            };
            let name = planned.loaded.scenario().name.clone();
            let file = kspec::report::slug(&name);
            match owners.get(&file) {
                Some(owner) => Loaded::Invalid {
                    path: planned.loaded.path().to_path_buf(),
                    message: format!(
                        "scenario `{name}` would share the snapshot tests/snapshots/{file}.snap \
                         with `{owner}`; rename one of them"
                    ),
                },
                None => {
                    owners.insert(file, name);
                    entry
                }
            }
        })
        .collect()
}

/// A filter that matches no scenario is an error, never a silent green run.
fn check_filter(args: &Arguments, scenarios: &[Loaded]) -> Result<(), String> {
    let Some(filter) = &args.filter else {
        return Ok(());
    };
    let matched = scenarios.iter().any(|loaded| {
        let name = loaded.name();
        if args.exact {
            name == *filter
        } else {
            name.contains(filter.as_str())
        }
    });
    if matched {
        Ok(())
    } else {
        Err(format!(
            "no scenario of suites/ matches the filter `{filter}`"
        ))
    }
}

async fn connect(backend: &Backend) -> Result<Runner, String> {
    let connection = Connection::open(backend, &|progress| eprintln!("kspec: {progress}"))
        .await
        .map_err(|err| {
            let mut message = format!("failed to {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            message
        })?;
    if matches!(backend, Backend::Local(_)) {
        for line in cleanup::clean_up_leftovers(&connection).await {
            eprintln!("kspec: {line}");
        }
    }
    Ok(Runner::new(
        connection,
        RunOptions::default(),
        Arc::new(Silent),
    ))
}

async fn capabilities(runner: &Runner) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    if runner.connection.simulated {
        present.insert(format!("{:?}", Capability::SimulatedNodes));
    }
    if runner.connection.variables.contains_key("storageClass") {
        present.insert(format!("{:?}", Capability::Storage));
    }
    if runner.has_tainted_control_plane().await {
        present.insert(format!("{:?}", Capability::TaintedControlPlane));
    }
    present
}

fn trial(
    loaded: Loaded,
    runner: Option<Arc<Runner>>,
    runtime: Arc<tokio::runtime::Runtime>,
    capabilities: &BTreeSet<String>,
    root: &Path,
) -> Trial {
    let name = loaded.name();
    let planned = match loaded {
        Loaded::Invalid { message, .. } => {
            return Trial::test(name, move || Err(Failed::from(message)));
        }
        Loaded::Scenario(planned) => planned,
    };
    let kind = planned.suite.clone().unwrap_or_default();
    let missing = runner.is_some()
        && planned
            .loaded
            .scenario()
            .requires
            .iter()
            .any(|capability| !capabilities.contains(&format!("{capability:?}")));
    let snapshots = root.join("tests").join("snapshots");
    Trial::test(name, move || {
        let Some(runner) = runner else {
            return Err(Failed::from("not connected to a cluster"));
        };
        run_trial(&runner, &runtime, &planned, &snapshots)
    })
    .with_kind(kind)
    .with_ignored_flag(missing)
}

fn run_trial(
    runner: &Runner,
    runtime: &tokio::runtime::Runtime,
    planned: &PlannedScenario,
    snapshots: &Path,
) -> Result<(), Failed> {
    let report = runtime.block_on(runner.run_one(planned, CancellationToken::new()));
    let mut problems = Vec::new();
    match report.status {
        Status::Passed => {}
        status => problems.push(format!(
            "{}: {}",
            status.label(),
            report.failure.as_deref().unwrap_or("no reason given")
        )),
    }
    for problem in &report.cleanup_errors {
        problems.push(format!("cleanup: {problem}"));
    }
    if !problems.is_empty() {
        return Err(Failed::from(problems.join("\n")));
    }
    if !planned.loaded.scenario().snapshot {
        return Ok(());
    }

    let behaviour = summary::behaviour(&report);
    let snapshot_name = kspec::report::slug(&report.name);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshots);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(planned.loaded.path());
    let compared = std::panic::catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(snapshot_name.as_str(), behaviour));
    }));
    compared.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_default();
        Failed::from(format!(
            "the behavioural summary differs from tests/snapshots/{snapshot_name}.snap {message}\n(review with `cargo insta review`)"
        ))
    })
}
