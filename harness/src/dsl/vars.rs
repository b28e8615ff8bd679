//! `${name}` variables.
//!
//! Manifests and the `steps` and `simulate` sections of a scenario may use `${name}` in any
//! string, mapping keys included. `$${name}` stands for a literal `${name}`, which a shell
//! variable in a container command needs. Other fields (`name`, `description`, `tags`,
//! `manifests`, `variables`, `requires`, `timeout`) are taken as written.
//!
//! Values come from, lowest precedence first: the scenario's `variables`, the suite, the
//! backend and the command line (`--var name=value`). The runner adds the built-ins
//! `namespace` (the scenario's generated namespace) and `scenario` (its name) at run time.
//! Values are inserted as written, so a `${...}` inside a value is not expanded again.
//!
//! A plain (unquoted) scalar is typed after its variables are filled in, as if the values had
//! been written in its place: `replicas: ${replicas}` becomes a number. Inside a flow
//! collection (`[...]` or `{...}`) a value with a variable must be quoted, because `{` and `}`
//! end the collection, and a quoted value stays a string.

use std::collections::BTreeMap;
use std::ops::Range;

/// Variable values by name.
pub type Variables = BTreeMap<String, String>;

/// Variables the runner defines for every scenario.
pub const BUILT_IN: [&str; 2] = ["namespace", "scenario"];

/// A `${name}` reference in a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reference<'a> {
    pub(crate) name: &'a str,
    /// Byte range of `${name}` in the string.
    pub(crate) range: Range<usize>,
}

/// Finds the `${name}` references of a string, skipping `$${name}` escapes. A name starts with
/// a letter or `_` and goes on with letters, digits, `_` and `-`. Anything else after `${` is
/// not a reference, such as the shell's `${VAR:-default}`.
pub(crate) fn references(text: &str) -> Vec<Reference<'_>> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(position) = text[rest..].find("${") {
        let start = rest + position;
        if start > 0 && text.as_bytes()[start - 1] == b'$' {
            rest = start + 2;
            continue;
        }
        let name_start = start + 2;
        let name_length = text[name_start..]
            .char_indices()
            .take_while(|&(index, c)| {
                if index == 0 {
                    c.is_ascii_alphabetic() || c == '_'
                } else {
                    c.is_ascii_alphanumeric() || c == '_' || c == '-'
                }
            })
            .count();
        let name_end = name_start + name_length;
        if name_length > 0 && text[name_end..].starts_with('}') {
            found.push(Reference {
                name: &text[name_start..name_end],
                range: start..name_end + 1,
            });
            rest = name_end + 1;
        } else {
            rest = name_start;
        }
    }
    found
}

/// Replaces the references of `text` with `lookup`'s values and `$${` escapes with `${`.
/// References `lookup` has no value for are kept as written, and their names returned.
pub(crate) fn substitute<'v>(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut copied = 0;
    for reference in references(text) {
        out.push_str(&unescape(&text[copied..reference.range.start]));
        match lookup(reference.name) {
            Some(value) => out.push_str(value),
            None => {
                out.push_str(&text[reference.range.clone()]);
                missing.push(reference.name.to_owned());
            }
        }
        copied = reference.range.end;
    }
    out.push_str(&unescape(&text[copied..]));
    (out, missing)
}

fn unescape(text: &str) -> String {
    text.replace("$${", "${")
}

/// Parses a `name=value` assignment, as `--var` takes it.
pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("invalid variable `{text}`: expected name=value"));
    };
    let name = name.trim();
    let valid = references(&format!("${{{name}}}")).len() == 1;
    if !valid {
        return Err(format!(
            "invalid variable name `{name}`: a name starts with a letter or `_` and contains \
             letters, digits, `_` and `-`"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Lists the defined names and the built-ins for a message.
pub(crate) fn describe_defined(defined: &Variables) -> String {
    let names: Vec<&str> = defined
        .keys()
        .map(String::as_str)
        .filter(|name| !BUILT_IN.contains(name))
        .collect();
    let defined = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    format!("defined: {defined}; built in: {}", BUILT_IN.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::one("job-${name}", &["name"])]
    #[case::two("${a}/${b}", &["a", "b"])]
    #[case::escaped("$${HOSTNAME}", &[])]
    #[case::shell_default("${VAR:-x}", &[])]
    #[case::unclosed("${name", &[])]
    #[case::digit_first("${1}", &[])]
    #[case::dashes("${storage-class}", &["storage-class"])]
    fn references_found(#[case] text: &str, #[case] names: &[&str]) {
        let found: Vec<&str> = references(text)
            .iter()
            .map(|reference| reference.name)
            .collect();
        assert_eq!(found, names);
    }

    #[rstest]
    #[case::value("job-${name}", "job-hello", &[])]
    #[case::escape("echo $${HOME}", "echo ${HOME}", &[])]
    #[case::kept("${namespace}.svc", "${namespace}.svc", &["namespace"])]
    #[case::not_recursive("${name}${other}", "hello${name}", &[])]
    fn substitution(#[case] text: &str, #[case] expected: &str, #[case] missing: &[&str]) {
        let lookup = |name: &str| match name {
            "name" => Some("hello"),
            "other" => Some("${name}"),
            _ => None,
        };
        let (out, not_found) = substitute(text, &lookup);
        assert_eq!(out, expected);
        assert_eq!(not_found, missing);
    }

    #[rstest]
    #[case::simple("replicas=3", Ok(("replicas".to_owned(), "3".to_owned())))]
    #[case::equals_in_value("args=a=b", Ok(("args".to_owned(), "a=b".to_owned())))]
    #[case::no_equals("replicas", Err("invalid variable `replicas`: expected name=value".to_owned()))]
    fn assignments(#[case] text: &str, #[case] expected: Result<(String, String), String>) {
        assert_eq!(parse_assignment(text), expected);
    }
}
