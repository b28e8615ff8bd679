//! File-level lint: every problem of a scenario, suite or manifest file found without a
//! cluster.
//!
//! Besides what loading reports, lint flags manifests that no API server accepts: API
//! versions Kubernetes has removed, kinds under a built-in API group that does not serve them,
//! and unknown kinds in `apps/v1` and `batch/v1`. Checks that need the server's schemas, such
//! as unknown fields, belong to a server-side dry run.

use std::collections::BTreeSet;
use std::path::Path;

use super::error::{FileKind, Problem};
use super::load::load_collecting;
use super::manifest::{self, Manifest};
use super::suite::{classify, load_suite};
use super::types::{Selection, Step};
use super::values::KINDS;
use super::vars::Variables;

/// An API version that Kubernetes no longer serves for some kinds.
struct RemovedApi {
    api_version: &'static str,
    kinds: &'static [&'static str],
    removed_in: &'static str,
    /// The apiVersion to use instead; `None` when the kind itself is gone.
    replacement: Option<&'static str>,
}

const WORKLOADS: &[&str] = &["DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"];

/// Removals from the Kubernetes deprecated API migration guide (releases 1.16, 1.22, 1.25 and
/// 1.26).
const REMOVED: &[RemovedApi] = &[
    RemovedApi::new(
        "extensions/v1beta1",
        &["DaemonSet", "Deployment", "ReplicaSet"],
        "1.16",
        Some("apps/v1"),
    ),
    RemovedApi::new(
        "extensions/v1beta1",
        &["NetworkPolicy"],
        "1.16",
        Some("networking.k8s.io/v1"),
    ),
    RemovedApi::new("extensions/v1beta1", &["PodSecurityPolicy"], "1.16", None),
    RemovedApi::new(
        "extensions/v1beta1",
        &["Ingress"],
        "1.22",
        Some("networking.k8s.io/v1"),
    ),
    RemovedApi::new("apps/v1beta1", WORKLOADS, "1.16", Some("apps/v1")),
    RemovedApi::new("apps/v1beta2", WORKLOADS, "1.16", Some("apps/v1")),
    RemovedApi::new(
        "networking.k8s.io/v1beta1",
        &["Ingress", "IngressClass"],
        "1.22",
        Some("networking.k8s.io/v1"),
    ),
    RemovedApi::new("batch/v1beta1", &["CronJob"], "1.25", Some("batch/v1")),
    RemovedApi::new(
        "policy/v1beta1",
        &["PodDisruptionBudget"],
        "1.25",
        Some("policy/v1"),
    ),
    RemovedApi::new("policy/v1beta1", &["PodSecurityPolicy"], "1.25", None),
    RemovedApi::new(
        "discovery.k8s.io/v1beta1",
        &["EndpointSlice"],
        "1.25",
        Some("discovery.k8s.io/v1"),
    ),
    RemovedApi::new(
        "events.k8s.io/v1beta1",
        &["Event"],
        "1.25",
        Some("events.k8s.io/v1"),
    ),
    RemovedApi::new(
        "autoscaling/v2beta1",
        &["HorizontalPodAutoscaler"],
        "1.25",
        Some("autoscaling/v2"),
    ),
    RemovedApi::new(
        "node.k8s.io/v1beta1",
        &["RuntimeClass"],
        "1.25",
        Some("node.k8s.io/v1"),
    ),
    RemovedApi::new(
        "autoscaling/v2beta2",
        &["HorizontalPodAutoscaler"],
        "1.26",
        Some("autoscaling/v2"),
    ),
];

impl RemovedApi {
    const fn new(
        api_version: &'static str,
        kinds: &'static [&'static str],
        removed_in: &'static str,
        replacement: Option<&'static str>,
    ) -> Self {
        Self {
            api_version,
            kinds,
            removed_in,
            replacement,
        }
    }
}

/// The kinds of the built-in workload API versions, which no cluster extends.
const SERVED_KINDS: &[(&str, &[&str])] = &[
    (
        "apps/v1",
        &[
            "ControllerRevision",
            "DaemonSet",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
        ],
    ),
    ("batch/v1", &["CronJob", "Job"]),
];

/// Lints a scenario, suite or manifest file (distinguished by [`classify`]) and returns every
/// problem found, in file order. Linting a scenario covers the manifest files it names.
///
/// `variables` are those a run would pass (from the suite and the command line), so that
/// `${name}` references they define are not reported.
pub fn lint_file(path: &Path, variables: &Variables) -> Vec<Problem> {
    let kind = match classify(path) {
        Ok(kind) => kind,
        Err(err) => return vec![unreadable(path, &err)],
    };
    let mut problems = match kind {
        FileKind::Scenario => lint_scenario(path, variables),
        FileKind::Suite => match load_suite(path) {
            Ok(_) => Vec::new(),
            Err(err) if err.problems().is_empty() => vec![unreadable(path, &err)],
            Err(err) => err.problems().into_iter().cloned().collect(),
        },
        FileKind::Manifests => lint_manifest_file(path),
    };
    problems.sort_by_key(|problem| (problem.file().to_path_buf(), problem.location()));
    problems
}

fn unreadable(path: &Path, err: &super::error::DslError) -> Problem {
    let cause = std::error::Error::source(err)
        .map(ToString::to_string)
        .unwrap_or_default();
    Problem::new(path, format!("cannot read the file: {cause}"))
}

fn lint_scenario(path: &Path, variables: &Variables) -> Vec<Problem> {
    let collected = match load_collecting(path, variables) {
        Ok(collected) => collected,
        Err(err) => return vec![unreadable(path, &err)],
    };
    let mut problems = collected.problems;

    // Manifests that a step expects the API server to reject may well use removed versions.
    let mut rejected = BTreeSet::new();
    let steps = collected
        .loaded
        .as_ref()
        .map(|loaded| loaded.scenario().steps.as_slice());
    for step in steps.unwrap_or_default() {
        if let Step::ExpectRejected(reject) = step {
            match &reject.apply {
                Selection::All(_) => return problems,
                Selection::Targets(targets) => {
                    rejected.extend(
                        targets
                            .iter()
                            .map(|target| (target.kind.clone(), target.name.clone())),
                    );
                }
            }
        }
    }
    for manifest in &collected.manifests {
        let key = (
            manifest.kind().unwrap_or_default().to_owned(),
            manifest.name().unwrap_or_default().to_owned(),
        );
        if !rejected.contains(&key) {
            problems.extend(check_api(manifest));
        }
    }
    problems
}

fn lint_manifest_file(path: &Path) -> Vec<Problem> {
    let (source, documents, mut problems) = match manifest::read_file(path) {
        Ok(found) => found,
        Err(err) => return vec![Problem::new(path, format!("cannot read the file: {err}"))],
    };
    let (manifests, mut invalid) = manifest::from_documents(&source, &documents);
    problems.append(&mut invalid);
    for manifest in &manifests {
        problems.extend(check_api(manifest));
    }
    problems
}

/// Checks a manifest's apiVersion and kind against what Kubernetes serves.
fn check_api(manifest: &Manifest) -> Option<Problem> {
    let (message, label, help) = api_problem(manifest.api_version()?, manifest.kind()?)?;
    let value = manifest.node().get("apiVersion")?;
    let problem = manifest.problem_at(value.location, value.length, message, label);
    Some(problem.with_help(help))
}

/// Describes an apiVersion and kind that no API server accepts, as a message, a label and a
/// hint.
fn api_problem(api_version: &str, kind: &str) -> Option<(String, String, String)> {
    if let Some(removed) = REMOVED
        .iter()
        .find(|removed| removed.api_version == api_version && removed.kinds.contains(&kind))
    {
        let message = format!(
            "{kind} in {api_version} was removed in Kubernetes {}",
            removed.removed_in
        );
        let help = match removed.replacement {
            Some(replacement) => format!(
                "use `apiVersion: {replacement}`; the Kubernetes deprecated API migration guide \
                 lists the fields that changed"
            ),
            None => format!("Kubernetes no longer has {kind}; remove this manifest"),
        };
        return Some((message, "removed API version".to_owned(), help));
    }

    let served = SERVED_KINDS
        .iter()
        .find(|(served, _)| *served == api_version);
    if let Some((_, kinds)) = served
        && !kinds.contains(&kind)
    {
        let near = super::nearest(kind, kinds.iter().copied())
            .map(|near| format!("did you mean `{near}`? "))
            .unwrap_or_default();
        return Some((
            format!("{api_version} has no kind `{kind}`"),
            "unknown kind".to_owned(),
            format!("{near}{api_version} serves {}", kinds.join(", ")),
        ));
    }

    // A group without a dot is built into Kubernetes (custom resources need a dot in their
    // group), so a known kind under another such group is never served.
    let group = |version: &'static str| version.rsplit_once('/').map_or("", |(group, _)| group);
    let info = KINDS.iter().find(|info| info.kind == kind)?;
    let written = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    if written != group(info.api_version) && !written.contains('.') {
        return Some((
            format!("{kind} is not served in `{api_version}`"),
            "wrong API group".to_owned(),
            format!("use `apiVersion: {}`", info.api_version),
        ));
    }
    None
}
