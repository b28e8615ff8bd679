//! Loading scenario files: the typed scenario, its manifests and its variables.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::de::{self, from_node};
use super::error::{DslError, FileKind, Problem};
use super::manifest::{self, Manifest};
use super::patterns;
use super::scalar::Schema;
use super::source::SourceFile;
use super::types::{Scenario, Selection, Step};
use super::values::Target;
use super::vars::{self, BUILT_IN, Variables};
use super::yaml::{self, Node, NodeValue};
use crate::recorder::watch::{CLUSTER_KINDS, NAMESPACED_KINDS};

/// A scenario read from its file, with its manifests resolved.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    scenario: Scenario,
    pub(super) path: PathBuf,
    pub(super) source: SourceFile,
    pub(super) manifests: Vec<Manifest>,
    pub(super) variables: Variables,
    pub(super) tree: Node,
}

impl LoadedScenario {
    /// Returns the scenario with the variables known at load time filled into `steps` and
    /// `simulate`.
    /// `${namespace}` stays in place until [`render_scenario`] fills it.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the text of the scenario file.
    pub fn source(&self) -> &str {
        self.source.text()
    }

    /// Returns the manifests in the order they are applied, with `${name}` references still in place.
    pub fn manifests(&self) -> &[Manifest] {
        &self.manifests
    }

    /// Returns the scenario's `variables` overridden by those passed to [`load_scenario`].
    pub fn variables(&self) -> &Variables {
        &self.variables
    }
}

/// Loads a scenario file and the manifest files it names.
///
/// `variables` are those from the suite, the backend and the command line, merged by the
/// caller so that later sources override earlier ones. They override the scenario's own
/// `variables`. Every `${name}` must be defined by one of them or be a built-in.
///
/// # Errors
///
/// [`DslError::ReadFailed`] when the scenario file cannot be read. [`DslError::LoadFailed`]
/// with every problem found otherwise: invalid YAML, a document that is not a mapping, unknown
/// keys, wrong types and an empty `name`. It also lists manifests that cannot be read or lack
/// apiVersion, kind or metadata.name, undefined variables, invalid regular expressions, and
/// steps that name manifests or marks that do not exist.
pub fn load_scenario(path: &Path, variables: &Variables) -> Result<LoadedScenario, DslError> {
    let collected = load_collecting(path, variables)?;
    if let Some(err) = DslError::load_failed(FileKind::Scenario, path, collected.problems) {
        return Err(err);
    }
    Ok(collected
        .loaded
        .expect("a scenario without problems was loaded"))
}

/// Everything loading a scenario found.
pub(crate) struct Collected {
    /// `None` when the file is not valid YAML or does not match the format.
    pub(crate) loaded: Option<LoadedScenario>,
    /// The manifests that could be read, also when the scenario itself could not.
    pub(crate) manifests: Vec<Manifest>,
    pub(crate) problems: Vec<Problem>,
}

/// Loads a scenario and returns every problem found.
pub(crate) fn load_collecting(
    path: &Path,
    caller_variables: &Variables,
) -> Result<Collected, DslError> {
    let source = SourceFile::read(path).map_err(|source| DslError::ReadFailed {
        path: path.to_path_buf(),
        source,
    })?;
    let root = match yaml::parse_single(&source, "scenario") {
        Ok(Some(root)) => root,
        Ok(None) => {
            let problem = Problem::new(path, "the scenario file is empty")
                .with_help("a scenario needs at least `name` and `steps`");
            return Ok(Collected {
                loaded: None,
                manifests: Vec::new(),
                problems: vec![problem],
            });
        }
        Err(problems) => {
            return Ok(Collected {
                loaded: None,
                manifests: Vec::new(),
                problems,
            });
        }
    };
    if let Some(problem) = not_a_mapping(&source, &root) {
        return Ok(Collected {
            loaded: None,
            manifests: Vec::new(),
            problems: vec![problem],
        });
    }

    let variables = effective_variables(&root, caller_variables);
    let mut problems: Vec<Problem> = empty_name(&source, &root).into_iter().collect();
    // The namespace is generated at run time, so `${namespace}` stays until render_scenario.
    let lookup = |name: &str| {
        if name == "namespace" {
            None
        } else {
            variables.get(name).map(String::as_str)
        }
    };
    let (substituted, _) = substitute_sections(&root, &lookup);
    let (undefined, undefined_at) = undefined_in_sections(&source, &root, &variables);
    let scenario = match parse_scenario(&source, &substituted) {
        Ok(scenario) => Some(scenario),
        Err(found) => {
            // A value with an undefined variable is reported as such, not also as invalid.
            let consequences = |problem: &Problem| {
                problem
                    .location()
                    .is_some_and(|location| undefined_at.contains(&location))
            };
            problems.extend(found.into_iter().filter(|problem| !consequences(problem)));
            None
        }
    };
    problems.extend(undefined);
    problems.extend(patterns::invalid_patterns(&source, &root, &variables));

    let manifests = load_manifests(&source, &root, &variables, &mut problems);
    // NOTE: these checks need the typed steps, so a scenario with an invalid step gets them
    // only once that step is fixed.
    if let Some(scenario) = &scenario {
        problems.extend(check_references(
            &source, &root, scenario, &manifests, &variables,
        ));
    }

    let loaded = scenario.map(|scenario| LoadedScenario {
        scenario,
        path: path.to_path_buf(),
        source,
        manifests: manifests.clone(),
        variables,
        tree: root,
    });
    Ok(Collected {
        loaded,
        manifests,
        problems,
    })
}

/// Returns a problem when the scenario's document is not a mapping, which the typed scenario
/// would report as a missing `name`.
fn not_a_mapping(source: &SourceFile, root: &Node) -> Option<Problem> {
    let (found, help) = match &root.value {
        NodeValue::Mapping(_) => return None,
        NodeValue::Sequence(_) => (
            "a sequence",
            "write the scenario's keys without a leading `- `, as `name: …` and `steps:` at the \
             start of their lines",
        ),
        NodeValue::Scalar(_) => (
            "a scalar",
            "write the scenario's keys as `name: …` and `steps:` at the start of their lines",
        ),
    };
    let problem = Problem::in_source(
        source,
        format!("the scenario document must be a mapping with `name` and `steps`, found {found}"),
    )
    .at(root.location, root.length, "not a mapping")
    .with_help(help);
    Some(problem)
}

/// Returns a problem when `name` is an empty or blank string. A missing or null `name` is
/// left to the typed scenario, which reports it.
fn empty_name(source: &SourceFile, root: &Node) -> Option<Problem> {
    let node = root.get("name")?;
    let scalar = node.scalar()?;
    if node.is_null() || !scalar.text.trim().is_empty() {
        return None;
    }
    let problem = Problem::in_source(source, "scenario name is empty")
        .at(node.location, node.length, "empty name")
        .with_help(
            "the name identifies the scenario in reports, `--filter` and snapshots; write a \
             short sentence such as `job completions run one at a time`",
        );
    Some(problem)
}

/// Merges the scenario's `variables` with the caller's, which override them, and adds
/// `scenario` (the scenario's name).
fn effective_variables(root: &Node, caller_variables: &Variables) -> Variables {
    let mut variables: Variables = root
        .get("variables")
        .and_then(|node| from_node(node, "variables", Schema::Core).ok())
        .unwrap_or_default();
    variables.extend(
        caller_variables
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    if let Some(name) = root.get("name").and_then(Node::scalar) {
        variables
            .entry("scenario".to_owned())
            .or_insert_with(|| name.text.clone());
    }
    variables
}

/// Deserializes the scenario. When that fails, each step and the rest of the scenario are
/// deserialized on their own, so every broken step is reported and not just the first.
pub(super) fn parse_scenario(source: &SourceFile, root: &Node) -> Result<Scenario, Vec<Problem>> {
    let first = match from_node::<Scenario>(root, "", Schema::Core) {
        Ok(scenario) => return Ok(scenario),
        Err(err) => err,
    };

    let mut problems = Vec::new();
    if let Some(NodeValue::Sequence(steps)) = root.get("steps").map(|steps| &steps.value) {
        for (index, step) in steps.iter().enumerate() {
            if let Err(err) = from_node::<Step>(step, &format!("steps[{index}]"), Schema::Core) {
                problems.push(de::to_problem(source, err));
            }
        }
        let without_steps = replace_entry(root, "steps", |steps| Node {
            value: NodeValue::Sequence(Vec::new()),
            ..steps.clone()
        });
        if let Err(err) = from_node::<Scenario>(&without_steps, "", Schema::Core) {
            problems.push(de::to_problem(source, err));
        }
    }
    if problems.is_empty() {
        problems.push(de::to_problem(source, first));
    }
    Err(problems)
}

fn replace_entry(root: &Node, key: &str, replace: impl Fn(&Node) -> Node) -> Node {
    let entries = root
        .entries()
        .iter()
        .map(|(name, value)| {
            let is_key = name.scalar().is_some_and(|scalar| scalar.text == key);
            (
                name.clone(),
                if is_key {
                    replace(value)
                } else {
                    value.clone()
                },
            )
        })
        .collect();
    Node {
        value: NodeValue::Mapping(entries),
        ..root.clone()
    }
}

/// The sections of a scenario file where `${name}` is filled in.
const SECTIONS: [&str; 2] = ["steps", "simulate"];

/// Fills variables into every string of `steps` and `simulate`, keys included. Returns the
/// new tree and the references `lookup` has no value for, with their nodes.
pub(super) fn substitute_sections<'v>(
    root: &Node,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
) -> (Node, Vec<(String, Node)>) {
    let mut missing = Vec::new();
    let mut tree = root.clone();
    for section in SECTIONS {
        tree = replace_entry(&tree, section, |node| {
            substitute_node(node, lookup, &mut Vec::new())
        });
    }
    for section in SECTIONS {
        if let Some(node) = root.get(section) {
            node.walk(&mut |node| {
                if let Some(scalar) = node.scalar() {
                    let (_, names) = vars::substitute(&scalar.text, lookup);
                    missing.extend(names.into_iter().map(|name| (name, node.clone())));
                }
            });
        }
    }
    (tree, missing)
}

fn substitute_node<'v>(
    node: &Node,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    missing: &mut Vec<String>,
) -> Node {
    let value = match &node.value {
        NodeValue::Scalar(scalar) => {
            let (text, mut names) = vars::substitute(&scalar.text, lookup);
            missing.append(&mut names);
            NodeValue::Scalar(yaml::Scalar {
                text,
                plain: scalar.plain,
            })
        }
        NodeValue::Sequence(items) => NodeValue::Sequence(
            items
                .iter()
                .map(|item| substitute_node(item, lookup, missing))
                .collect(),
        ),
        NodeValue::Mapping(entries) => NodeValue::Mapping(
            entries
                .iter()
                .map(|(key, value)| {
                    (
                        substitute_node(key, lookup, missing),
                        substitute_node(value, lookup, missing),
                    )
                })
                .collect(),
        ),
    };
    Node {
        value,
        ..node.clone()
    }
}

pub(super) fn undefined_variable(
    source: &SourceFile,
    name: &str,
    node: &Node,
    variables: &Variables,
) -> Problem {
    let location = manifest::reference_location(source, node);
    let length = name.len() + 3;
    Problem::in_source(source, format!("undefined variable `${{{name}}}`"))
        .at(location, length, "not defined")
        .with_help(format!(
            "{}; define it under `variables:` in the scenario or suite, or pass `--var \
             {name}=VALUE`; write `$${{{name}}}` for a literal `${{{name}}}`",
            vars::describe_defined(variables)
        ))
}

fn is_defined(name: &str, variables: &Variables) -> bool {
    variables.contains_key(name) || BUILT_IN.contains(&name)
}

/// Problems for references in `steps` and `simulate` that no variable defines, and the
/// locations of the nodes that contain them.
fn undefined_in_sections(
    source: &SourceFile,
    root: &Node,
    variables: &Variables,
) -> (Vec<Problem>, Vec<super::source::Location>) {
    let lookup = |name: &str| is_defined(name, variables).then_some("");
    let (_, missing) = substitute_sections(root, &lookup);
    let problems = missing
        .iter()
        .map(|(name, node)| undefined_variable(source, name, node, variables))
        .collect();
    let locations = missing.iter().map(|(_, node)| node.location).collect();
    (problems, locations)
}

fn load_manifests(
    source: &SourceFile,
    root: &Node,
    variables: &Variables,
    problems: &mut Vec<Problem>,
) -> Vec<Manifest> {
    let mut manifests = Vec::new();
    let base = source.path().parent().unwrap_or(Path::new("."));
    for item in root.get("manifests").map(Node::items).unwrap_or_default() {
        let (mut found, mut found_problems, file_source) = match &item.value {
            NodeValue::Scalar(scalar) => {
                let path = base.join(&scalar.text);
                match manifest::read_file(&path) {
                    Ok((file_source, documents, mut syntax)) => {
                        let (found, mut invalid) =
                            manifest::from_documents(&file_source, &documents);
                        syntax.append(&mut invalid);
                        if found.is_empty() && syntax.is_empty() {
                            problems.push(
                                Problem::in_source(
                                    source,
                                    format!("manifest file `{}` holds no manifests", scalar.text),
                                )
                                .at(
                                    item.location,
                                    item.length,
                                    "empty file",
                                ),
                            );
                        }
                        (found, syntax, file_source)
                    }
                    Err(err) => {
                        problems.push(
                            Problem::in_source(
                                source,
                                format!("cannot read manifest file `{}`: {err}", scalar.text),
                            )
                            .at(item.location, item.length, "listed here")
                            .with_help(format!(
                                "paths are relative to the scenario's directory, here {}",
                                shown_directory(base).display()
                            )),
                        );
                        continue;
                    }
                }
            }
            NodeValue::Mapping(_) => match item.get("inline") {
                Some(inline) => {
                    let (found, invalid) = manifest::from_inline(source, inline);
                    (found, invalid, source.clone())
                }
                None => continue,
            },
            NodeValue::Sequence(_) => continue,
        };
        problems.append(&mut found_problems);
        for manifest in &found {
            problems.extend(undefined_in_manifest(&file_source, manifest, variables));
        }
        manifests.append(&mut found);
    }
    manifests
}

/// Returns the directory as a user would name it: `.` for the current directory, whose
/// relative scenario paths have an empty parent.
pub(super) fn shown_directory(directory: &Path) -> &Path {
    if directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        directory
    }
}

fn undefined_in_manifest(
    source: &SourceFile,
    manifest: &Manifest,
    variables: &Variables,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    manifest.node().walk(&mut |node| {
        let Some(scalar) = node.scalar() else { return };
        for reference in vars::references(&scalar.text) {
            if !is_defined(reference.name, variables) {
                problems.push(undefined_variable(source, reference.name, node, variables));
            }
        }
    });
    problems
}

/// Checks that steps name manifests and marks that exist: targets of `apply` and
/// `expect-rejected`, keys of `simulate`, and `since:` of expectations.
fn check_references(
    source: &SourceFile,
    root: &Node,
    scenario: &Scenario,
    manifests: &[Manifest],
    variables: &Variables,
) -> Vec<Problem> {
    let mut problems = Vec::new();

    // Manifest names are compared after filling the variables known now. A name that still
    // has a reference (`${namespace}`) matches any target.
    let names: Vec<(String, Option<String>)> = manifests
        .iter()
        .map(|manifest| {
            let kind = manifest.kind().unwrap_or_default().to_owned();
            let name = manifest.name().unwrap_or_default();
            let (name, missing) =
                vars::substitute(name, &|key| variables.get(key).map(String::as_str));
            (kind, missing.is_empty().then_some(name))
        })
        .collect();
    let exists = |target: &Target| {
        names.iter().any(|(kind, name)| {
            *kind == target.kind && name.as_deref().is_none_or(|name| name == target.name)
        })
    };
    let known: Vec<String> = names
        .iter()
        .map(|(kind, name)| {
            format!(
                "{}/{}",
                kind.to_ascii_lowercase(),
                name.as_deref().unwrap_or("…")
            )
        })
        .collect();
    let missing_manifest = |target: &Target, node: &Node, what: &str| {
        let listed = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        Problem::in_source(
            source,
            format!("{what} names {target}, which is not a manifest of this scenario"),
        )
        .at(node.location, node.length, "no such manifest")
        .with_help(format!("the scenario's manifests: {listed}"))
    };

    let step_nodes = root.get("steps").map(Node::items).unwrap_or_default();
    let mut marks: BTreeSet<&str> = BTreeSet::new();
    for (step, node) in scenario.steps.iter().zip(step_nodes) {
        let body = node.entries().first().map(|(_, body)| body);
        let (selection, selection_node, what) = match step {
            Step::Apply(selection) => (Some(selection), body, "`apply`"),
            Step::ExpectRejected(reject) => (
                Some(&reject.apply),
                body.and_then(|body| body.get("apply")),
                "`expect-rejected`",
            ),
            _ => (None, None, ""),
        };
        if let (Some(Selection::Targets(targets)), Some(selection_node)) =
            (selection, selection_node)
        {
            for (target, target_node) in targets.iter().zip(selection_node.items()) {
                if !exists(target) {
                    problems.push(missing_manifest(target, target_node, what));
                }
            }
        }

        let since = match step {
            Step::ExpectPods(pods) => pods.since.as_deref(),
            Step::ExpectOrdinals(ordinals) => ordinals.since.as_deref(),
            _ => None,
        };
        let since_node = body.and_then(|body| body.get("since"));
        if let (Some(since), Some(since_node)) = (since, since_node)
            && !marks.contains(since)
        {
            let defined: Vec<&str> = marks.iter().copied().collect();
            let defined = if defined.is_empty() {
                "none".to_owned()
            } else {
                defined.join(", ")
            };
            problems.push(
                Problem::in_source(
                    source,
                    format!("no `mark: {since}` step comes before this step"),
                )
                .at(since_node.location, since_node.length, "unknown mark")
                .with_help(format!("marks set by earlier steps: {defined}")),
            );
        }
        if let Step::Mark(name) = step {
            marks.insert(name);
        }

        if let Some(body) = body {
            problems.extend(unrecorded_kinds(source, step, body));
        }
    }

    let simulate_nodes = root.get("simulate").map(Node::entries).unwrap_or_default();
    for (key, _) in simulate_nodes {
        let Some(text) = key.scalar().map(|scalar| scalar.text.as_str()) else {
            continue;
        };
        let (text, _) = vars::substitute(text, &|name| variables.get(name).map(String::as_str));
        if let Ok(target) = text.parse::<Target>()
            && !exists(&target)
        {
            problems.push(missing_manifest(&target, key, "`simulate`"));
        }
    }
    problems
}

/// Checks that the objects and counts of checks name kinds the recorder watches: a check of
/// any other kind would never see its object and could only time out, or pass for `gone`.
fn unrecorded_kinds(source: &SourceFile, step: &Step, body: &Node) -> Vec<Problem> {
    let (target, count_kind, what) = match step {
        Step::Wait(wait) => (wait.target.as_ref(), wait.count.as_ref(), "`wait`"),
        Step::Expect(check) => (check.target.as_ref(), check.count.as_ref(), "`expect`"),
        Step::Consistently(hold) => (hold.target.as_ref(), hold.count.as_ref(), "`consistently`"),
        Step::Never(hold) => (hold.target.as_ref(), hold.count.as_ref(), "`never`"),
        Step::Delete(delete) if delete.wait.is_some() => {
            (Some(&delete.target), None, "`delete` with `wait`")
        }
        _ => return Vec::new(),
    };
    let count_kind = count_kind.and_then(|count| count.kind.as_deref());

    let mut problems = Vec::new();
    let mut report = |kind: &str, node: Option<&Node>| {
        if is_recorded(kind) {
            return;
        }
        let Some(node) = node else { return };
        problems.push(
            Problem::in_source(
                source,
                format!("{what} checks {kind} objects, which kspec does not record"),
            )
            .at(node.location, node.length, "kind not recorded")
            .with_help(format!("checks can name {}", recorded_kinds().join(", "))),
        );
    };
    if let Some(target) = target {
        let node = body
            .get("for")
            .or_else(|| body.get("target"))
            .or(Some(body));
        report(&target.kind, node);
    }
    if let Some(kind) = count_kind
        && let Some(info) = super::values::KindInfo::find(kind)
    {
        let node = body.get("count").and_then(|count| count.get("kind"));
        report(info.kind, node);
    }
    problems
}

fn recorded_kinds() -> Vec<&'static str> {
    NAMESPACED_KINDS
        .iter()
        .chain(CLUSTER_KINDS)
        .copied()
        .collect()
}

fn is_recorded(kind: &str) -> bool {
    recorded_kinds().contains(&kind)
}
