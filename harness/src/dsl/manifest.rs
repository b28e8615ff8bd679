//! Kubernetes manifests read from files or written inline, with where each one came from.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::Problem;
use super::scalar::{self, Schema};
use super::source::{Location, SourceFile};
use super::vars;
use super::yaml::{self, Node, NodeValue};

/// A Kubernetes object to apply, as `kubectl` would read it, with its origin.
///
/// Plain scalars are typed as `kubectl` types them (see the `scalar` module): `0644` is 420
/// and `yes` is `true`. `${name}` references are still in place; [`super::render`] fills them.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub value: Value,
    pub origin: ManifestOrigin,
    source: SourceFile,
    node: Node,
    /// Strings that contain a `${name}` reference: JSON pointer, location, and whether the
    /// scalar was plain (and so is typed again after substitution).
    references: Vec<ReferenceSite>,
}

/// Origin of a manifest: file, YAML document and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestOrigin {
    /// The manifest file, or the scenario file for an inline manifest.
    pub file: PathBuf,
    /// Position of the YAML document in the file, counted from 1 with empty documents
    /// included; 1 for inline manifests.
    pub document: usize,
    /// Line of the manifest's first key, counted from 1.
    pub line: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct ReferenceSite {
    pub(crate) pointer: String,
    pub(crate) location: Location,
    pub(crate) plain: bool,
}

impl Manifest {
    pub fn api_version(&self) -> Option<&str> {
        self.value.get("apiVersion").and_then(Value::as_str)
    }

    pub fn kind(&self) -> Option<&str> {
        self.value.get("kind").and_then(Value::as_str)
    }

    pub fn name(&self) -> Option<&str> {
        self.value.pointer("/metadata/name").and_then(Value::as_str)
    }

    /// Finds a field by the path the API server prints in its errors, such as
    /// `spec.template.spec.containers[0].ports[0].cotainerPort` or
    /// `.metadata.labels[app.kubernetes.io/name]`. A path to a key gives the key's location; a
    /// path to a list item gives the item's. Keys that contain dots may be written either way
    /// (`metadata.annotations.kspec.dev/run-for` works too).
    pub fn locate(&self, path: &str) -> Option<Location> {
        locate_node(&self.node, path.strip_prefix('.').unwrap_or(path)).map(|node| node.location)
    }

    /// Creates a problem in this manifest's file, pointing at the field `path` (as
    /// [`Manifest::locate`] takes it) or, when the path is `None` or not found, at the
    /// manifest's first key. A server-side dry run reports its findings with it.
    pub fn problem(
        &self,
        path: Option<&str>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Problem {
        let node = path
            .and_then(|path| locate_node(&self.node, path.strip_prefix('.').unwrap_or(path)))
            .unwrap_or(&self.node);
        Problem::in_source(&self.source, message).at(node.location, node.length, label)
    }

    pub(crate) fn problem_at(
        &self,
        location: Location,
        length: usize,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Problem {
        Problem::in_source(&self.source, message).at(location, length, label)
    }

    pub(crate) fn node(&self) -> &Node {
        &self.node
    }

    pub(crate) fn references(&self) -> &[ReferenceSite] {
        &self.references
    }
}

/// Finds the node a path names: the key for a path that ends in a key, the item for one that
/// ends in an index.
fn locate_node<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    if path.is_empty() {
        return Some(node);
    }
    if let Some(rest) = path.strip_prefix('.') {
        return locate_node(node, rest);
    }
    if let Some(rest) = path.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if let Ok(index) = inner.parse::<usize>()
            && let NodeValue::Sequence(items) = &node.value
        {
            return locate_node(items.get(index)?, after);
        }
        let key = inner.trim_matches(['"', '\'']);
        let (key_node, value) = node.entry(key)?;
        return if after.is_empty() {
            Some(key_node)
        } else {
            locate_node(value, after)
        };
    }

    // A key runs to the next `.` or `[`, but keys such as `kspec.dev/run-for` contain dots,
    // so every key of the mapping that the path starts with is tried.
    for (key, value) in node.entries() {
        let Some(text) = key.scalar().map(|scalar| scalar.text.as_str()) else {
            continue;
        };
        let Some(after) = path.strip_prefix(text) else {
            continue;
        };
        if after.is_empty() {
            return Some(key);
        }
        if after.starts_with(['.', '['])
            && let Some(found) = locate_node(value, after)
        {
            return Some(found);
        }
    }
    None
}

/// Reads the manifests of a parsed file. Empty documents are skipped; a `kind: List` document
/// gives its items, as `kubectl apply` does.
pub(crate) fn from_documents(
    source: &SourceFile,
    documents: &[yaml::Document],
) -> (Vec<Manifest>, Vec<Problem>) {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    for document in documents {
        if let Some(root) = &document.root
            && !root.is_null()
        {
            collect(source, root, document.index, &mut manifests, &mut problems);
        }
    }
    (manifests, problems)
}

/// Reads inline manifests: one mapping, or a list of them.
pub(crate) fn from_inline(source: &SourceFile, node: &Node) -> (Vec<Manifest>, Vec<Problem>) {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    match &node.value {
        NodeValue::Sequence(items) => {
            for item in items {
                collect(source, item, 1, &mut manifests, &mut problems);
            }
        }
        _ => collect(source, node, 1, &mut manifests, &mut problems),
    }
    (manifests, problems)
}

fn collect(
    source: &SourceFile,
    node: &Node,
    document: usize,
    manifests: &mut Vec<Manifest>,
    problems: &mut Vec<Problem>,
) {
    let NodeValue::Mapping(_) = &node.value else {
        problems.push(
            Problem::in_source(
                source,
                "invalid manifest: expected a mapping with apiVersion, kind and metadata",
            )
            .at(node.location, node.length, "not a mapping"),
        );
        return;
    };

    let is_list = node
        .get("kind")
        .and_then(Node::scalar)
        .is_some_and(|kind| kind.text == "List");
    if let (true, Some(items)) = (is_list, node.get("items")) {
        for item in items.items() {
            collect(source, item, document, manifests, problems);
        }
        return;
    }

    let missing = missing_fields(node);
    if !missing.is_empty() {
        problems.push(
            Problem::in_source(
                source,
                format!("invalid manifest: missing {}", missing.join(" and ")),
            )
            .at(node.location, node.length, "this manifest")
            .with_help(
                "every manifest needs apiVersion, kind and metadata.name, as `kubectl \
                     apply` does (generateName is not enough for apply)",
            ),
        );
        return;
    }

    let mut references = Vec::new();
    let value = to_json(source, node, "", &mut references);
    manifests.push(Manifest {
        value,
        origin: ManifestOrigin {
            file: source.path().to_path_buf(),
            document,
            line: node.location.line,
        },
        source: source.clone(),
        node: node.clone(),
        references,
    });
}

fn missing_fields(node: &Node) -> Vec<&'static str> {
    let text = |node: Option<&Node>| {
        node.and_then(Node::scalar)
            .is_some_and(|scalar| !scalar.text.is_empty())
    };
    let mut missing = Vec::new();
    if !text(node.get("apiVersion")) {
        missing.push("`apiVersion`");
    }
    if !text(node.get("kind")) {
        missing.push("`kind`");
    }
    if !text(
        node.get("metadata")
            .and_then(|metadata| metadata.get("name")),
    ) {
        missing.push("`metadata.name`");
    }
    missing
}

/// Converts a node to JSON as `kubectl` types it, recording strings with references.
fn to_json(
    source: &SourceFile,
    node: &Node,
    pointer: &str,
    references: &mut Vec<ReferenceSite>,
) -> Value {
    match &node.value {
        NodeValue::Scalar(scalar) => {
            if !vars::references(&scalar.text).is_empty() {
                references.push(ReferenceSite {
                    pointer: pointer.to_owned(),
                    location: reference_location(source, node),
                    plain: scalar.plain,
                });
                return Value::String(scalar.text.clone());
            }
            if scalar.plain {
                scalar::resolve(&scalar.text, Schema::Kubectl)
            } else {
                Value::String(scalar.text.clone())
            }
        }
        NodeValue::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    to_json(source, item, &format!("{pointer}/{index}"), references)
                })
                .collect(),
        ),
        NodeValue::Mapping(entries) => {
            let mut object = Map::new();
            for (key, value) in entries {
                let Some(key) = key.scalar() else { continue };
                let name = scalar::key_text(&key.text, key.plain, Schema::Kubectl);
                let child = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                object.insert(name, to_json(source, value, &child, references));
            }
            Value::Object(object)
        }
    }
}

/// Finds the first `${` of a one-line scalar, or else the scalar's start.
pub(crate) fn reference_location(source: &SourceFile, node: &Node) -> Location {
    let line_end = source.text()[node.location.offset..]
        .find('\n')
        .map_or(source.text().len(), |end| node.location.offset + end);
    match source.text()[node.location.offset..line_end].find("${") {
        Some(offset) => source.location_of_offset(node.location.offset + offset),
        None => node.location,
    }
}

/// Reads a manifest file relative to `base` (a scenario's directory).
pub(crate) fn read_file(
    path: &Path,
) -> std::io::Result<(SourceFile, Vec<yaml::Document>, Vec<Problem>)> {
    let source = SourceFile::read(path)?;
    let (documents, problems) = yaml::parse_documents(&source);
    Ok((source, documents, problems))
}

/// Reads the manifests of a plain manifest file, with the problems that kept documents from
/// being read (syntax errors, manifests without apiVersion, kind or name).
///
/// # Errors
///
/// The I/O error when the file cannot be read.
pub fn load_manifest_file(path: &Path) -> std::io::Result<(Vec<Manifest>, Vec<Problem>)> {
    let (source, documents, mut problems) = read_file(path)?;
    let (manifests, mut invalid) = from_documents(&source, &documents);
    problems.append(&mut invalid);
    Ok((manifests, problems))
}
