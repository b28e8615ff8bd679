//! Partial matching of an object against the fields a scenario gives under `state:`.
//!
//! The rules:
//! - Only the fields given are compared, and maps match recursively.
//! - A field the object does not have is "not set yet", reported as such; it does not match.
//! - `null` matches a field that is absent or null, so `deletionTimestamp: null` requires that
//!   the object is not being deleted.
//! - A list matches when every expected element matches some element of the actual list, in
//!   any order. Two expected elements may match the same actual element. This suits
//!   `status.conditions` and `spec.containers`, whose order carries no meaning.
//! - An empty list matches only an empty or absent list, because Kubernetes omits empty lists.
//! - Numbers compare by value (`1` matches `1.0`); other scalars compare exactly.

use std::fmt;

use serde_json::{Map, Value};

/// The reason an object does not match a partial state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Mismatch {
    /// The object lacks a field the state gives.
    NotSet { path: String, expected: Value },
    /// The field has another value.
    Differs {
        path: String,
        expected: Value,
        actual: Value,
    },
    /// No element of a list matches an expected element.
    NoElement { path: String, expected: Value },
    /// A field that must be absent or null is set.
    Set { path: String, actual: Value },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::NotSet { path, expected } => {
                write!(f, "{path} is not set yet, expected {}", compact(expected))
            }
            Mismatch::Differs {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{path} is {}, expected {}",
                compact(actual),
                compact(expected)
            ),
            Mismatch::NoElement { path, expected } => {
                write!(f, "{path} has no element matching {}", compact(expected))
            }
            Mismatch::Set { path, actual } => {
                write!(f, "{path} is {}, expected it unset", compact(actual))
            }
        }
    }
}

/// JSON on one line, for messages.
pub(crate) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// Checks `actual` against the partial object `expected`.
pub(crate) fn match_partial(expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    match_at(expected, Some(actual), &mut Vec::new())
}

fn match_at(
    expected: &Value,
    actual: Option<&Value>,
    path: &mut Vec<String>,
) -> Result<(), Mismatch> {
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => Ok(()),
        (Value::Null, Some(actual)) => Err(Mismatch::Set {
            path: render(path),
            actual: actual.clone(),
        }),
        (Value::Array(expected), None | Some(Value::Null)) if expected.is_empty() => Ok(()),
        (_, None | Some(Value::Null)) => Err(Mismatch::NotSet {
            path: render(path),
            expected: expected.clone(),
        }),
        (Value::Object(expected), Some(Value::Object(actual))) => match_map(expected, actual, path),
        (Value::Array(expected), Some(Value::Array(actual))) => match_list(expected, actual, path),
        (Value::Number(expected_number), Some(actual @ Value::Number(actual_number))) => {
            if expected_number.as_f64() == actual_number.as_f64() {
                Ok(())
            } else {
                Err(differs(expected, actual, path))
            }
        }
        (expected, Some(actual)) if expected == actual => Ok(()),
        (expected, Some(actual)) => Err(differs(expected, actual, path)),
    }
}

fn differs(expected: &Value, actual: &Value, path: &[String]) -> Mismatch {
    Mismatch::Differs {
        path: render(path),
        expected: expected.clone(),
        actual: actual.clone(),
    }
}

fn match_map(
    expected: &Map<String, Value>,
    actual: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), Mismatch> {
    for (key, expected_value) in expected {
        path.push(key.clone());
        let result = match_at(expected_value, actual.get(key), path);
        path.pop();
        result?;
    }
    Ok(())
}

fn match_list(expected: &[Value], actual: &[Value], path: &[String]) -> Result<(), Mismatch> {
    if expected.is_empty() && !actual.is_empty() {
        return Err(Mismatch::Differs {
            path: render(path),
            expected: Value::Array(Vec::new()),
            actual: Value::Array(actual.to_vec()),
        });
    }
    for expected_element in expected {
        let found = actual
            .iter()
            .any(|element| match_at(expected_element, Some(element), &mut Vec::new()).is_ok());
        if !found {
            return Err(Mismatch::NoElement {
                path: render(path),
                expected: expected_element.clone(),
            });
        }
    }
    Ok(())
}

/// Formats a field path as `status.conditions`, quoting keys that contain dots or slashes, as in
/// `metadata.labels["app.kubernetes.io/name"]`.
fn render(path: &[String]) -> String {
    if path.is_empty() {
        return "the object".to_owned();
    }
    let mut text = String::new();
    for key in path {
        let plain = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if plain {
            if !text.is_empty() {
                text.push('.');
            }
            text.push_str(key);
        } else {
            text.push_str(&format!("[{}]", compact(&Value::String(key.clone()))));
        }
    }
    text
}

#[cfg(test)]
mod tests;
