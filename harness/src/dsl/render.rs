//! Filling in variables at run time.

use serde_json::Value;

use super::error::{DslError, Problem};
use super::load::{LoadedScenario, parse_scenario, substitute_sections, undefined_variable};
use super::scalar::{self, Schema};
use super::types::Scenario;
use super::vars::{self, Variables};

/// Fills every `${name}` of the scenario's manifests. `variables` are those known at run time,
/// the built-ins included; they override the ones the scenario was loaded with.
///
/// # Errors
///
/// [`DslError::RenderFailed`] naming each reference that no variable defines.
pub fn render(loaded: &LoadedScenario, variables: &Variables) -> Result<Vec<Value>, DslError> {
    let mut all = loaded.variables.clone();
    all.extend(
        variables
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    let lookup = |name: &str| all.get(name).map(String::as_str);

    let mut problems = Vec::new();
    let mut rendered = Vec::with_capacity(loaded.manifests.len());
    for manifest in &loaded.manifests {
        let mut value = substitute_json(&manifest.value, &lookup, &mut Vec::new());
        for site in manifest.references() {
            let Some(text) = manifest
                .value
                .pointer(&site.pointer)
                .and_then(Value::as_str)
            else {
                continue;
            };
            let (filled, missing) = vars::substitute(text, &lookup);
            for name in missing {
                let message = format!("undefined variable `${{{name}}}`");
                let problem =
                    manifest.problem_at(site.location, name.len() + 3, message, "not defined");
                problems.push(problem.with_help(vars::describe_defined(&all)));
            }
            if site.plain
                && let Some(slot) = value.pointer_mut(&site.pointer)
            {
                *slot = scalar::resolve(&filled, Schema::Kubectl);
            }
        }
        rendered.push(value);
    }
    match DslError::render_failed(&loaded.path, problems) {
        Some(err) => Err(err),
        None => Ok(rendered),
    }
}

/// Substitutes every string and key of a JSON value.
fn substitute_json<'v>(
    value: &Value,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    missing: &mut Vec<String>,
) -> Value {
    match value {
        Value::String(text) => {
            let (text, mut names) = vars::substitute(text, lookup);
            missing.append(&mut names);
            Value::String(text)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| substitute_json(item, lookup, missing))
                .collect(),
        ),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let (key, mut names) = vars::substitute(key, lookup);
                    missing.append(&mut names);
                    (key, substitute_json(value, lookup, missing))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Fills every `${name}` of the scenario's `steps` and `simulate`, `${namespace}` included,
/// and reads the scenario again.
///
/// # Errors
///
/// [`DslError::RenderFailed`] naming each reference that no variable defines, or a value that
/// makes a field invalid (such as `within: ${timeout}` with `timeout=soon`).
pub fn render_scenario(
    loaded: &LoadedScenario,
    variables: &Variables,
) -> Result<Scenario, DslError> {
    let mut all = loaded.variables.clone();
    all.extend(
        variables
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    let lookup = |name: &str| all.get(name).map(String::as_str);

    let (tree, missing) = substitute_sections(&loaded.tree, &lookup);
    let mut problems: Vec<Problem> = missing
        .iter()
        .map(|(name, node)| undefined_variable(&loaded.source, name, node, &all))
        .collect();
    if problems.is_empty() {
        match parse_scenario(&loaded.source, &tree) {
            Ok(scenario) => return Ok(scenario),
            Err(mut found) => problems.append(&mut found),
        }
    }
    Err(DslError::render_failed(&loaded.path, problems).expect("there is at least one problem"))
}
