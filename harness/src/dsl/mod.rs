//! The scenario DSL: file format, loading with precise errors, variables and suites.

pub mod types;
pub mod values;

pub use types::*;
pub use values::{CountRange, Duration, Target};

/// The candidate closest to `input` by edit distance, if one is close enough to be a likely
/// typo (normalized Damerau-Levenshtein similarity of at least 0.6).
pub fn nearest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::normalized_damerau_levenshtein(input, candidate), candidate))
        .filter(|(similarity, _)| *similarity >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
