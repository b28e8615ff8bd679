//! The kwok Stages that make the simulated nodes behave like kubelets.
//!
//! kwok uses its built-in stages only when the configuration supplies none, so the local
//! cluster supplies the full set. `stages/node.yaml` initializes nodes and refreshes their
//! status, `stages/pod.yaml` runs the pod lifecycle steered by the `kspec.dev/` annotations,
//! and `stages/volume.yaml` provisions volumes for the default StorageClass.

use super::annotations::{EXIT_CODE, EXIT_CODE_INDEX_PREFIX, JOB_COMPLETION_INDEX, RUN_FOR};
use super::versions::Version;

/// Name of the default StorageClass; scenarios see it as `${storageClass}`.
pub const STORAGE_CLASS: &str = "standard";

/// Provisioner of the default StorageClass, served by the volume stages.
pub const PROVISIONER: &str = "kspec.dev/simulated-volume";

const NODE_STAGES: &str = include_str!("stages/node.yaml");
const POD_STAGES: &str = include_str!("stages/pod.yaml");
const VOLUME_STAGES: &str = include_str!("stages/volume.yaml");

/// Renders every stage as one multi-document YAML text with the placeholders filled in.
pub(crate) fn render(kubernetes: Version) -> String {
    let nodes = NODE_STAGES.replace("__KUBE_VERSION__", &kubernetes.to_string());
    let pods = fill_exit_code_template(
        &POD_STAGES
            .replace("__EXITS__", &exits_expression())
            .replace("__EXIT_CODE__", &exit_code_expression()),
    );
    let volumes = VOLUME_STAGES
        .replace("__STORAGE_CLASS__", STORAGE_CLASS)
        .replace("__PROVISIONER__", PROVISIONER);
    [nodes, pods, volumes].join("---\n")
}

/// jq: true when the pod's containers exit on their own, that is when the pod sets
/// `kspec.dev/run-for` or a Job owns it.
fn exits_expression() -> String {
    format!(
        r#".metadata.annotations["{RUN_FOR}"] != null or any(.metadata.ownerReferences[]?; .kind == "Job")"#
    )
}

/// jq: the pod's exit code as a number. A value that is not a number makes the expression
/// fail, so the pod matches no exit stage and keeps running.
fn exit_code_expression() -> String {
    format!(
        r#"(.metadata.annotations // {{}}) as $a | $a["{JOB_COMPLETION_INDEX}"] as $i | (if $i != null and $a["{EXIT_CODE_INDEX_PREFIX}" + $i] != null then $a["{EXIT_CODE_INDEX_PREFIX}" + $i] else ($a["{EXIT_CODE}"] // "0") end) | tonumber"#
    )
}

/// Go template lines that set `$exitCode` (an int) the way [`exit_code_expression`] computes
/// it, for the templates that write `terminated.exitCode`.
fn exit_code_template() -> [String; 3] {
    [
        "{{ $annotations := or .metadata.annotations dict }}".to_owned(),
        format!(r#"{{{{ $exitCode := atoi (get $annotations "{EXIT_CODE}" | default "0") }}}}"#),
        format!(
            r#"{{{{ with get $annotations "{JOB_COMPLETION_INDEX}" }}}}{{{{ $key := printf "{EXIT_CODE_INDEX_PREFIX}%s" . }}}}{{{{ if hasKey $annotations $key }}}}{{{{ $exitCode = atoi (get $annotations $key) }}}}{{{{ end }}}}{{{{ end }}}}"#
        ),
    ]
}

/// Replaces each `__EXIT_CODE_TEMPLATE__` line with the lines of [`exit_code_template`] at
/// the same indentation, so that they stay inside the YAML block scalar.
fn fill_exit_code_template(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1024);
    for line in text.lines() {
        if line.trim() == "__EXIT_CODE_TEMPLATE__" {
            let indent = &line[..line.len() - line.trim_start().len()];
            for template_line in exit_code_template() {
                out.push_str(indent);
                out.push_str(&template_line);
                out.push('\n');
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use serde_json::Value;

    use super::*;
    use crate::cluster::local::annotations::{READY, START_AFTER};

    fn documents() -> Vec<Value> {
        let text = render(Version::new(1, 37, 2));
        serde_yaml::Deserializer::from_str(&text)
            .map(|document| Value::deserialize(document).expect("each stage is valid YAML"))
            .collect()
    }

    #[test]
    fn every_document_is_a_named_stage() {
        let documents = documents();
        let names: BTreeSet<&str> = documents
            .iter()
            .map(|stage| {
                assert_eq!(stage["kind"], "Stage");
                assert_eq!(stage["apiVersion"], "kwok.x-k8s.io/v1alpha1");
                stage["metadata"]["name"]
                    .as_str()
                    .expect("a stage has a name")
            })
            .collect();
        assert_eq!(names.len(), documents.len(), "stage names are unique");
        for expected in [
            "node-initialize",
            "pod-start",
            "pod-fail",
            "pod-remove",
            "pv-delete",
        ] {
            assert!(names.contains(expected), "missing stage {expected}");
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let text = render(Version::new(1, 36, 3));
        let leftover: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#') && line.contains("__"))
            .collect();
        assert!(leftover.is_empty(), "placeholders are left: {leftover:?}");
        assert!(text.contains(r#""v1.36.3""#));
        assert!(text.contains("self.spec.storageClassName == 'standard'"));
    }

    #[test]
    fn exit_code_template_stays_in_block() {
        let documents = documents();
        let fail = documents
            .iter()
            .find(|stage| stage["metadata"]["name"] == "pod-fail")
            .expect("pod-fail exists");
        let template = fail["spec"]["steps"][0]["patch"]["template"]
            .as_str()
            .expect("pod-fail patches with a template");
        assert!(template.contains("{{ $exitCode := atoi"));
        assert!(template.contains("exitCode: {{ $exitCode }}"));
    }

    #[test]
    fn pod_stage_selectors_read_annotations() {
        let text = render(Version::new(1, 37, 2));
        for annotation in [
            RUN_FOR,
            EXIT_CODE,
            EXIT_CODE_INDEX_PREFIX,
            READY,
            START_AFTER,
        ] {
            assert!(text.contains(annotation), "no stage reads {annotation}");
        }
    }
}
