//! The scenario DSL: file format, loading with precise errors, variables and suites.
//!
//! [`load_scenario`] reads a scenario and its manifests; [`render`] and [`render_scenario`]
//! fill in variables at run time; [`discover`] turns command-line paths into scenarios;
//! [`lint_file`] reports every problem of a file without a cluster. Every error points at a
//! line and column, rendered by miette with a snippet of the file.

mod de;
mod error;
mod forms;
mod lint;
mod load;
mod manifest;
mod patterns;
mod render;
mod scalar;
mod schema;
mod source;
mod suite;
pub mod types;
pub mod values;
mod vars;
mod yaml;

#[cfg(test)]
mod tests;

pub use error::{DslError, FileKind, Problem, render_error, render_problem};
pub use lint::lint_file;
pub use load::{LoadedScenario, load_scenario};
pub use manifest::{Manifest, ManifestOrigin, load_manifest_file};
pub use render::{render, render_scenario};
pub use schema::{scenario_schema, suite_schema};
pub use source::Location;
pub use suite::{Entry, LoadedSuite, Suite, SuiteItem, classify, discover, load_suite};
pub use types::*;
pub use values::{CountRange, Duration, KindInfo, Target};
pub use vars::{BUILT_IN, Variables, parse_assignment};

/// The candidate closest to `input` by edit distance, if one is close enough to be a likely
/// typo (normalized Damerau-Levenshtein similarity of at least 0.6).
pub fn nearest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::normalized_damerau_levenshtein(input, candidate),
                candidate,
            )
        })
        .filter(|(similarity, _)| *similarity >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
