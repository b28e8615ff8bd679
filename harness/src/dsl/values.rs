//! Small value types shared by scenario steps: durations, object targets, kinds and counts.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A duration written the way Kubernetes users write them: `90s`, `2m`, `1m30s`, `500ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(text.trim())
            .map(Duration)
            .map_err(|err| {
                format!("invalid duration `{text}`: {err} (write it like 90s, 2m or 500ms)")
            })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(([0-9]+(ms|s|m|h)\\s*)+|\\$\\{[A-Za-z_][A-Za-z0-9_-]*\\})$",
            "description": "A duration such as 90s, 2m, 1m30s or 500ms, or a ${name} variable.",
        })
    }
}

/// Kinds that scenarios name in targets, with the short names `kubectl` accepts.
///
/// Each row is the kind as written in manifests, its API group/version, whether it is
/// namespaced, its plural resource name, and the aliases a target may use.
pub const KINDS: &[KindInfo] = &[
    KindInfo::new("Pod", "v1", true, "pods", &["pod", "pods", "po"]),
    KindInfo::new(
        "Service",
        "v1",
        true,
        "services",
        &["service", "services", "svc"],
    ),
    KindInfo::new(
        "ConfigMap",
        "v1",
        true,
        "configmaps",
        &["configmap", "configmaps", "cm"],
    ),
    KindInfo::new("Secret", "v1", true, "secrets", &["secret", "secrets"]),
    KindInfo::new(
        "ServiceAccount",
        "v1",
        true,
        "serviceaccounts",
        &["serviceaccount", "sa"],
    ),
    KindInfo::new(
        "PersistentVolumeClaim",
        "v1",
        true,
        "persistentvolumeclaims",
        &["persistentvolumeclaim", "persistentvolumeclaims", "pvc"],
    ),
    KindInfo::new("Event", "v1", true, "events", &["event", "events", "ev"]),
    KindInfo::new("Node", "v1", false, "nodes", &["node", "nodes", "no"]),
    KindInfo::new(
        "PersistentVolume",
        "v1",
        false,
        "persistentvolumes",
        &["persistentvolume", "persistentvolumes", "pv"],
    ),
    KindInfo::new(
        "Namespace",
        "v1",
        false,
        "namespaces",
        &["namespace", "namespaces", "ns"],
    ),
    KindInfo::new("Job", "batch/v1", true, "jobs", &["job", "jobs"]),
    KindInfo::new(
        "CronJob",
        "batch/v1",
        true,
        "cronjobs",
        &["cronjob", "cronjobs", "cj"],
    ),
    KindInfo::new(
        "DaemonSet",
        "apps/v1",
        true,
        "daemonsets",
        &["daemonset", "daemonsets", "ds"],
    ),
    KindInfo::new(
        "StatefulSet",
        "apps/v1",
        true,
        "statefulsets",
        &["statefulset", "statefulsets", "sts"],
    ),
    KindInfo::new(
        "Deployment",
        "apps/v1",
        true,
        "deployments",
        &["deployment", "deployments", "deploy"],
    ),
    KindInfo::new(
        "ReplicaSet",
        "apps/v1",
        true,
        "replicasets",
        &["replicaset", "replicasets", "rs"],
    ),
    KindInfo::new(
        "ControllerRevision",
        "apps/v1",
        true,
        "controllerrevisions",
        &["controllerrevision", "controllerrevisions"],
    ),
    KindInfo::new(
        "EndpointSlice",
        "discovery.k8s.io/v1",
        true,
        "endpointslices",
        &["endpointslice", "endpointslices"],
    ),
    KindInfo::new(
        "StorageClass",
        "storage.k8s.io/v1",
        false,
        "storageclasses",
        &["storageclass", "storageclasses", "sc"],
    ),
    KindInfo::new(
        "PriorityClass",
        "scheduling.k8s.io/v1",
        false,
        "priorityclasses",
        &["priorityclass", "priorityclasses", "pc"],
    ),
];

/// One row of [`KINDS`].
#[derive(Debug)]
pub struct KindInfo {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub namespaced: bool,
    pub plural: &'static str,
    pub aliases: &'static [&'static str],
}

impl KindInfo {
    const fn new(
        kind: &'static str,
        api_version: &'static str,
        namespaced: bool,
        plural: &'static str,
        aliases: &'static [&'static str],
    ) -> Self {
        Self {
            kind,
            api_version,
            namespaced,
            plural,
            aliases,
        }
    }

    /// Looks a kind up by its name or any alias, ignoring case.
    pub fn find(name: &str) -> Option<&'static KindInfo> {
        let lower = name.to_ascii_lowercase();
        KINDS.iter().find(|info| {
            info.kind.eq_ignore_ascii_case(&lower) || info.aliases.contains(&lower.as_str())
        })
    }
}

/// An object named the way `kubectl` names it: `job/job-completions`, `sts/web`, `pvc/data-web-0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// Kind as written in manifests (`Job`, `StatefulSet`).
    pub kind: String,
    pub name: String,
}

impl Target {
    pub fn new(kind: &str, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            name: name.to_owned(),
        }
    }

    pub fn info(&self) -> Option<&'static KindInfo> {
        KindInfo::find(&self.kind)
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((kind, name)) = text.split_once('/') else {
            return Err(format!(
                "invalid target `{text}`: expected kind/name, such as job/job-completions"
            ));
        };
        if name.is_empty() {
            return Err(format!(
                "invalid target `{text}`: the name after `/` is empty"
            ));
        }
        let Some(info) = KindInfo::find(kind) else {
            let aliases = KINDS.iter().flat_map(|info| info.aliases.iter().copied());
            let hint = crate::dsl::nearest(kind, aliases)
                .map(|alias| format!(" (did you mean `{alias}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "invalid target `{text}`: unknown kind `{kind}`{hint}"
            ));
        };
        Ok(Self::new(info.kind, name))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for Target {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Target".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z]+/([-a-z0-9.]|\\$\\{[A-Za-z_][A-Za-z0-9_-]*\\})+$",
            "description": "An object as kind/name, such as job/job-completions, sts/web or sts/${name}.",
        })
    }
}

/// A count that is exact (`3`) or a range (`{min: 1, max: 3}`; either bound may be left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CountRange {
    Exact(u32),
    Range {
        #[serde(default)]
        min: Option<u32>,
        #[serde(default)]
        max: Option<u32>,
    },
}

impl CountRange {
    pub fn contains(&self, value: u32) -> bool {
        match *self {
            CountRange::Exact(expected) => value == expected,
            CountRange::Range { min, max } => {
                min.is_none_or(|min| value >= min) && max.is_none_or(|max| value <= max)
            }
        }
    }
}

impl fmt::Display for CountRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CountRange::Exact(expected) => write!(f, "{expected}"),
            CountRange::Range {
                min: Some(min),
                max: Some(max),
            } => write!(f, "{min} to {max}"),
            CountRange::Range {
                min: Some(min),
                max: None,
            } => write!(f, "at least {min}"),
            CountRange::Range {
                min: None,
                max: Some(max),
            } => write!(f, "at most {max}"),
            CountRange::Range {
                min: None,
                max: None,
            } => write!(f, "any number"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::job("job/job-completions", "Job", "job-completions")]
    #[case::short_name("sts/web", "StatefulSet", "web")]
    #[case::upper_case_kind("DaemonSet/agent", "DaemonSet", "agent")]
    fn target_parses(#[case] text: &str, #[case] kind: &str, #[case] name: &str) {
        let target: Target = text.parse().unwrap();
        assert_eq!(target.kind, kind);
        assert_eq!(target.name, name);
    }

    #[rstest]
    #[case::no_slash("job-completions", "expected kind/name")]
    #[case::empty_name("job/", "name after `/` is empty")]
    #[case::typo("jbo/x", "did you mean `job`?")]
    fn target_rejects(#[case] text: &str, #[case] message: &str) {
        let err = text.parse::<Target>().unwrap_err();
        assert!(err.contains(message), "{err}");
    }

    #[rstest]
    #[case::exact(CountRange::Exact(3), 3, true)]
    #[case::exact_miss(CountRange::Exact(3), 2, false)]
    #[case::min_only(CountRange::Range { min: Some(2), max: None }, 5, true)]
    #[case::max_only(CountRange::Range { min: None, max: Some(2) }, 3, false)]
    fn count_range_contains(#[case] range: CountRange, #[case] value: u32, #[case] expected: bool) {
        assert_eq!(range.contains(value), expected);
    }

    #[rstest]
    #[case("90s", 90)]
    #[case("2m", 120)]
    #[case("1m30s", 90)]
    fn duration_parses(#[case] text: &str, #[case] secs: u64) {
        assert_eq!(text.parse::<Duration>().unwrap().0.as_secs(), secs);
    }
}
