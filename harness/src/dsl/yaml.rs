//! YAML reading: documents split on their markers, syntax checked by libyaml and parsed into a
//! tree that keeps the location of every key and value.
//!
//! libyaml (through serde_yaml) checks the syntax first because its messages are the ones
//! `kubectl` prints, since go-yaml is a port of it. yaml-rust2 then builds the tree, because its
//! events carry positions. Each document is parsed on its own, so a syntax error stops only
//! its document: serde_yaml's multi-document reader repeats the first error forever instead of
//! moving on, and yaml-rust2 stops at the first error of a stream.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::Problem;
use super::source::{Location, SourceFile};

/// A YAML value with the location where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) location: Location,
    /// Length in bytes of the token at `location`, for labels: the scalar as written, or one
    /// character for a collection.
    pub(crate) length: usize,
    pub(crate) value: NodeValue,
}

#[derive(Clone, Debug)]
pub(crate) enum NodeValue {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

#[derive(Clone, Debug)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    /// Whether the scalar was written without quotes and without a block indicator, and so is
    /// typed by its text (`3` is a number, `true` a boolean).
    pub(crate) plain: bool,
}

impl Node {
    pub(crate) fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            NodeValue::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub(crate) fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            NodeValue::Mapping(entries) => entries,
            _ => &[],
        }
    }

    pub(crate) fn items(&self) -> &[Node] {
        match &self.value {
            NodeValue::Sequence(items) => items,
            _ => &[],
        }
    }

    /// Finds the entry of a mapping whose key is written as `key`.
    pub(crate) fn entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.entries()
            .iter()
            .find(|(name, _)| name.scalar().is_some_and(|scalar| scalar.text == key))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, value)| value)
    }

    pub(crate) fn is_null(&self) -> bool {
        self.scalar()
            .is_some_and(|scalar| scalar.plain && super::scalar::is_null(&scalar.text))
    }

    /// Calls `visit` on this node and every node below it, keys included.
    pub(crate) fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Node)) {
        visit(self);
        match &self.value {
            NodeValue::Scalar(_) => {}
            NodeValue::Sequence(items) => items.iter().for_each(|item| item.walk(visit)),
            NodeValue::Mapping(entries) => {
                for (key, value) in entries {
                    key.walk(visit);
                    value.walk(visit);
                }
            }
        }
    }
}

/// One YAML document of a file.
#[derive(Clone, Debug)]
pub(crate) struct Document {
    /// Position among the file's documents, counted from 1; empty documents count.
    pub(crate) index: usize,
    /// The content; `None` for an empty document and for one with a syntax error.
    pub(crate) root: Option<Node>,
}

/// Parses every document of a file. A document with a syntax error yields a problem and no
/// root; the documents after it are still parsed.
pub(crate) fn parse_documents(source: &SourceFile) -> (Vec<Document>, Vec<Problem>) {
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for (position, chunk) in split_documents(source.text()).into_iter().enumerate() {
        let index = position + 1;
        match parse_chunk(source, &chunk) {
            Ok(root) => documents.push(Document { index, root }),
            Err(mut found) => {
                problems.append(&mut found);
                documents.push(Document { index, root: None });
            }
        }
    }
    (documents, problems)
}

/// Parses a file that must hold one document, such as a scenario or a suite (`kind`).
pub(crate) fn parse_single(source: &SourceFile, kind: &str) -> Result<Option<Node>, Vec<Problem>> {
    let (documents, mut problems) = parse_documents(source);
    let mut roots = documents.into_iter().filter_map(|document| document.root);
    let root = roots.next();
    if let Some(extra) = roots.next() {
        problems.push(
            Problem::in_source(source, format!("a {kind} file holds one YAML document"))
                .at(
                    extra.location,
                    extra.length,
                    "a second document starts here",
                )
                .with_help(
                    "remove the `---` line before it, or move the manifests to a file listed \
                     under `manifests:`",
                ),
        );
    }
    if problems.is_empty() {
        Ok(root)
    } else {
        Err(problems)
    }
}

/// The text of one document, preceded by one empty line per line of the file before it, so
/// that both parsers report lines of the whole file.
struct Chunk {
    text: String,
}

/// Splits a file on `---` and `...` lines. A `---` marker is replaced by spaces, so content
/// after it on the same line keeps its column. Directive lines (`%YAML`) between documents are
/// dropped, since each chunk is parsed alone.
fn split_documents(text: &str) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current: Option<String> = None;
    let mut line_number = 0;
    for line in text.split_inclusive('\n') {
        line_number += 1;
        let content = line.trim_end_matches(['\n', '\r']);
        if is_marker(content, "---") {
            chunks.extend(current.take().map(|text| Chunk { text }));
            let mut text = "\n".repeat(line_number - 1);
            text.push_str("   ");
            text.push_str(&line[3..]);
            current = Some(text);
        } else if is_marker(content, "...") {
            chunks.extend(current.take().map(|text| Chunk { text }));
        } else if let Some(text) = current.as_mut() {
            text.push_str(line);
        } else if !is_blank_or_comment(content) && !content.starts_with('%') {
            let mut text = "\n".repeat(line_number - 1);
            text.push_str(line);
            current = Some(text);
        }
    }
    chunks.extend(current.map(|text| Chunk { text }));
    chunks
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn parse_chunk(source: &SourceFile, chunk: &Chunk) -> Result<Option<Node>, Vec<Problem>> {
    if let Err(err) = serde_yaml::from_str::<serde::de::IgnoredAny>(&chunk.text) {
        return Err(vec![libyaml_problem(source, &err)]);
    }

    let mut builder = TreeBuilder::new(source);
    let mut parser = Parser::new_from_str(&chunk.text);
    if let Err(err) = parser.load(&mut builder, false) {
        let location = source.location(err.marker().line(), err.marker().col() + 1);
        let problem = Problem::in_source(source, format!("invalid YAML: {}", err.info())).at(
            location,
            source.span_length(location, 1),
            err.info().to_owned(),
        );
        return Err(vec![problem]);
    }
    if builder.problems.is_empty() {
        Ok(builder.root)
    } else {
        Err(builder.problems)
    }
}

/// libyaml's message, as serde_yaml formats it: `problem at line L column C, context at line
/// L column C`.
static LIBYAML_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<problem>.+?)(?: at line (?P<line>\d+) column (?P<column>\d+))?(?:, (?P<context>(?:while|in) .+?)(?: at line (?P<context_line>\d+) column (?P<context_column>\d+))?)?$",
    )
    .expect("the pattern is valid")
});

fn libyaml_problem(source: &SourceFile, err: &serde_yaml::Error) -> Problem {
    let text = err.to_string();
    let captures = LIBYAML_MESSAGE.captures(&text);
    let part = |name: &str| {
        captures
            .as_ref()
            .and_then(|captures| captures.name(name))
            .map(|found| found.as_str())
    };
    let number = |name: &str| part(name).and_then(|digits| digits.parse::<usize>().ok());
    let problem_text = part("problem").unwrap_or(&text).to_owned();

    let mut problem = Problem::in_source(source, format!("invalid YAML: {problem_text}"));
    let location = err
        .location()
        .map(|location| source.location(location.line(), location.column()));
    if let Some(location) = location {
        let label = match problem_text.strip_prefix("did not find expected ") {
            Some(expected) => format!("expected {expected} here"),
            None => problem_text.clone(),
        };
        problem = problem.at(location, source.span_length(location, 1), label);
    }
    if let (Some(context), Some(line), Some(column)) = (
        part("context"),
        number("context_line"),
        number("context_column"),
    ) {
        let start = source.location(line, column);
        let what = context
            .trim_start_matches("while parsing ")
            .trim_start_matches("while scanning ");
        problem = problem.at(
            start,
            source.span_length(start, 1),
            format!("{what} starts here"),
        );
    }
    match location.and_then(|location| syntax_hint(source, &problem_text, location)) {
        Some(hint) => problem.with_help(hint),
        None => problem,
    }
}

/// Suggests a fix for the syntax errors people make most in Kubernetes manifests.
fn syntax_hint(source: &SourceFile, problem: &str, location: Location) -> Option<String> {
    let line = source.line_text(location.line);
    let in_flow =
        problem.contains("expected ',' or ']'") || problem.contains("expected ',' or '}'");
    if in_flow && line.contains("${") {
        return Some(
            "`{` and `}` end a flow collection, so quote a value with a `${name}` variable \
             inside [...] or {...}, as in ['sts/${name}'], or use block style"
                .to_owned(),
        );
    }
    if problem.contains("expected ',' or ']'") {
        return Some(
            "items of a flow sequence are separated by commas, as in ['sh', '-c', 'date']; \
             look for a missing comma or an unclosed quote before this point"
                .to_owned(),
        );
    }
    if problem.contains("expected ',' or '}'") {
        return Some(
            "entries of a flow mapping are separated by commas, as in {cpu: 100m, memory: \
             200Mi}; look for a missing comma or an unclosed quote before this point"
                .to_owned(),
        );
    }
    let indented_with_tab = line.trim_start_matches(' ').starts_with('\t');
    if problem.contains("cannot start any token") && indented_with_tab {
        return Some("YAML indentation must use spaces; replace the tab with spaces".to_owned());
    }
    if problem.contains("did not find expected key")
        || problem.contains("mapping values are not allowed")
        || problem.contains("could not find expected ':'")
    {
        return indentation_hint(source, location.line);
    }
    None
}

/// Explains a line indented deeper than the key above it when that key already has a value on
/// its own line, such as `resources:` indented under `args: [...]`.
fn indentation_hint(source: &SourceFile, line: usize) -> Option<String> {
    let text = source.line_text(line);
    let indent = text.chars().take_while(|&c| c == ' ').count();
    let key = key_of(text.trim_start())?;

    let (previous_line, previous) = (1..line)
        .rev()
        .map(|number| (number, source.line_text(number)))
        .find(|(_, text)| !is_blank_or_comment(text))?;
    let previous_content = previous.trim_start().trim_start_matches("- ");
    let previous_indent = previous.chars().count() - previous_content.chars().count();
    let previous_key = key_of(previous_content)?;
    let value = previous_content[previous_key.len() + 1..].trim();
    let has_value = !value.is_empty() && !value.starts_with(['#', '|', '>', '&', '!']);
    if indent <= previous_indent || !has_value {
        return Some(format!(
            "check the indentation of `{key}:`: keys of one mapping start in the same column"
        ));
    }
    Some(format!(
        "`{key}:` is indented deeper than `{previous_key}:` on line {previous_line}, which \
         already has a value; to make it a key of the same mapping, start it in column {} like \
         `{previous_key}:`",
        previous_indent + 1
    ))
}

/// Returns the key of a `key: value` line, if the line starts with one.
fn key_of(text: &str) -> Option<&str> {
    let (key, _) = text.split_once(':')?;
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    simple.then_some(key)
}

/// Builds [`Node`]s from yaml-rust2's events.
struct TreeBuilder<'s> {
    source: &'s SourceFile,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    problems: Vec<Problem>,
}

enum Frame {
    Sequence {
        location: Location,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        location: Location,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

impl<'s> TreeBuilder<'s> {
    fn new(source: &'s SourceFile) -> Self {
        Self {
            source,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            problems: Vec::new(),
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping {
                key: key @ None, ..
            }) => *key = Some(node),
            Some(Frame::Mapping { entries, key, .. }) => {
                let key = key.take().expect("the key came before its value");
                entries.push((key, node));
            }
        }
    }

    /// Applies `<<` merge keys and reports duplicate keys. Keys written in the mapping win
    /// over merged ones, and earlier merged mappings win over later ones.
    fn close_mapping(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        let mut own: Vec<(Node, Node)> = Vec::new();
        let mut merged: Vec<(Node, Node)> = Vec::new();
        for (key, value) in entries {
            let Some(scalar) = key.scalar() else {
                self.problems.push(
                    Problem::in_source(
                        self.source,
                        "invalid YAML key: only scalar keys are supported",
                    )
                    .at(key.location, key.length, "a collection used as a key"),
                );
                continue;
            };
            if scalar.plain && scalar.text == "<<" {
                let sources = match &value.value {
                    NodeValue::Sequence(items) => items.clone(),
                    _ => vec![value.clone()],
                };
                for source in sources {
                    if let NodeValue::Mapping(entries) = source.value {
                        merged.extend(entries);
                    } else {
                        self.problems.push(
                            Problem::in_source(
                                self.source,
                                "invalid merge: `<<` takes a mapping or a list of mappings",
                            )
                            .at(
                                value.location,
                                value.length,
                                "not a mapping",
                            ),
                        );
                    }
                }
                continue;
            }
            if let Some((first, _)) = own.iter().find(|(other, _)| same_key(other, &key)) {
                self.problems.push(
                    Problem::in_source(self.source, format!("duplicate key `{}`", scalar.text))
                        .at(key.location, key.length, "duplicate key")
                        .at(first.location, first.length, "first defined here")
                        .with_help(
                            "a key may appear only once in a mapping; remove or merge one of them",
                        ),
                );
                continue;
            }
            own.push((key, value));
        }
        for (key, value) in merged {
            if !own.iter().any(|(other, _)| same_key(other, &key)) {
                own.push((key, value));
            }
        }
        own
    }
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (a.scalar(), b.scalar()) {
        (Some(a), Some(b)) => a.text == b.text,
        _ => false,
    }
}

impl MarkedEventReceiver for TreeBuilder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let location = self.source.location(mark.line(), mark.col() + 1);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.is_some_and(|tag| tag.suffix == "str");
                let plain = style == TScalarStyle::Plain && !forced_string;
                let length = scalar_length(self.source, location, &text, style);
                let node = Node {
                    location,
                    length,
                    value: NodeValue::Scalar(Scalar { text, plain }),
                };
                self.finish(node, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Sequence {
                location,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Mapping {
                location,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Sequence {
                    location,
                    anchor,
                    items,
                }) = self.stack.pop()
                {
                    // yaml-rust2 marks a block collection after its first token, so it starts
                    // where its first item does.
                    let start = items
                        .first()
                        .map_or(location, |first| first.location.min(location));
                    let node = Node {
                        location: start,
                        length: 1,
                        value: NodeValue::Sequence(items),
                    };
                    self.finish(node, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Mapping {
                    location,
                    anchor,
                    entries,
                    ..
                }) = self.stack.pop()
                {
                    let start = entries
                        .first()
                        .map_or(location, |(key, _)| key.location.min(location));
                    let entries = self.close_mapping(entries);
                    let node = Node {
                        location: start,
                        length: 1,
                        value: NodeValue::Mapping(entries),
                    };
                    self.finish(node, anchor);
                }
            }
            Event::Alias(anchor) => {
                if let Some(node) = self.anchors.get(&anchor).cloned() {
                    self.finish(node, 0);
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Length in bytes of a scalar as written on its first line, quotes included.
fn scalar_length(
    source: &SourceFile,
    location: Location,
    text: &str,
    style: TScalarStyle,
) -> usize {
    let rest = &source.text()[location.offset..];
    let line = rest.split(['\n', '\r']).next().unwrap_or_default();
    let written = match style {
        TScalarStyle::Plain => {
            let first_line = text.split('\n').next().unwrap_or_default();
            first_line.len().min(line.len())
        }
        TScalarStyle::SingleQuoted => quoted_length(line, '\''),
        TScalarStyle::DoubleQuoted => quoted_length(line, '"'),
        TScalarStyle::Literal | TScalarStyle::Folded => 1,
    };
    written.max(source.span_length(location, 1).min(line.len().max(1)))
}

/// Length of a quoted scalar that starts `line`, up to its closing quote or the line's end.
fn quoted_length(line: &str, quote: char) -> usize {
    let mut chars = line.char_indices().skip(1).peekable();
    while let Some((index, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
            } else {
                return index + 1;
            }
        }
    }
    line.len()
}
