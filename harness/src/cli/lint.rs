//! `kspec lint`: checks scenario, suite and manifest files, and with a reachable cluster also
//! sends every manifest through a server-side dry run with strict field validation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use miette::Severity;
use serde_json::Value;

use super::target::TargetArgs;
use crate::cluster::local::{self, Paths};
use crate::cluster::{Backend, Connection};
use crate::dsl::{
    self, DslError, Entry, FileKind, Location, Manifest, Problem, Selection, Step, Variables,
};
use crate::report::count_noun;
use crate::runner::apply::{Applier, ApplyError};

/// Namespace for the dry runs of namespaced manifests; it exists on every cluster and the dry
/// run stores nothing in it.
const DRY_RUN_NAMESPACE: &str = "default";

/// Help of `--cluster` for lint. The shared help states that `kspec run` starts the cluster.
const CLUSTER_HELP: &str = "Name of the local cluster for the API server checks. Lint never \
     starts it, and skips those checks when it does not run";

#[derive(Debug, Args)]
#[command(mut_arg("cluster", |arg| arg.help(CLUSTER_HELP)))]
pub struct LintArgs {
    /// Scenario files, suite files, manifest files or directories. Default: suites/ and specs/.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Check files only, without a server-side dry run.
    #[arg(long)]
    pub offline: bool,
    /// One line per problem instead of a source snippet.
    #[arg(long)]
    pub short: bool,
}

/// Runs the command: exit code 0 without errors, 1 with problems found, 2 when a path matches
/// nothing.
pub async fn run(args: LintArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("suites"), PathBuf::from("specs")]
    } else {
        args.paths.clone()
    };
    let entries = match lint_entries(&paths) {
        Ok(entries) => entries,
        Err(err) => {
            eprintln!("{}", dsl::render_error(&err));
            return Ok(ExitCode::from(2));
        }
    };
    let connection = if args.offline {
        None
    } else {
        connect(&args.target).await
    };
    // Variables the cluster provides: its real values when connected, stand-ins otherwise, so
    // that `${storageClass}` is not reported as undefined.
    let mut backend_variables = args.target.backend().placeholder_variables();
    if let Some(connection) = &connection {
        backend_variables.extend(connection.variables.clone());
    }
    let applier = connection.map(|connection| Applier::new(connection.client));

    // A file can be reached by several paths, such as `specs/broken/../manifests/x.yaml` from
    // a scenario and `specs/manifests/x.yaml` from the directory walk. It is linted and
    // counted once.
    let mut files = LintedFiles::default();
    let mut linted = BTreeSet::new();
    let mut problems: Vec<Problem> = Vec::new();
    for entry in &entries {
        if !linted.insert(files.register(&entry.path)) {
            continue;
        }
        let mut variables = backend_variables.clone();
        variables.extend(entry.variables.clone());
        variables.extend(args.target.variables());
        let found = dsl::lint_file(&entry.path, &variables);
        let server_problems = match &applier {
            Some(applier) => {
                dry_run_file(applier, entry.kind, &entry.path, &variables, &found).await
            }
            None => Vec::new(),
        };
        problems.extend(files.keep_new(found));
        problems.extend(files.keep_new(server_problems));
    }

    for problem in &problems {
        if args.short {
            println!("{}", problem.to_line());
        } else {
            println!("{}", dsl::render_problem(problem));
        }
    }
    let errors = problems
        .iter()
        .filter(|problem| problem.severity() == Severity::Error)
        .count();
    eprintln!(
        "kspec: {} ({}) in {} of {}{}",
        count_noun(problems.len(), "problem", "problems"),
        count_noun(errors, "error", "errors"),
        files.with_problems.len(),
        count_noun(linted.len(), "file", "files"),
        if applier.is_some() {
            ""
        } else {
            "; server-side checks skipped"
        }
    );
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The files linted so far and the problems found in them. A file reached by several paths
/// is displayed by the first of them, and a problem found again through another path is
/// dropped.
#[derive(Default)]
struct LintedFiles {
    /// The display path of each file, by canonical path.
    display_paths: BTreeMap<PathBuf, PathBuf>,
    /// Canonical path, location and message of each problem kept.
    problems: BTreeSet<(PathBuf, Option<Location>, String)>,
    /// Canonical paths of the files with problems.
    with_problems: BTreeSet<PathBuf>,
}

impl LintedFiles {
    /// Records `path` as the display path of its file unless another path to the file came
    /// first, and returns the file's canonical path. A path that cannot be resolved, such as
    /// one of a missing file, is used as its own canonical path.
    fn register(&mut self, path: &Path) -> PathBuf {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.display_paths
            .entry(canonical.clone())
            .or_insert_with(|| path.to_path_buf());
        canonical
    }

    /// Returns the problems not found before, each named by the display path of its file.
    fn keep_new(&mut self, problems: Vec<Problem>) -> Vec<Problem> {
        let mut new_problems = Vec::with_capacity(problems.len());
        for problem in problems {
            let canonical = self.register(problem.file());
            let key = (
                canonical.clone(),
                problem.location(),
                problem.message().to_owned(),
            );
            if !self.problems.insert(key) {
                continue;
            }
            let display_path = &self.display_paths[&canonical];
            let problem = if display_path == problem.file() {
                problem
            } else {
                problem.with_file(display_path)
            };
            self.with_problems.insert(canonical);
            new_problems.push(problem);
        }
        new_problems
    }
}

/// The files to lint: every YAML file under a directory (manifest files included, which `kspec
/// run` skips), and for a file, the file itself plus the scenarios of a suite.
fn lint_entries(paths: &[PathBuf]) -> Result<Vec<Entry>, DslError> {
    let mut entries = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            collect_yaml_files(path, &mut files);
            files.sort();
            if files.is_empty() {
                return dsl::discover(std::slice::from_ref(path));
            }
            for file in files {
                let kind = dsl::classify(&file)?;
                entries.push(bare_entry(file, kind));
            }
        } else {
            // `discover` comes first because it explains a missing path.
            let found = dsl::discover(std::slice::from_ref(path))?;
            let kind = dsl::classify(path)?;
            if kind == FileKind::Suite {
                entries.push(bare_entry(path.clone(), kind));
            }
            entries.extend(found);
        }
    }
    Ok(entries)
}

fn bare_entry(path: PathBuf, kind: FileKind) -> Entry {
    Entry {
        path,
        kind,
        suite: None,
        points: None,
        variables: Variables::new(),
    }
}

fn collect_yaml_files(dir: &std::path::Path, files: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml_files(&path, files);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml" || extension == "yml")
        {
            files.push(path);
        }
    }
}

/// Connects for the dry run: to the named kubeconfig or container, or to the local cluster
/// only when it already runs (lint never starts one).
async fn connect(target: &TargetArgs) -> Option<Connection> {
    let backend = target.backend();
    if let Backend::Local(config) = &backend {
        let running = local::status(&Paths::from_env())
            .await
            .ok()?
            .into_iter()
            .any(|status| status.name == config.name && status.healthy());
        if !running {
            eprintln!(
                "kspec: the local cluster `{}` does not run, so the API server checks (unknown fields, invalid values) are skipped; start it with `kspec cluster up` or name a cluster with --kubeconfig",
                config.name
            );
            return None;
        }
    }
    match Connection::open(&backend, &super::target::print_progress).await {
        Ok(connection) => Some(connection),
        Err(err) => {
            eprintln!("kspec: API server checks skipped: failed to {err}");
            None
        }
    }
}

/// Dry-runs the manifests of one file and returns the server's objections, placed at the
/// fields they name. Manifests of a scenario that its `expect-rejected` steps name are skipped,
/// because their rejection is the behaviour under test.
async fn dry_run_file(
    applier: &Applier,
    kind: FileKind,
    path: &std::path::Path,
    variables: &Variables,
    already: &[Problem],
) -> Vec<Problem> {
    let (manifests, values): (Vec<Manifest>, Vec<Value>) = match kind {
        FileKind::Suite => return Vec::new(),
        // A manifest with `${name}` references is a template whose values only its scenario
        // knows; it is dry-run when its scenario is linted.
        FileKind::Manifests => match dsl::load_manifest_file(path) {
            Ok((manifests, _)) => manifests
                .into_iter()
                .filter(|manifest| !has_references(&manifest.value))
                .map(|manifest| {
                    let value = manifest.value.clone();
                    (manifest, value)
                })
                .unzip(),
            Err(_) => return Vec::new(),
        },
        FileKind::Scenario => {
            let Ok(loaded) = dsl::load_scenario(path, variables) else {
                return Vec::new();
            };
            let mut run_variables = variables.clone();
            run_variables.insert("namespace".to_owned(), DRY_RUN_NAMESPACE.to_owned());
            run_variables.insert("scenario".to_owned(), loaded.scenario().name.clone());
            let Ok(values) = dsl::render(&loaded, &run_variables) else {
                return Vec::new();
            };
            let rejected = rejected_targets(&loaded.scenario().steps);
            let pairs: Vec<(Manifest, Value)> = loaded
                .manifests()
                .iter()
                .cloned()
                .zip(values)
                .filter(|(manifest, _)| {
                    !rejected.all
                        && !rejected.targets.contains(&(
                            manifest.kind().unwrap_or_default().to_ascii_lowercase(),
                            manifest.name().unwrap_or_default().to_owned(),
                        ))
                })
                .collect();
            pairs.into_iter().unzip()
        }
    };

    let mut problems = Vec::new();
    for (manifest, value) in manifests.iter().zip(&values) {
        let Err(err) = applier.apply(value, DRY_RUN_NAMESPACE, true).await else {
            continue;
        };
        problems.extend(server_problems(manifest, &err, already, None));

        // With the kind at an apiVersion the server does not serve, nothing else was checked;
        // dry-run again at the apiVersion it serves to find the manifest's other mistakes.
        if let ApplyError::NoKindMatch { served, .. } = &err
            && let Some(api_version) = served.first()
        {
            let mut retried = value.clone();
            retried["apiVersion"] = Value::String(api_version.clone());
            if let Err(err) = applier.apply(&retried, DRY_RUN_NAMESPACE, true).await {
                problems.extend(server_problems(manifest, &err, already, Some(api_version)));
            }
        }
    }
    problems
}

/// Whether a manifest contains a `${name}` reference (and not only escaped `$${…}` text).
fn has_references(value: &Value) -> bool {
    match value {
        Value::String(text) => text.replace("$${", "").contains("${"),
        Value::Array(items) => items.iter().any(has_references),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, field)| key.contains("${") || has_references(field)),
        _ => false,
    }
}

/// Manifests that `expect-rejected` steps name.
struct Rejected {
    all: bool,
    targets: BTreeSet<(String, String)>,
}

fn rejected_targets(steps: &[Step]) -> Rejected {
    let mut rejected = Rejected {
        all: false,
        targets: BTreeSet::new(),
    };
    for step in steps {
        if let Step::ExpectRejected(reject) = step {
            match &reject.apply {
                Selection::All(_) => rejected.all = true,
                Selection::Targets(targets) => rejected.targets.extend(
                    targets
                        .iter()
                        .map(|target| (target.kind.to_ascii_lowercase(), target.name.clone())),
                ),
            }
        }
    }
    rejected
}

/// Turns a rejection into problems at the fields it names. `retried_as` is the apiVersion of
/// a second dry run, which prefixes its messages.
fn server_problems(
    manifest: &Manifest,
    err: &ApplyError,
    already: &[Problem],
    retried_as: Option<&str>,
) -> Vec<Problem> {
    let label = "rejected by the API server";
    let prefix = retried_as
        .map(|api_version| format!("with apiVersion {api_version}: "))
        .unwrap_or_default();
    match err {
        ApplyError::NoKindMatch { .. } => {
            let problem = manifest.problem(Some("apiVersion"), err.to_string(), label);
            let line = problem.location().map(|location| location.line);
            let duplicate = already.iter().any(|known| {
                known.file() == problem.file() && known.location().map(|l| l.line) == line
            });
            if duplicate || retried_as.is_some() {
                Vec::new()
            } else {
                vec![problem]
            }
        }
        ApplyError::Rejected {
            message, causes, ..
        } => {
            let located: Vec<Problem> = causes
                .iter()
                .filter_map(|cause| {
                    let field = cause
                        .field
                        .as_deref()
                        .or_else(|| field_in(&cause.message))?;
                    Some(manifest.problem(Some(field), format!("{prefix}{}", cause.message), label))
                })
                .collect();
            if !located.is_empty() {
                return located;
            }
            let field = field_in(message);
            vec![manifest.problem(field, format!("{prefix}{message}"), label)]
        }
        ApplyError::Incomplete { .. } | ApplyError::Request(_) => {
            vec![manifest.problem(None, format!("failed to dry-run: {err}"), "not checked")]
        }
    }
}

/// The field path in a server message: `unknown field "spec.x"` (strict decoding) or
/// `.spec.x: field not declared in schema` (server-side apply).
fn field_in(message: &str) -> Option<&str> {
    if let Some(rest) = message.split("unknown field \"").nth(1) {
        return rest.split('"').next();
    }
    let declared = message.find(": field not declared in schema")?;
    let start = message[..declared].rfind(' ').map_or(0, |space| space + 1);
    Some(&message[start..declared])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::strict_decoding(
        r#"strict decoding error: unknown field "spec.template.spec.containers[0].ports[0].cotainerPort""#,
        Some("spec.template.spec.containers[0].ports[0].cotainerPort")
    )]
    #[case::server_side_apply(
        "failed to create typed patch object (/v1, Kind=Job): .spec.teamplate: field not declared in schema",
        Some(".spec.teamplate")
    )]
    #[case::no_field("something else went wrong", None)]
    fn field_in_server_message(#[case] message: &str, #[case] field: Option<&str>) {
        assert_eq!(field_in(message), field);
    }

    #[test]
    fn keep_new_file_reached_twice() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("broken")).unwrap();
        std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
        std::fs::write(dir.path().join("manifests/x.yaml"), "kind: Job\n").unwrap();
        let through_scenario = dir.path().join("broken/../manifests/x.yaml");
        let direct = dir.path().join("manifests/x.yaml");
        let mut files = LintedFiles::default();

        let first = files.keep_new(vec![Problem::new(&through_scenario, "removed API")]);
        let second = files.keep_new(vec![
            Problem::new(&direct, "removed API"),
            Problem::new(&direct, "invalid YAML"),
        ]);

        assert_eq!(first.len(), 1);
        let messages: Vec<&str> = second.iter().map(Problem::message).collect();
        assert_eq!(messages, ["invalid YAML"]);
        assert_eq!(second[0].file(), through_scenario);
        assert_eq!(files.with_problems.len(), 1);
    }

    #[test]
    fn register_same_file_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("x.yaml"), "").unwrap();
        let mut files = LintedFiles::default();

        let first = files.register(&dir.path().join("a/../x.yaml"));
        let second = files.register(&dir.path().join("x.yaml"));
        let missing = files.register(Path::new("no/such/file.yaml"));

        assert_eq!(first, second);
        assert_eq!(missing, Path::new("no/such/file.yaml"));
        assert_eq!(files.display_paths.len(), 2);
    }
}
