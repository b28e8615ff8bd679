//! Outputs: terminal progress, summary table, grade sheet, JUnit XML, JSON and the timeline
//! picture.

pub mod files;
pub mod model;
pub mod picture;
pub mod progress;
pub mod table;

/// Turns a scenario name into a file or object name: lowercase ASCII letters, digits and
/// dashes. A name without any ASCII letter or digit gives `scenario`.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars().map(|c| c.to_ascii_lowercase()) {
        if character.is_ascii_alphanumeric() {
            slug.push(character);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "scenario".to_owned()
    } else {
        slug.to_owned()
    }
}

/// Writes a count with its noun: `1 scenario`, `2 scenarios`.
pub fn count_noun(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("{count} {singular}")
    } else {
        format!("{count} {plural}")
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::{count_noun, slug};

    #[rstest]
    #[case::words(
        "Job completions: run one at a time",
        "job-completions-run-one-at-a-time"
    )]
    #[case::punctuation_only_between("broken: a/b", "broken-a-b")]
    #[case::leading_and_trailing(" (seed) ", "seed")]
    #[case::no_ascii("ジョブ", "scenario")]
    #[case::empty("", "scenario")]
    fn slug_keeps_letters_and_digits(#[case] name: &str, #[case] expected: &str) {
        assert_eq!(slug(name), expected);
    }

    #[rstest]
    #[case::one(1, "1 scenario")]
    #[case::none(0, "0 scenarios")]
    #[case::two(2, "2 scenarios")]
    #[case::many(54, "54 scenarios")]
    fn count_noun_agrees(#[case] count: usize, #[case] expected: &str) {
        assert_eq!(count_noun(count, "scenario", "scenarios"), expected);
    }
}
