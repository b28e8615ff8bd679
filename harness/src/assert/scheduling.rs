//! The nodes a DaemonSet's pods belong on, computed the way the DaemonSet controller does.
//!
//! The controller (`NodeShouldRunDaemonPod` in pkg/controller/daemon) builds a pod from the
//! template and adds the tolerations it gives every daemon pod. It then checks three things
//! against each node. Taints with effect NoSchedule or NoExecute must be tolerated, the labels
//! must match `nodeSelector`, and they must match the required node affinity. PreferNoSchedule
//! taints and preferred affinity do not count. An untolerated NoExecute taint means no pod. An
//! untolerated NoSchedule taint alone means no new pod, but an existing one may keep running.

use serde_json::{Map, Value};

use crate::recorder::timeline::{str_at, value_at};

/// Tolerations the DaemonSet controller adds to every daemon pod, as key and effect, all with
/// operator Exists (`AddOrUpdateDaemonPodTolerations` in pkg/controller/daemon/util).
const DAEMON_TOLERATIONS: &[(&str, &str)] = &[
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];

/// Added only to daemon pods with `hostNetwork: true`.
const HOST_NETWORK_TOLERATION: (&str, &str) =
    ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// Whether a daemon pod belongs on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Eligibility {
    /// The controller runs a pod there.
    Eligible,
    /// Only NoSchedule taints are untolerated: the controller creates no pod there, but a pod
    /// that already runs may stay. The reasons name the taints.
    KeepsExisting(Vec<String>),
    /// The controller runs no pod there and deletes one that does, for the reasons given.
    Ineligible(Vec<String>),
}

/// A toleration of the pod spec, with the operator defaulted to Equal.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Toleration {
    key: String,
    exists: bool,
    value: String,
    effect: String,
}

impl Toleration {
    fn from_json(value: &Value) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
        Self {
            key: text("key").to_owned(),
            exists: text("operator") == "Exists",
            value: text("value").to_owned(),
            effect: text("effect").to_owned(),
        }
    }

    /// `ToleratesTaint` of k8s.io/api/core/v1: an empty effect matches every effect, an empty
    /// key with Exists matches every key.
    fn tolerates(&self, taint: &Taint<'_>) -> bool {
        if !self.effect.is_empty() && self.effect != taint.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        self.exists || self.value == taint.value
    }

    fn describe(&self) -> String {
        let subject = match (self.key.is_empty(), self.exists) {
            (true, _) => "every taint".to_owned(),
            (false, true) => self.key.clone(),
            (false, false) => format!("{}={}", self.key, self.value),
        };
        if self.effect.is_empty() {
            format!("{subject} with any effect")
        } else {
            format!("{subject}:{}", self.effect)
        }
    }
}

struct Taint<'a> {
    key: &'a str,
    value: &'a str,
    effect: &'a str,
}

impl Taint<'_> {
    fn describe(&self) -> String {
        if self.value.is_empty() {
            format!("{}:{}", self.key, self.effect)
        } else {
            format!("{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

fn taints(node: &Value) -> Vec<Taint<'_>> {
    let Some(list) = value_at(node, &["spec", "taints"]).and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|taint| {
            let text = |key: &str| taint.get(key).and_then(Value::as_str).unwrap_or_default();
            Taint {
                key: text("key"),
                value: text("value"),
                effect: text("effect"),
            }
        })
        .collect()
}

/// Decides whether a daemon pod from `template` (the DaemonSet's `spec.template`) belongs on
/// `node`.
pub(crate) fn daemon_eligibility(template: &Value, node: &Value) -> Eligibility {
    let spec = template.get("spec").unwrap_or(&Value::Null);
    let node_name = str_at(node, &["metadata", "name"]).unwrap_or_default();
    let labels = value_at(node, &["metadata", "labels"]).and_then(Value::as_object);

    let mut ineligible = Vec::new();
    if let Some(bound) = str_at(spec, &["nodeName"]).filter(|bound| !bound.is_empty())
        && bound != node_name
    {
        ineligible.push(format!("the template sets spec.nodeName to {bound}"));
    }
    if let Some(reason) = check_node_selector(spec, labels) {
        ineligible.push(reason);
    }
    if let Some(reason) = check_required_affinity(spec, node_name, labels) {
        ineligible.push(reason);
    }

    let template_tolerations: Vec<Toleration> = value_at(spec, &["tolerations"])
        .and_then(Value::as_array)
        .map(|list| list.iter().map(Toleration::from_json).collect())
        .unwrap_or_default();
    let mut all_tolerations = template_tolerations.clone();
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let added = DAEMON_TOLERATIONS
        .iter()
        .chain(host_network.then_some(&HOST_NETWORK_TOLERATION));
    all_tolerations.extend(added.map(|(key, effect)| Toleration {
        key: (*key).to_owned(),
        exists: true,
        value: String::new(),
        effect: (*effect).to_owned(),
    }));

    let mut no_schedule = Vec::new();
    for taint in taints(node) {
        let counts = matches!(taint.effect, "NoSchedule" | "NoExecute");
        if !counts
            || all_tolerations
                .iter()
                .any(|toleration| toleration.tolerates(&taint))
        {
            continue;
        }
        let reason = format!(
            "its taint {} is not tolerated ({})",
            taint.describe(),
            describe_tolerations(&template_tolerations)
        );
        if taint.effect == "NoExecute" {
            ineligible.push(reason);
        } else {
            no_schedule.push(reason);
        }
    }

    if !ineligible.is_empty() {
        ineligible.extend(no_schedule);
        Eligibility::Ineligible(ineligible)
    } else if !no_schedule.is_empty() {
        Eligibility::KeepsExisting(no_schedule)
    } else {
        Eligibility::Eligible
    }
}

fn describe_tolerations(tolerations: &[Toleration]) -> String {
    if tolerations.is_empty() {
        return "the template has no tolerations".to_owned();
    }
    let described: Vec<String> = tolerations.iter().map(Toleration::describe).collect();
    format!("the template tolerates {} only", described.join(", "))
}

fn label<'a>(labels: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    labels?.get(key)?.as_str()
}

fn describe_label(labels: Option<&Map<String, Value>>, key: &str) -> String {
    match label(labels, key) {
        Some(value) => format!("label {key} is {value}"),
        None => format!("label {key} is missing"),
    }
}

fn check_node_selector(spec: &Value, labels: Option<&Map<String, Value>>) -> Option<String> {
    let selector = spec.get("nodeSelector")?.as_object()?;
    let mismatches: Vec<String> = selector
        .iter()
        .filter(|(key, wanted)| label(labels, key) != wanted.as_str())
        .map(|(key, wanted)| {
            format!(
                "nodeSelector {key}={} ({})",
                wanted.as_str().unwrap_or_default(),
                describe_label(labels, key)
            )
        })
        .collect();
    (!mismatches.is_empty()).then(|| {
        format!(
            "its labels do not match the template's {}",
            mismatches.join(", ")
        )
    })
}

/// Checks `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`: the terms
/// are ORed, the requirements within a term ANDed, and a term without requirements matches
/// no node.
fn check_required_affinity(
    spec: &Value,
    node_name: &str,
    labels: Option<&Map<String, Value>>,
) -> Option<String> {
    let terms = value_at(
        spec,
        &[
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        ],
    )?
    .as_array()?;

    let mut failures = Vec::new();
    for (index, term) in terms.iter().enumerate() {
        match term_failure(term, node_name, labels) {
            None => return None,
            Some(reason) => failures.push(format!("term {}: {reason}", index + 1)),
        }
    }
    Some(format!(
        "it matches no term of the template's required node affinity ({})",
        failures.join("; ")
    ))
}

/// Explains why a node selector term does not match, or returns `None` when it does.
fn term_failure(
    term: &Value,
    node_name: &str,
    labels: Option<&Map<String, Value>>,
) -> Option<String> {
    let expressions = term.get("matchExpressions").and_then(Value::as_array);
    let fields = term.get("matchFields").and_then(Value::as_array);
    if expressions.is_none_or(Vec::is_empty) && fields.is_none_or(Vec::is_empty) {
        return Some("it has no requirements, so it matches no node".to_owned());
    }
    for expression in expressions.into_iter().flatten() {
        let key = expression
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !requirement_matches(expression, label(labels, key)) {
            return Some(format!(
                "{} fails because {}",
                describe_requirement(expression),
                describe_label(labels, key)
            ));
        }
    }
    for field in fields.into_iter().flatten() {
        let key = field.get("key").and_then(Value::as_str).unwrap_or_default();
        let operator = field
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if key != "metadata.name" || !matches!(operator, "In" | "NotIn") {
            return Some(format!(
                "matchFields {key} {operator} is invalid: only metadata.name with In or NotIn \
                 is allowed"
            ));
        }
        if !requirement_matches(field, Some(node_name)) {
            return Some(format!(
                "{} fails for node {node_name}",
                describe_requirement(field)
            ));
        }
    }
    None
}

/// Evaluates one NodeSelectorRequirement against the value of its key (`None` when unset).
fn requirement_matches(requirement: &Value, actual: Option<&str>) -> bool {
    let operator = requirement
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let values: Vec<&str> = requirement
        .get("values")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match operator {
        "In" => actual.is_some_and(|actual| values.contains(&actual)),
        "NotIn" => actual.is_none_or(|actual| !values.contains(&actual)),
        "Exists" => actual.is_some(),
        "DoesNotExist" => actual.is_none(),
        "Gt" | "Lt" => {
            let [bound] = values.as_slice() else {
                return false;
            };
            let (Some(actual), Ok(bound)) = (actual, bound.parse::<i64>()) else {
                return false;
            };
            let Ok(actual) = actual.parse::<i64>() else {
                return false;
            };
            if operator == "Gt" {
                actual > bound
            } else {
                actual < bound
            }
        }
        _ => false,
    }
}

fn describe_requirement(requirement: &Value) -> String {
    let text = |key: &str| {
        requirement
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let values: Vec<&str> = requirement
        .get("values")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match text("operator") {
        "Exists" | "DoesNotExist" => format!("{} {}", text("key"), text("operator")),
        operator => format!("{} {operator} [{}]", text("key"), values.join(", ")),
    }
}

#[cfg(test)]
mod tests;
