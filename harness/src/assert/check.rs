//! The generic check of `wait`, `expect`, `consistently` and `never` steps, evaluated against
//! the recorded state at one timeline position.
//!
//! A check either names one object (`for:`, with `condition`, `state` or `gone`) or counts the
//! objects of a kind (`count:`). Objects are found by kind and name; the namespace is not
//! compared, because a scenario's watches record only its own namespace and cluster-wide kinds.

use std::ops::Range;

use regex::Regex;
use serde_json::Value;

use super::objects::{
    self, condition, describe_conditions, is_active, is_terminating, owned_by, resolve_kind,
};
use super::partial::{compact, match_partial};
use super::phrases::{NAME_LIMIT, count_noun, expected_count, join_names};
use super::selector::LabelSelector;
use super::view::{Presence, View};
use crate::dsl::types::{Check, ConditionMatch, CountCheck};
use crate::dsl::values::{CountRange, KindInfo, Target};
use crate::recorder::timeline::{ChangeKind, Timeline};

/// Evaluates `check` in the state after the change at position `at`, or after the last change
/// when `at` is `None`. The error explains in Kubernetes terms why the check is not satisfied,
/// or what is wrong with the check itself.
pub fn check_holds(check: &Check, timeline: &Timeline, at: Option<usize>) -> Result<(), String> {
    let prepared = Prepared::new(check)?;
    prepared.evaluate(&View::at(timeline, at)).map(drop)
}

/// [`check_holds`] under the name the runner's waits use.
pub fn check_at(check: &Check, timeline: &Timeline, at: Option<usize>) -> Result<(), String> {
    check_holds(check, timeline, at)
}

/// Evaluates `check` after the last recorded change.
pub fn check_latest(check: &Check, timeline: &Timeline) -> Result<(), String> {
    check_holds(check, timeline, None)
}

/// Requires `check` to hold in the state when the window opens (before the change at
/// `window.start`) and after every change in `window` that could affect it. The error names
/// the first state where it did not hold.
pub fn holds_throughout(
    check: &Check,
    timeline: &Timeline,
    window: Range<usize>,
) -> Result<(), String> {
    let prepared = Prepared::new(check)?;
    for (view, moment) in window_states(&prepared, timeline, window) {
        if let Err(reason) = prepared.evaluate(&view) {
            return Err(format!("{reason} ({moment})"));
        }
    }
    Ok(())
}

/// Requires `check` to hold in none of the states that [`holds_throughout`] visits. The error
/// describes the first state that satisfied it, and when it occurred.
pub fn never_holds(check: &Check, timeline: &Timeline, window: Range<usize>) -> Result<(), String> {
    let prepared = Prepared::new(check)?;
    for (view, moment) in window_states(&prepared, timeline, window) {
        if let Ok(description) = prepared.evaluate(&view) {
            return Err(format!(
                "{description} {moment}; this check must never hold"
            ));
        }
    }
    Ok(())
}

/// Lists the states a window visits, each with a phrase for when it occurred.
fn window_states<'a>(
    prepared: &'a Prepared<'a>,
    timeline: &'a Timeline,
    window: Range<usize>,
) -> impl Iterator<Item = (View<'a>, String)> + 'a {
    let end = window.end.min(timeline.len());
    let opening = (
        View::before(timeline, window.start),
        "when the window opened".to_owned(),
    );
    let changes = (window.start..end)
        .filter(|&position| prepared.is_affected_by(&timeline.changes()[position].kind))
        .map(move |position| {
            let change = &timeline.changes()[position];
            let verb = match change.change {
                ChangeKind::Existing => "was listed",
                ChangeKind::Added => "was added",
                ChangeKind::Modified => "was modified",
                ChangeKind::Deleted => "was deleted",
            };
            let moment = format!(
                "after {}/{} {verb}",
                objects::kind_prefix(&change.kind),
                change.name()
            );
            (View::at(timeline, Some(position)), moment)
        });
    std::iter::once(opening).chain(changes)
}

/// A check with its selector parsed, its kind resolved and its pattern compiled.
enum Prepared<'c> {
    Object {
        target: &'c Target,
        condition: Option<ConditionRule<'c>>,
        state: Option<&'c Value>,
        gone: Option<bool>,
    },
    Count {
        kind: &'static KindInfo,
        selector: Option<LabelSelector>,
        owner: Option<&'c Target>,
        state: Option<&'c Value>,
        active: Option<bool>,
        ever: bool,
        is: CountRange,
    },
}

struct ConditionRule<'c> {
    type_: &'c str,
    status: &'c str,
    reason: Option<&'c str>,
    message: Option<Regex>,
}

impl<'c> Prepared<'c> {
    fn new(check: &'c Check) -> Result<Self, String> {
        match (&check.target, &check.count) {
            (Some(_), Some(_)) => Err(
                "invalid check: it names an object (`for:`) and a `count:`; \
                 split it into two checks"
                    .to_owned(),
            ),
            (None, None) => {
                Err("invalid check: it needs an object (`for: kind/name`) or a `count:`".to_owned())
            }
            (None, Some(count)) => {
                if check.condition.is_some() || check.state.is_some() || check.gone.is_some() {
                    return Err(
                        "invalid check: `condition`, `state` and `gone` apply to `for:`; \
                         filter a count with the keys inside `count:`"
                            .to_owned(),
                    );
                }
                Self::count(count)
            }
            (Some(target), None) => {
                let has_expectation = check.condition.is_some() || check.state.is_some();
                if check.gone == Some(true) && has_expectation {
                    return Err(format!(
                        "invalid check for {target}: `gone: true` cannot be combined with \
                         `condition` or `state`"
                    ));
                }
                Ok(Prepared::Object {
                    target,
                    condition: check
                        .condition
                        .as_ref()
                        .map(ConditionRule::new)
                        .transpose()?,
                    state: check.state.as_ref(),
                    gone: check.gone,
                })
            }
        }
    }

    fn count(count: &'c CountCheck) -> Result<Self, String> {
        let kind_name = count.kind.as_deref().unwrap_or("Pod");
        let kind_text =
            resolve_kind(kind_name).map_err(|problem| format!("invalid count: {problem}"))?;
        let kind = KindInfo::find(kind_text).expect("resolve_kind returns a listed kind");
        let selector = count
            .selector
            .as_deref()
            .map(LabelSelector::parse)
            .transpose()
            .map_err(|error| error.to_string())?;
        Ok(Prepared::Count {
            kind,
            selector,
            owner: count.owner.as_ref(),
            state: count.state.as_ref(),
            active: count.active,
            ever: count.ever.unwrap_or(false),
            is: count.is,
        })
    }

    /// Returns whether a change of this kind can change the check's result. A count filtered
    /// by owner depends on intermediate owners of other kinds, so every change affects it.
    fn is_affected_by(&self, kind: &str) -> bool {
        match self {
            Prepared::Object { target, .. } => target.kind == kind,
            Prepared::Count { owner: Some(_), .. } => true,
            Prepared::Count { kind: info, .. } => info.kind == kind,
        }
    }

    /// Evaluates the check: `Ok` with what holds, or `Err` with why it does not.
    fn evaluate(&self, view: &View<'_>) -> Result<String, String> {
        match self {
            Prepared::Object {
                target,
                condition,
                state,
                gone,
            } => evaluate_object(view, target, condition.as_ref(), *state, *gone),
            Prepared::Count {
                kind,
                selector,
                owner,
                state,
                active,
                ever,
                is,
            } => {
                let filters = CountFilters {
                    kind,
                    selector: selector.as_ref(),
                    owner: *owner,
                    state: *state,
                    active: *active,
                    ever: *ever,
                };
                evaluate_count(view, &filters, is)
            }
        }
    }
}

impl<'c> ConditionRule<'c> {
    fn new(condition: &'c ConditionMatch) -> Result<Self, String> {
        Ok(match condition {
            ConditionMatch::Type(type_) => ConditionRule {
                type_,
                status: "True",
                reason: None,
                message: None,
            },
            ConditionMatch::Full(spec) => ConditionRule {
                type_: &spec.type_,
                status: spec.status.as_deref().unwrap_or("True"),
                reason: spec.reason.as_deref(),
                message: spec
                    .message
                    .as_deref()
                    .map(|pattern| {
                        Regex::new(pattern).map_err(|error| {
                            format!("invalid condition message pattern `{pattern}`: {error}")
                        })
                    })
                    .transpose()?,
            },
        })
    }

    fn evaluate(&self, target: &Target, object: &Value) -> Result<String, String> {
        let type_ = self.type_;
        let Some(found) = condition(object, type_) else {
            return Err(format!(
                "{target} has no {type_} condition ({})",
                describe_conditions(object)
            ));
        };

        let field = |key: &str| found.get(key).and_then(Value::as_str).unwrap_or_default();
        let (status, reason, message) = (field("status"), field("reason"), field("message"));
        if status != self.status {
            let mut detail = String::new();
            if !reason.is_empty() {
                detail = format!(" (reason {reason})");
            }
            return Err(format!(
                "{target} condition {type_} is {status}, expected {}{detail}",
                self.status
            ));
        }
        if let Some(expected) = self.reason
            && reason != expected
        {
            return Err(format!(
                "{target} condition {type_} has reason {}, expected {expected}",
                if reason.is_empty() { "(none)" } else { reason }
            ));
        }
        if let Some(pattern) = &self.message
            && !pattern.is_match(message)
        {
            return Err(format!(
                "{target} condition {type_} has message {}, which does not match /{pattern}/",
                compact(&Value::String(message.to_owned()))
            ));
        }
        Ok(format!("{target} has condition {type_}={status}"))
    }
}

fn evaluate_object(
    view: &View<'_>,
    target: &Target,
    condition: Option<&ConditionRule<'_>>,
    state: Option<&Value>,
    gone: Option<bool>,
) -> Result<String, String> {
    let presence = view.object(&target.kind, &target.name);
    if gone == Some(true) {
        return match presence {
            Presence::Live(object) if is_terminating(object) => Err(format!(
                "{target} still exists; it is being deleted (deletionTimestamp is set{})",
                describe_finalizers(object)
            )),
            Presence::Live(_) => Err(format!("{target} still exists")),
            Presence::Deleted => Ok(format!("{target} was deleted")),
            Presence::Never => Ok(format!("{target} does not exist")),
        };
    }

    let object = match presence {
        Presence::Live(object) => object,
        Presence::Deleted => return Err(format!("{target} was deleted")),
        Presence::Never => return Err(format!("{target} does not exist")),
    };
    let mut holds = format!("{target} exists");
    if let Some(rule) = condition {
        holds = rule.evaluate(target, object)?;
    }
    if let Some(state) = state {
        match_partial(state, object).map_err(|mismatch| format!("{target}: {mismatch}"))?;
        holds = format!("{target} matches the state {}", compact(state));
    }
    Ok(holds)
}

fn describe_finalizers(object: &Value) -> String {
    let finalizers: Vec<&str> = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if finalizers.is_empty() {
        String::new()
    } else {
        format!(", finalizers: {}", finalizers.join(", "))
    }
}

struct CountFilters<'a> {
    kind: &'static KindInfo,
    selector: Option<&'a LabelSelector>,
    owner: Option<&'a Target>,
    state: Option<&'a Value>,
    active: Option<bool>,
    ever: bool,
}

impl CountFilters<'_> {
    fn admits(&self, object: &Value, timeline: &Timeline) -> bool {
        self.selector
            .is_none_or(|selector| selector.matches(objects::labels(object)))
            && self
                .owner
                .is_none_or(|owner| owned_by(object, owner, timeline))
            && self
                .state
                .is_none_or(|state| match_partial(state, object).is_ok())
            && self
                .active
                .is_none_or(|active| is_active(self.kind.kind, object) == active)
    }

    /// Describes the filters as a phrase after the noun: ` (active, owned by job/pi)`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.ever {
            parts.push("at any point of the recording".to_owned());
        }
        if let Some(active) = self.active {
            parts.push(if active { "active" } else { "not active" }.to_owned());
        }
        if let Some(selector) = self.selector {
            parts.push(format!("matching `{selector}`"));
        }
        if let Some(owner) = self.owner {
            parts.push(format!("owned by {owner}"));
        }
        if let Some(state) = self.state {
            parts.push(format!("in the state {}", compact(state)));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

fn evaluate_count(
    view: &View<'_>,
    filters: &CountFilters<'_>,
    is: &CountRange,
) -> Result<String, String> {
    let singular = filters.kind.kind.to_ascii_lowercase();
    let plural = filters.kind.plural;
    let names: Vec<&str> = if filters.ever {
        ever_admitted(view, filters)
    } else {
        view.objects(filters.kind.kind)
            .into_iter()
            .filter(|object| filters.admits(object, view.timeline))
            .map(objects::name)
            .collect()
    };
    let count = u32::try_from(names.len()).unwrap_or(u32::MAX);

    let listed = if names.is_empty() {
        String::new()
    } else {
        format!(": {}", join_names(&names, NAME_LIMIT))
    };
    if is.contains(count) {
        Ok(format!(
            "found {}{}{listed}",
            count_noun(count, &singular, plural),
            filters.describe()
        ))
    } else {
        let found = if names.is_empty() {
            format!("found {}", count_noun(0, &singular, plural))
        } else {
            format!("found {count}{listed}")
        };
        Err(format!(
            "expected {}{}; {found}",
            expected_count(is, &singular, plural),
            filters.describe()
        ))
    }
}

#[cfg(test)]
mod tests;

/// Names of the objects (one per uid, in order of first appearance) that the filters admitted
/// in some recorded state up to the view's end, deleted objects included.
fn ever_admitted<'v>(view: &View<'v>, filters: &CountFilters<'_>) -> Vec<&'v str> {
    let mut seen: Vec<&'v str> = Vec::new();
    let mut names = Vec::new();
    for change in view.changes() {
        if change.kind != filters.kind.kind || change.change == ChangeKind::Deleted {
            continue;
        }
        let uid = change.uid();
        if seen.contains(&uid) {
            continue;
        }
        if filters.admits(&change.object, view.timeline) {
            seen.push(uid);
            names.push(change.name());
        }
    }
    names
}
