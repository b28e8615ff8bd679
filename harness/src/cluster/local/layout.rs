//! The simulated nodes of a local cluster: how many, with which labels, taints and capacity.
//!
//! The default layout is one control-plane node `cp-0`, labelled
//! `node-role.kubernetes.io/control-plane` and tainted
//! `node-role.kubernetes.io/control-plane:NoSchedule`, and three workers `worker-0` to
//! `worker-2`. A layout file has the same shape as [`NodeLayout`]:
//!
//! ```yaml
//! groups:
//!   - name: cp
//!     count: 1
//!     controlPlane: true
//!     legacyMasterTaint: true
//!   - name: worker
//!     count: 3
//!     labels: {topology.kubernetes.io/zone: zone-a}
//!     taints: [{key: dedicated, value: batch, effect: NoSchedule}]
//!     capacity: {cpu: "16", memory: 64Gi, pods: "110"}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeSpec, NodeStatus, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::error::{LayoutFileError, LocalClusterError};

/// Label and taint key of control-plane nodes.
pub const CONTROL_PLANE_ROLE: &str = "node-role.kubernetes.io/control-plane";
/// Taint key that clusters before Kubernetes 1.24 put on control-plane nodes.
pub const LEGACY_MASTER_ROLE: &str = "node-role.kubernetes.io/master";

/// Most nodes a layout may have: each node gets its own /24 pod range out of 10.244.0.0/16.
pub const MAX_NODES: usize = 256;

/// Groups of identical simulated nodes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeLayout {
    pub groups: Vec<NodeGroup>,
}

/// `count` nodes named `{name}-0`, `{name}-1`, ….
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeGroup {
    /// Node name prefix, a DNS label.
    pub name: String,
    pub count: usize,
    /// Control-plane nodes get the control-plane role label and, unless `taints` is given,
    /// the `node-role.kubernetes.io/control-plane:NoSchedule` taint. Default: false.
    #[serde(default)]
    pub control_plane: bool,
    /// Adds the `node-role.kubernetes.io/master:NoSchedule` taint that clusters before
    /// Kubernetes 1.24 used. Default: false.
    #[serde(default)]
    pub legacy_master_taint: bool,
    /// Labels in addition to `kubernetes.io/hostname`, `kubernetes.io/os=linux` and
    /// `kubernetes.io/arch=amd64`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Taints; `None` means the default for the group's role.
    #[serde(default)]
    pub taints: Option<Vec<NodeTaint>>,
    #[serde(default)]
    pub capacity: Capacity,
}

/// A node taint, as in `kubectl taint`: `key[=value]:effect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeTaint {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Capacity of each node, which is also its allocatable amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Capacity {
    /// CPU quantity. Default: "8".
    #[serde(default = "default_cpu")]
    pub cpu: String,
    /// Memory quantity. Default: "32Gi".
    #[serde(default = "default_memory")]
    pub memory: String,
    /// Pods per node. Default: "110", the kubelet's default.
    #[serde(default = "default_pods")]
    pub pods: String,
}

fn default_cpu() -> String {
    "8".to_owned()
}

fn default_memory() -> String {
    "32Gi".to_owned()
}

fn default_pods() -> String {
    "110".to_owned()
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            cpu: default_cpu(),
            memory: default_memory(),
            pods: default_pods(),
        }
    }
}

impl NodeTaint {
    pub fn no_schedule(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            value: None,
            effect: "NoSchedule".to_owned(),
        }
    }
}

impl std::str::FromStr for NodeTaint {
    type Err = String;

    /// Parses `key[=value]:effect`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((key_value, effect)) = text.rsplit_once(':') else {
            return Err(format!(
                "invalid taint `{text}` (write it as key[=value]:effect, such as \
                 dedicated=batch:NoSchedule)"
            ));
        };
        let (key, value) = match key_value.split_once('=') {
            Some((key, value)) => (key, Some(value.to_owned())),
            None => (key_value, None),
        };
        Ok(Self {
            key: key.to_owned(),
            value,
            effect: effect.to_owned(),
        })
    }
}

impl Default for NodeLayout {
    fn default() -> Self {
        Self::new(1, 3)
    }
}

impl NodeLayout {
    /// `control_planes` nodes `cp-N` and `workers` nodes `worker-N` with default settings.
    pub fn new(control_planes: usize, workers: usize) -> Self {
        let group = |name: &str, count, control_plane| NodeGroup {
            name: name.to_owned(),
            count,
            control_plane,
            legacy_master_taint: false,
            labels: BTreeMap::new(),
            taints: None,
            capacity: Capacity::default(),
        };
        Self {
            groups: vec![
                group("cp", control_planes, true),
                group("worker", workers, false),
            ],
        }
    }

    /// Reads and checks a layout file.
    pub fn from_file(path: &Path) -> Result<Self, LocalClusterError> {
        let layout_error = |source| LocalClusterError::LayoutFile {
            path: path.to_owned(),
            source,
        };
        let text =
            fs::read_to_string(path).map_err(|err| layout_error(LayoutFileError::Read(err)))?;
        let layout: NodeLayout =
            serde_yaml::from_str(&text).map_err(|err| layout_error(LayoutFileError::Parse(err)))?;
        layout.validate()?;
        Ok(layout)
    }

    /// Number of nodes in all groups.
    pub fn node_count(&self) -> usize {
        self.groups.iter().map(|group| group.count).sum()
    }

    /// Number of nodes in control-plane groups.
    pub fn control_plane_count(&self) -> usize {
        self.groups
            .iter()
            .filter(|group| group.control_plane)
            .map(|group| group.count)
            .sum()
    }

    /// Checks names, counts, taint effects and quantities.
    pub fn validate(&self) -> Result<(), LocalClusterError> {
        let invalid = |problem: String| Err(LocalClusterError::InvalidLayout { problem });
        if self.node_count() == 0 {
            return invalid("the layout has no nodes".to_owned());
        }
        if self.node_count() > MAX_NODES {
            return invalid(format!(
                "the layout has {} nodes, more than the {MAX_NODES} that get a pod range",
                self.node_count()
            ));
        }
        let mut prefixes = BTreeSet::new();
        for group in &self.groups {
            if !is_dns_label(&group.name) || group.name.len() > 50 {
                return invalid(format!(
                    "group name `{}` is not a DNS label of at most 50 characters",
                    group.name
                ));
            }
            if !prefixes.insert(&group.name) {
                return invalid(format!("group name `{}` is used twice", group.name));
            }
            for taint in group.taints.iter().flatten() {
                if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&taint.effect.as_str())
                {
                    return invalid(format!(
                        "taint `{}` has effect `{}`; use NoSchedule, PreferNoSchedule or \
                         NoExecute",
                        taint.key, taint.effect
                    ));
                }
                if taint.key.is_empty() {
                    return invalid("a taint has an empty key".to_owned());
                }
            }
            let capacity = &group.capacity;
            for (what, value) in [
                ("cpu", &capacity.cpu),
                ("memory", &capacity.memory),
                ("pods", &capacity.pods),
            ] {
                if !is_quantity(value) {
                    return invalid(format!(
                        "{what} capacity `{value}` of group `{}` is not a quantity such as 8, \
                         500m or 32Gi",
                        group.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// Builds the Node objects to create, in group order. Each node's status already carries
    /// its addresses and capacity, which the node-initialize stage keeps.
    pub(crate) fn nodes(&self) -> Vec<Node> {
        let mut nodes = Vec::new();
        for group in &self.groups {
            for index in 0..group.count {
                nodes.push(node(group, index, nodes.len()));
            }
        }
        nodes
    }
}

fn node(group: &NodeGroup, index: usize, position: usize) -> Node {
    let name = format!("{}-{index}", group.name);
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_owned(), name.clone()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), "amd64".to_owned()),
    ]);
    if group.control_plane {
        labels.insert(CONTROL_PLANE_ROLE.to_owned(), String::new());
    }
    labels.extend(group.labels.clone());

    let mut taints = match &group.taints {
        Some(taints) => taints.clone(),
        None if group.control_plane => vec![NodeTaint::no_schedule(CONTROL_PLANE_ROLE)],
        None => Vec::new(),
    };
    if group.legacy_master_taint {
        taints.push(NodeTaint::no_schedule(LEGACY_MASTER_ROLE));
    }

    // Pod IPs come from the node's podCIDR. The addresses are loopback so that anything that
    // dials a node (`kubectl logs` through the API server) reaches kwok on this machine.
    let pod_cidr = format!("10.244.{position}.0/24");
    let resources = BTreeMap::from([
        ("cpu".to_owned(), Quantity(group.capacity.cpu.clone())),
        ("memory".to_owned(), Quantity(group.capacity.memory.clone())),
        ("pods".to_owned(), Quantity(group.capacity.pods.clone())),
    ]);
    Node {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(pod_cidr.clone()),
            pod_cidrs: Some(vec![pod_cidr]),
            taints: (!taints.is_empty()).then(|| {
                taints
                    .into_iter()
                    .map(|taint| Taint {
                        key: taint.key,
                        value: taint.value,
                        effect: taint.effect,
                        time_added: None,
                    })
                    .collect()
            }),
            ..NodeSpec::default()
        }),
        status: Some(NodeStatus {
            addresses: Some(vec![
                NodeAddress {
                    type_: "InternalIP".to_owned(),
                    address: "127.0.0.1".to_owned(),
                },
                NodeAddress {
                    type_: "Hostname".to_owned(),
                    address: name,
                },
            ]),
            allocatable: Some(resources.clone()),
            capacity: Some(resources),
            ..NodeStatus::default()
        }),
    }
}

fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Accepts the common quantity forms: digits with an optional fraction and an optional
/// decimal or binary suffix (`8`, `0.5`, `500m`, `32Gi`, `1k`).
fn is_quantity(text: &str) -> bool {
    let number_end = text
        .find(|char: char| !(char.is_ascii_digit() || char == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let valid_number = !number.is_empty()
        && number.matches('.').count() <= 1
        && number.chars().any(|char| char.is_ascii_digit());
    let valid_suffix = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    );
    valid_number && valid_suffix
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn default_layout_names_and_taints() {
        let nodes = NodeLayout::default().nodes();
        let names: Vec<_> = nodes
            .iter()
            .map(|node| node.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["cp-0", "worker-0", "worker-1", "worker-2"]);

        let control_plane = &nodes[0];
        let labels = control_plane.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[CONTROL_PLANE_ROLE], "");
        assert_eq!(labels["kubernetes.io/hostname"], "cp-0");
        let taints = control_plane
            .spec
            .as_ref()
            .unwrap()
            .taints
            .as_ref()
            .unwrap();
        assert_eq!(taints.len(), 1);
        assert_eq!(taints[0].key, CONTROL_PLANE_ROLE);
        assert_eq!(taints[0].effect, "NoSchedule");

        let worker = &nodes[1];
        assert!(worker.spec.as_ref().unwrap().taints.is_none());
        assert!(
            !worker
                .metadata
                .labels
                .as_ref()
                .unwrap()
                .contains_key(CONTROL_PLANE_ROLE)
        );
        assert_eq!(
            worker.metadata.labels.as_ref().unwrap()["kubernetes.io/arch"],
            "amd64"
        );
    }

    #[test]
    fn nodes_get_distinct_pod_ranges() {
        let nodes = NodeLayout::default().nodes();
        let ranges: BTreeSet<_> = nodes
            .iter()
            .map(|node| node.spec.as_ref().unwrap().pod_cidr.clone())
            .collect();
        assert_eq!(ranges.len(), nodes.len());
    }

    #[test]
    fn legacy_master_taint_is_added() {
        let mut layout = NodeLayout::default();
        layout.groups[0].legacy_master_taint = true;
        let node = &layout.nodes()[0];
        let keys: Vec<_> = node
            .spec
            .as_ref()
            .unwrap()
            .taints
            .as_ref()
            .unwrap()
            .iter()
            .map(|taint| taint.key.as_str())
            .collect();
        assert_eq!(keys, [CONTROL_PLANE_ROLE, LEGACY_MASTER_ROLE]);
    }

    #[test]
    fn layout_file_shape_parses() {
        let layout: NodeLayout = serde_yaml::from_str(
            "groups:\n  - {name: big, count: 2, capacity: {cpu: '64', memory: 256Gi}}\n",
        )
        .unwrap();
        layout.validate().unwrap();
        assert_eq!(layout.groups[0].capacity.pods, "110");
        assert_eq!(layout.node_count(), 2);
    }

    #[rstest]
    #[case::taint_with_value(
        "dedicated=batch:NoSchedule",
        "dedicated",
        Some("batch"),
        "NoSchedule"
    )]
    #[case::taint_without_value("gpu:NoExecute", "gpu", None, "NoExecute")]
    fn taint_parses(
        #[case] text: &str,
        #[case] key: &str,
        #[case] value: Option<&str>,
        #[case] effect: &str,
    ) {
        let taint: NodeTaint = text.parse().unwrap();
        assert_eq!(taint.key, key);
        assert_eq!(taint.value.as_deref(), value);
        assert_eq!(taint.effect, effect);
    }

    #[rstest]
    #[case::no_nodes(NodeLayout::new(0, 0))]
    #[case::too_many(NodeLayout::new(1, MAX_NODES))]
    fn layout_rejects_counts(#[case] layout: NodeLayout) {
        assert!(layout.validate().is_err());
    }

    #[rstest]
    #[case::bad_effect(|group: &mut NodeGroup| group.taints = Some(vec![NodeTaint {
        key: "a".into(), value: None, effect: "Never".into() }]))]
    #[case::bad_quantity(|group: &mut NodeGroup| group.capacity.memory = "lots".into())]
    #[case::bad_name(|group: &mut NodeGroup| group.name = "Worker".into())]
    fn layout_rejects_group(#[case] change: fn(&mut NodeGroup)) {
        let mut layout = NodeLayout::default();
        change(&mut layout.groups[1]);
        assert!(layout.validate().is_err());
    }

    #[rstest]
    #[case("8", true)]
    #[case("500m", true)]
    #[case("0.5", true)]
    #[case("32Gi", true)]
    #[case("Gi", false)]
    #[case("1.2.3", false)]
    #[case("8 cores", false)]
    fn quantity_forms(#[case] text: &str, #[case] valid: bool) {
        assert_eq!(is_quantity(text), valid);
    }
}
