//! Suite files and discovery of the scenarios that command-line paths name.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::de::{from_node, to_problem};
use super::error::{DslError, FileKind, Problem};
use super::load::shown_directory;
use super::scalar::Schema;
use super::source::SourceFile;
use super::vars::Variables;
use super::yaml::{self, Node};

/// A suite: scenarios run together, with shared variables and points for grading.
///
/// ```yaml
/// # yaml-language-server: $schema=../schema/suite.schema.json
/// name: seed
/// description: Behaviour every Job and DaemonSet controller must show.
/// variables: {storageClass: standard}
/// scenarios:
///   - ../specs/job/hello-world.yaml
///   - {path: ../specs/job/completions.yaml, points: 2}
///   - {glob: "../specs/daemonset/*.yaml"}
/// ```
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Suite {
    /// Name shown in reports.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Values for `${name}` variables; they override the scenarios' own and are overridden by
    /// the backend and the command line.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Scenario files, relative to the suite file, in the order they are listed.
    pub scenarios: Vec<SuiteItem>,
}

/// One line of a suite's `scenarios`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SuiteItem {
    /// A scenario file.
    Path(String),
    /// A scenario file with its points.
    File(SuiteFile),
    /// Every scenario file a glob pattern matches (`*`, `?`, `[...]`, `**`), sorted by path.
    Glob(SuiteGlob),
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    pub path: String,
    /// Points for grading. Default: none given.
    #[serde(default)]
    pub points: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteGlob {
    pub glob: String,
    /// Points for grading, for each scenario matched. Default: none given.
    #[serde(default)]
    pub points: Option<u32>,
}

impl<'de> Deserialize<'de> for SuiteItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ItemForm {
            #[serde(default)]
            path: Option<String>,
            #[serde(default)]
            glob: Option<String>,
            #[serde(default)]
            points: Option<u32>,
        }

        struct ItemVisitor;

        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = SuiteItem;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scenario path, or a mapping with `path:` or `glob:`")
            }

            fn visit_str<E: de::Error>(self, path: &str) -> Result<SuiteItem, E> {
                Ok(SuiteItem::Path(path.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SuiteItem, A::Error> {
                let form = ItemForm::deserialize(MapAccessDeserializer::new(map))?;
                match (form.path, form.glob) {
                    (Some(path), None) => Ok(SuiteItem::File(SuiteFile {
                        path,
                        points: form.points,
                    })),
                    (None, Some(glob)) => Ok(SuiteItem::Glob(SuiteGlob {
                        glob,
                        points: form.points,
                    })),
                    (Some(_), Some(_)) => {
                        Err(de::Error::custom("give either `path` or `glob`, not both"))
                    }
                    (None, None) => Err(de::Error::custom("missing key `path` or `glob`")),
                }
            }
        }

        deserializer.deserialize_any(ItemVisitor)
    }
}

/// A suite file with its scenarios found.
#[derive(Clone, Debug)]
pub struct LoadedSuite {
    pub suite: Suite,
    pub path: PathBuf,
    /// The scenarios in the order listed, each glob's matches sorted.
    pub entries: Vec<Entry>,
}

/// A file to run or lint, with what its suite adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// [`FileKind::Scenario`], or [`FileKind::Manifests`] for a manifest file named on the
    /// command line, which `kspec lint` checks and `kspec run` must reject.
    pub kind: FileKind,
    /// Name of the suite that listed the scenario.
    pub suite: Option<String>,
    pub points: Option<u32>,
    /// The suite's variables.
    pub variables: Variables,
}

impl Entry {
    fn bare(path: PathBuf, kind: FileKind) -> Self {
        Self {
            path,
            kind,
            suite: None,
            points: None,
            variables: Variables::new(),
        }
    }
}

/// Loads a suite file and finds its scenarios.
///
/// # Errors
///
/// [`DslError::ReadFailed`] when the file cannot be read, and [`DslError::LoadFailed`] for
/// invalid YAML, unknown keys, paths or globs that match no scenario file, and a scenario
/// listed twice.
pub fn load_suite(path: &Path) -> Result<LoadedSuite, DslError> {
    let source = SourceFile::read(path).map_err(|source| DslError::ReadFailed {
        path: path.to_path_buf(),
        source,
    })?;
    let fail = |problems| {
        DslError::load_failed(FileKind::Suite, path, problems).expect("problems were found")
    };
    let root = match yaml::parse_single(&source, "suite") {
        Ok(Some(root)) => root,
        Ok(None) => return Err(fail(vec![Problem::new(path, "the suite file is empty")])),
        Err(problems) => return Err(fail(problems)),
    };
    let suite: Suite =
        from_node(&root, "", Schema::Core).map_err(|err| fail(vec![to_problem(&source, err)]))?;

    let base = path.parent().unwrap_or(Path::new("."));
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut first_listed = BTreeMap::new();
    let item_nodes = root.get("scenarios").map(Node::items).unwrap_or_default();
    for (item, node) in suite.scenarios.iter().zip(item_nodes) {
        let entry = |path: PathBuf, points: Option<u32>| Entry {
            path,
            kind: FileKind::Scenario,
            suite: Some(suite.name.clone()),
            points,
            variables: suite.variables.clone(),
        };
        match item {
            SuiteItem::Path(file) | SuiteItem::File(SuiteFile { path: file, .. }) => {
                let points = match item {
                    SuiteItem::File(file) => file.points,
                    _ => None,
                };
                let resolved = normalize(&base.join(file));
                match classify(&resolved) {
                    Ok(FileKind::Scenario) => {
                        match listed_before(&source, &mut first_listed, &resolved, file, node) {
                            Some(problem) => problems.push(problem),
                            None => entries.push(entry(resolved, points)),
                        }
                    }
                    Ok(other) => problems.push(
                        Problem::in_source(
                            &source,
                            format!("`{file}` is a {other}, not a scenario"),
                        )
                        .at(node.location, node.length, "listed here"),
                    ),
                    Err(_) => problems.push(
                        Problem::in_source(&source, format!("scenario file `{file}` not found"))
                            .at(node.location, node.length, "listed here")
                            .with_help(format!(
                                "paths are relative to the suite's directory, here {}",
                                shown_directory(base).display()
                            )),
                    ),
                }
            }
            SuiteItem::Glob(glob) => match glob_scenarios(base, &glob.glob) {
                Ok(found) if !found.is_empty() => {
                    for path in found {
                        let display_name = path.display().to_string();
                        match listed_before(&source, &mut first_listed, &path, &display_name, node)
                        {
                            Some(problem) => problems.push(problem),
                            None => entries.push(entry(path, glob.points)),
                        }
                    }
                }
                Ok(_) => problems.push(
                    Problem::in_source(
                        &source,
                        format!("`{}` matches no scenario file", glob.glob),
                    )
                    .at(node.location, node.length, "matches nothing")
                    .with_help(format!(
                        "patterns are relative to the suite's directory, here {}",
                        shown_directory(base).display()
                    )),
                ),
                Err(message) => problems.push(
                    Problem::in_source(&source, format!("invalid glob `{}`: {message}", glob.glob))
                        .at(node.location, node.length, "invalid pattern"),
                ),
            },
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    Ok(LoadedSuite {
        suite,
        path: path.to_path_buf(),
        entries,
    })
}

/// Records that `node` lists `scenario`, and returns a problem when an earlier item of the
/// suite listed it already, because the suite would then give the scenario two sets of
/// points. `first_listed` maps each canonical scenario path to the item that listed it first.
fn listed_before<'a>(
    source: &SourceFile,
    first_listed: &mut BTreeMap<PathBuf, &'a Node>,
    scenario: &Path,
    display_name: &str,
    node: &'a Node,
) -> Option<Problem> {
    let key = std::fs::canonicalize(scenario).unwrap_or_else(|_| scenario.to_path_buf());
    let Some(first) = first_listed.get(&key) else {
        first_listed.insert(key, node);
        return None;
    };
    let problem = Problem::in_source(
        source,
        format!(
            "scenario `{display_name}` is listed twice, first on line {}",
            first.location.line
        ),
    )
    .at(node.location, node.length, "listed again here")
    .with_help("list each scenario once, so that its points are unambiguous");
    Some(problem)
}

fn glob_scenarios(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = base.join(pattern);
    let paths = glob::glob(&full.to_string_lossy()).map_err(|err| err.msg.to_owned())?;
    let mut found: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|path| path.is_file() && matches!(classify(path), Ok(FileKind::Scenario)))
        .map(|path| normalize(&path))
        .collect();
    found.sort();
    Ok(found)
}

/// Removes `.` and `name/..` from a path without touching the file system, so paths in
/// reports read `specs/job/a.yaml` rather than `suites/../specs/job/a.yaml`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Tells a suite (top-level `scenarios:`), a manifest file (top-level `apiVersion:` or
/// `kind:`) and a scenario (anything else) apart by their top-level keys. It reads keys at
/// the start of lines, so it works on files with syntax errors too.
///
/// # Errors
///
/// [`DslError::ReadFailed`] when the file cannot be read.
pub fn classify(path: &Path) -> Result<FileKind, DslError> {
    let text = std::fs::read_to_string(path).map_err(|source| DslError::ReadFailed {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(classify_text(&text))
}

fn classify_text(text: &str) -> FileKind {
    let keys: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '"' || c == '\''))
        .filter_map(|line| {
            line.split_once(':')
                .map(|(key, _)| key.trim_matches(['"', '\'']).trim())
        })
        .collect();
    if keys.contains(&"scenarios") {
        FileKind::Suite
    } else if keys.contains(&"apiVersion") || keys.contains(&"kind") {
        FileKind::Manifests
    } else {
        FileKind::Scenario
    }
}

/// Finds the files that command-line paths name, for `kspec run`, `kspec lint` and
/// `cargo test`.
///
/// A path may be a scenario file, a suite file or a manifest file, which is returned as
/// [`FileKind::Manifests`]. A suite gives its scenarios with the suite's name, points and
/// variables. A directory gives every scenario file under it, recursively and sorted. It
/// skips hidden entries, suite files, manifest files and everything under a directory named
/// `manifests`. A file reached twice is kept once, where it was first found.
///
/// # Errors
///
/// A path that does not exist ([`DslError::PathNotFound`]) or cannot be read
/// ([`DslError::ReadFailed`]), a directory without scenarios
/// ([`DslError::NoScenarioFound`]), an invalid suite ([`DslError::LoadFailed`]), or two
/// scenarios with the same name ([`DslError::DuplicateName`]).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Entry>, DslError> {
    let mut entries: Vec<Entry> = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| unreadable_path(path, source))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            scenarios_under(path, &mut found)?;
            if found.is_empty() {
                return Err(DslError::NoScenarioFound { path: path.clone() });
            }
            found.sort();
            entries.extend(
                found
                    .into_iter()
                    .map(|path| Entry::bare(path, FileKind::Scenario)),
            );
            continue;
        }
        match classify(path)? {
            FileKind::Suite => entries.extend(load_suite(path)?.entries),
            kind => entries.push(Entry::bare(normalize(path), kind)),
        }
    }

    let mut seen = Vec::new();
    entries.retain(|entry| {
        let key = std::fs::canonicalize(&entry.path).unwrap_or_else(|_| entry.path.clone());
        let first = !seen.contains(&key);
        seen.push(key);
        first
    });
    check_unique_names(&entries)?;
    Ok(entries)
}

/// Builds the error for a command-line path that cannot be read. A missing `suites` or
/// `specs` may be a default path that the user never typed, so its error explains the
/// defaults and how to pass other paths.
fn unreadable_path(path: &Path, source: io::Error) -> DslError {
    if source.kind() != io::ErrorKind::NotFound {
        return DslError::ReadFailed {
            path: path.to_path_buf(),
            source,
        };
    }
    let help = (path == Path::new("suites") || path == Path::new("specs")).then(|| {
        let directory = std::env::current_dir().map_or_else(
            |_| ".".to_owned(),
            |directory| directory.display().to_string(),
        );
        format!(
            "without paths, `kspec run` reads suites/ and `kspec lint` reads suites/ and specs/, \
             relative to the current directory {directory}. Pass scenario, suite or directory \
             paths, or run kspec in the directory that contains suites/"
        )
    });
    DslError::PathNotFound {
        path: path.to_path_buf(),
        source,
        help,
    }
}

fn scenarios_under(directory: &Path, found: &mut Vec<PathBuf>) -> Result<(), DslError> {
    let read_failed = |source| DslError::ReadFailed {
        path: directory.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(directory).map_err(read_failed)? {
        let path = entry.map_err(read_failed)?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if name != "manifests" {
                scenarios_under(&path, found)?;
            }
            continue;
        }
        let is_yaml = matches!(
            path.extension().and_then(|ext| ext.to_str()),
            Some("yaml" | "yml")
        );
        if is_yaml && classify(&path)? == FileKind::Scenario {
            found.push(path);
        }
    }
    Ok(())
}

/// Scenario names must be unique within a run, since they name trials and snapshots. A file
/// whose name cannot be read is left to the loader, which reports why.
fn check_unique_names(entries: &[Entry]) -> Result<(), DslError> {
    let mut names: BTreeMap<String, &Path> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|entry| entry.kind == FileKind::Scenario)
    {
        let Some(name) = scenario_name(&entry.path) else {
            continue;
        };
        if let Some(first) = names.get(&name) {
            return Err(DslError::DuplicateName {
                name,
                first: first.to_path_buf(),
                second: entry.path.clone(),
            });
        }
        names.insert(name, &entry.path);
    }
    Ok(())
}

fn scenario_name(path: &Path) -> Option<String> {
    let source = SourceFile::read(path).ok()?;
    let root = yaml::parse_single(&source, "scenario").ok()??;
    Some(root.get("name")?.scalar()?.text.clone())
}
