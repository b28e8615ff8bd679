//! Errors of the DSL loader.
//!
//! A [`Problem`] is one finding at a place in one file, rendered by miette with a snippet of
//! that file. A [`DslError`] is what loading failed on, and carries every problem found.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode};

use super::source::{Location, SourceFile};

/// One finding in a file: a message, where it is and, where the user can act, a hint.
#[derive(Clone, Debug)]
pub struct Problem(Box<Details>);

#[derive(Clone, Debug)]
struct Details {
    severity: Severity,
    message: String,
    file: PathBuf,
    location: Option<Location>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
}

impl Problem {
    /// Creates a problem in a file that could not be read or has no position to point at.
    pub(crate) fn new(file: &Path, message: impl Into<String>) -> Self {
        Self(Box::new(Details {
            severity: Severity::Error,
            message: message.into(),
            file: file.to_path_buf(),
            location: None,
            labels: Vec::new(),
            help: None,
            source: None,
        }))
    }

    /// Creates a problem in a file whose text is at hand, so it renders with a snippet once
    /// located.
    pub(crate) fn in_source(source: &SourceFile, message: impl Into<String>) -> Self {
        let mut problem = Self::new(source.path(), message);
        problem.0.source = Some(source.named_source());
        problem
    }

    /// Points at `length` bytes from `location`. The first label sets the problem's location.
    pub(crate) fn at(
        mut self,
        location: Location,
        length: usize,
        label: impl Into<String>,
    ) -> Self {
        self.0.location.get_or_insert(location);
        let label = label.into();
        let label = (!label.is_empty()).then_some(label);
        self.0
            .labels
            .push(LabeledSpan::new(label, location.offset, length));
        self
    }

    /// Names the problem's file by `file`, another path to the same file, in its line and
    /// above its snippet.
    pub(crate) fn with_file(mut self, file: &Path) -> Self {
        self.0.file = file.to_path_buf();
        if let Some(source) = self.0.source.take() {
            let renamed = NamedSource::new(file.display().to_string(), Arc::clone(source.inner()))
                .with_language("yaml");
            self.0.source = Some(renamed);
        }
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    pub fn severity(&self) -> Severity {
        self.0.severity
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn file(&self) -> &Path {
        &self.0.file
    }

    /// Returns where the problem is, when it has a position.
    pub fn location(&self) -> Option<Location> {
        self.0.location
    }

    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }

    /// Formats the problem on one line, as compilers print it: `file:line:column: message`.
    pub fn to_line(&self) -> String {
        let details = &self.0;
        match details.location {
            Some(location) => format!(
                "{}:{}:{}: {}",
                details.file.display(),
                location.line,
                location.column,
                details.message
            ),
            None => format!("{}: {}", details.file.display(), details.message),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn severity(&self) -> Option<Severity> {
        Some(self.0.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0
            .source
            .as_ref()
            .map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.0.labels.is_empty() || self.0.source.is_none() {
            return None;
        }
        Some(Box::new(self.0.labels.iter().cloned()))
    }
}

/// Kind of a DSL file, judged by its top-level keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A scenario: `name`, `manifests`, `steps` and so on.
    Scenario,
    /// A suite: a top-level `scenarios` list.
    Suite,
    /// Kubernetes manifests: documents with `apiVersion` and `kind`.
    Manifests,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Scenario => "scenario",
            FileKind::Suite => "suite",
            FileKind::Manifests => "manifest file",
        })
    }
}

/// Failure to load scenarios, suites or manifests.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[non_exhaustive]
pub enum DslError {
    #[error("read {}", path.display())]
    ReadFailed {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A path named on the command line, or a default path, does not exist.
    #[error("read {}", path.display())]
    PathNotFound {
        path: PathBuf,
        #[source]
        source: io::Error,
        #[help]
        help: Option<String>,
    },

    /// The file is not valid YAML or does not follow its format; `first` and `rest` hold every
    /// problem found, in file order.
    #[error("load {kind} {}", path.display())]
    LoadFailed {
        kind: FileKind,
        path: PathBuf,
        #[source]
        #[diagnostic_source]
        first: Problem,
        #[related]
        rest: Vec<Problem>,
    },

    /// Filling in variables at run time found a variable that is not defined.
    #[error("fill in the variables of {}", path.display())]
    RenderFailed {
        path: PathBuf,
        #[source]
        #[diagnostic_source]
        first: Problem,
        #[related]
        rest: Vec<Problem>,
    },

    #[error("find a scenario under {}", path.display())]
    #[diagnostic(help(
        "scenario files end in .yaml or .yml; files under a `manifests/` directory, suite files \
         and manifest files are not scenarios"
    ))]
    NoScenarioFound { path: PathBuf },

    #[error(
        "select scenarios: the name `{name}` is used by both {} and {}",
        first.display(),
        second.display()
    )]
    #[diagnostic(help("scenario names must be unique within a run; rename one of them"))]
    DuplicateName {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
}

impl DslError {
    /// Builds a [`DslError::LoadFailed`] from problems; `None` when there are none.
    pub(crate) fn load_failed(kind: FileKind, path: &Path, problems: Vec<Problem>) -> Option<Self> {
        let (first, rest) = split_first(problems)?;
        Some(DslError::LoadFailed {
            kind,
            path: path.to_path_buf(),
            first,
            rest,
        })
    }

    pub(crate) fn render_failed(path: &Path, problems: Vec<Problem>) -> Option<Self> {
        let (first, rest) = split_first(problems)?;
        Some(DslError::RenderFailed {
            path: path.to_path_buf(),
            first,
            rest,
        })
    }

    /// Returns every problem the error carries, in file order. The list is empty for errors
    /// without a position.
    pub fn problems(&self) -> Vec<&Problem> {
        match self {
            DslError::LoadFailed { first, rest, .. }
            | DslError::RenderFailed { first, rest, .. } => {
                std::iter::once(first).chain(rest).collect()
            }
            _ => Vec::new(),
        }
    }
}

fn split_first(mut problems: Vec<Problem>) -> Option<(Problem, Vec<Problem>)> {
    if problems.is_empty() {
        return None;
    }
    problems.sort_by_key(|problem| (problem.file().to_path_buf(), problem.location()));
    let first = problems.remove(0);
    Some((first, problems))
}

/// Renders an error as miette prints it, with source snippets and hints, but without colour,
/// so it fits reports and logs. The first line reads `failed to …`.
///
/// A file with several problems lists each under the first, rendered alike; miette would
/// print the others as separate top-level errors.
pub fn render_error(error: &DslError) -> String {
    let mut out = render_diagnostic(&FailedTo(error));
    let rest = match error {
        DslError::LoadFailed { rest, .. } | DslError::RenderFailed { rest, .. } => rest.as_slice(),
        _ => &[],
    };
    for problem in rest {
        for line in render_problem(problem).lines() {
            if line.trim().is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    out
}

/// Renders a single problem, such as one that `lint_file` returned, without colour.
pub fn render_problem(problem: &Problem) -> String {
    render_diagnostic(problem)
}

fn render_diagnostic(diagnostic: &dyn Diagnostic) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, diagnostic).is_err() {
        out = diagnostic.to_string();
    }
    out
}

/// Prefixes an error's message with "failed to", which its variants leave to the caller.
struct FailedTo<'a>(&'a DslError);

impl fmt::Debug for FailedTo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for FailedTo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to {}", self.0)
    }
}

impl std::error::Error for FailedTo<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0)
    }
}

impl Diagnostic for FailedTo<'_> {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.labels()
    }

    // The related problems are rendered by `render_error`, under the first.

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.0.diagnostic_source()
    }
}
