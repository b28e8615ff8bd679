//! Checks of the regular expressions a scenario contains: `expectFailure`, the `message` of
//! `expect-rejected` and the condition `message` of checks.
//!
//! The runner compiles these patterns with `regex::Regex::new` only when it reaches them, so
//! loading compiles them the same way to report an invalid one before any step runs.

use regex::Regex;

use super::error::Problem;
use super::source::SourceFile;
use super::vars::{self, Variables};
use super::yaml::Node;

/// Stand-in for `${namespace}`, which the runner fills in with the generated namespace. Like
/// that namespace, it contains only lowercase letters and dashes.
const NAMESPACE_STAND_IN: &str = "kspec-namespace";

/// Steps whose `condition:` may contain a `message` pattern.
const CHECK_STEPS: [&str; 4] = ["wait", "expect", "consistently", "never"];

/// Compiles every pattern of the scenario and returns a problem at each one that does not
/// compile. Patterns in `steps` are compiled with `variables` filled in. A pattern with an
/// undefined variable is skipped, because loading reports that variable.
pub(super) fn invalid_patterns(
    source: &SourceFile,
    root: &Node,
    variables: &Variables,
) -> Vec<Problem> {
    let mut problems = Vec::new();

    // `expectFailure` is taken as written, because variables are filled in only in `steps`
    // and `simulate`.
    if let Some(node) = root.get("expectFailure")
        && let Some(scalar) = node.scalar()
        && !node.is_null()
    {
        problems.extend(check_pattern(source, node, &scalar.text, "expectFailure"));
    }

    let lookup = |name: &str| {
        if name == "namespace" {
            Some(NAMESPACE_STAND_IN)
        } else {
            variables.get(name).map(String::as_str)
        }
    };
    let steps = root.get("steps").map(Node::items).unwrap_or_default();
    for (index, step) in steps.iter().enumerate() {
        let Some((key, body)) = step.entries().first() else {
            continue;
        };
        let Some(step_name) = key.scalar().map(|scalar| scalar.text.as_str()) else {
            continue;
        };
        let (node, path) = if step_name == "expect-rejected" {
            (
                body.get("message"),
                format!("steps[{index}].{step_name}.message"),
            )
        } else if CHECK_STEPS.contains(&step_name) {
            let message = body
                .get("condition")
                .and_then(|condition| condition.get("message"));
            (
                message,
                format!("steps[{index}].{step_name}.condition.message"),
            )
        } else {
            continue;
        };
        let Some(node) = node else { continue };
        let Some(scalar) = node.scalar() else {
            continue;
        };
        let (pattern, missing) = vars::substitute(&scalar.text, &lookup);
        if missing.is_empty() {
            problems.extend(check_pattern(source, node, &pattern, &path));
        }
    }
    problems
}

/// Returns a problem at `node` when `pattern` is not a valid regular expression.
fn check_pattern(source: &SourceFile, node: &Node, pattern: &str, path: &str) -> Option<Problem> {
    let err = Regex::new(pattern).err()?;
    let problem = Problem::in_source(
        source,
        format!("{path}: invalid regular expression: {}", reason(&err)),
    )
    .at(node.location, node.length, "invalid regular expression")
    .with_help(
        "the value is a regular expression in the syntax of the Rust regex crate; put a \
         backslash before a character such as `(`, `[`, `{` or `.` to match it literally",
    );
    Some(problem)
}

/// Extracts the cause of a compile error as one line. A syntax error's text repeats the
/// pattern with a caret under the error and ends with an `error: ` line that names the cause.
fn reason(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(text.trim())
            .to_owned(),
        other => other.to_string(),
    }
}
