//! Phrases shared by failure messages: name lists, counts and expected ranges.

use crate::dsl::values::CountRange;

/// How many names a message lists before it counts the rest.
pub(crate) const NAME_LIMIT: usize = 8;

/// Joins names as `a`, `a and b` or `a, b and c`, listing at most `limit` and counting the rest.
pub(crate) fn join_names<S: AsRef<str>>(names: &[S], limit: usize) -> String {
    let shown: Vec<&str> = names.iter().take(limit).map(AsRef::as_ref).collect();
    let hidden = names.len().saturating_sub(limit);
    match (shown.as_slice(), hidden) {
        ([], _) => "none".to_owned(),
        ([only], 0) => (*only).to_owned(),
        ([init @ .., last], 0) => format!("{} and {last}", init.join(", ")),
        (all, hidden) => format!("{} and {hidden} more", all.join(", ")),
    }
}

/// Joins clauses with semicolons, listing at most `limit` and counting the rest.
pub(crate) fn join_clauses(clauses: &[String], limit: usize) -> String {
    let mut text = clauses
        .iter()
        .take(limit)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let hidden = clauses.len().saturating_sub(limit);
    if hidden > 0 {
        text.push_str(&format!("; and {hidden} more"));
    }
    text
}

/// Writes a count with its noun: `1 pod`, `2 pods`.
pub(crate) fn count_noun(count: u32, singular: &str, plural: &str) -> String {
    crate::report::count_noun(count as usize, singular, plural)
}

/// Writes an expected count as a phrase: `exactly 3 pods`, `at most 1 pod`, `2 to 4 pods`.
pub(crate) fn expected_count(range: &CountRange, singular: &str, plural: &str) -> String {
    match *range {
        CountRange::Exact(count) => format!("exactly {}", count_noun(count, singular, plural)),
        CountRange::Range {
            min: Some(min),
            max: Some(max),
        } if min == max => format!("exactly {}", count_noun(min, singular, plural)),
        CountRange::Range {
            min: Some(min),
            max: Some(max),
        } => format!("{min} to {max} {plural}"),
        CountRange::Range {
            min: Some(min),
            max: None,
        } => format!("at least {}", count_noun(min, singular, plural)),
        CountRange::Range {
            min: None,
            max: Some(max),
        } => format!("at most {}", count_noun(max, singular, plural)),
        CountRange::Range {
            min: None,
            max: None,
        } => format!("any number of {plural}"),
    }
}

/// Joins ordinals or other numbers as `0, 1 and 2`.
pub(crate) fn join_numbers(numbers: &[u32]) -> String {
    let texts: Vec<String> = numbers.iter().map(u32::to_string).collect();
    join_names(&texts, usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::none(&[], "none")]
    #[case::one(&["a"], "a")]
    #[case::two(&["a", "b"], "a and b")]
    #[case::three(&["a", "b", "c"], "a, b and c")]
    #[case::over_limit(&["a", "b", "c", "d", "e"], "a, b, c and 2 more")]
    fn join_names_lists(#[case] names: &[&str], #[case] expected: &str) {
        assert_eq!(join_names(names, 3), expected);
    }

    #[rstest]
    #[case::exact(CountRange::Exact(3), "exactly 3 pods")]
    #[case::exact_one(CountRange::Exact(1), "exactly 1 pod")]
    #[case::bounds(CountRange::Range { min: Some(1), max: Some(3) }, "1 to 3 pods")]
    #[case::equal_bounds(CountRange::Range { min: Some(2), max: Some(2) }, "exactly 2 pods")]
    #[case::min_only(CountRange::Range { min: Some(1), max: None }, "at least 1 pod")]
    #[case::max_only(CountRange::Range { min: None, max: Some(4) }, "at most 4 pods")]
    #[case::unbounded(CountRange::Range { min: None, max: None }, "any number of pods")]
    fn expected_count_phrases(#[case] range: CountRange, #[case] expected: &str) {
        assert_eq!(expected_count(&range, "pod", "pods"), expected);
    }
}
