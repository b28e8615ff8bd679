//! Rendered diagnostics, so that their wording and layout are reviewed.

use super::syntax::{DAEMONSET_INDENTED_KEY, JOB_MISSING_COMMA};
use super::{Files, JOB};
use crate::dsl::{Variables, lint_file, load_scenario, render_error, render_problem};

fn scenario_error(text: &str) -> String {
    let files = Files::new(&[("scenario.yaml", text), ("job.yaml", JOB)]);
    let err = load_scenario(&files.path("scenario.yaml"), &Variables::new()).unwrap_err();
    files.redact(&render_error(&err))
}

fn lint_output(name: &str, text: &str) -> String {
    let files = Files::new(&[(name, text)]);
    let problems = lint_file(&files.path(name), &Variables::new());
    let rendered: Vec<String> = problems
        .iter()
        .map(|problem| files.redact(&render_problem(problem)))
        .collect();
    rendered.join("\n")
}

#[test]
fn unknown_key_in_step() {
    insta::assert_snapshot!(scenario_error(
        "name: x\nmanifests: [job.yaml]\nsteps:\n  - wait: {fro: job/hello, within: 1s}\n"
    ));
}

#[test]
fn unknown_step() {
    insta::assert_snapshot!(scenario_error(
        "name: x\nsteps:\n  - apply: all\n  - expect-pod: {created: 1}\n"
    ));
}

#[test]
fn several_problems() {
    insta::assert_snapshot!(scenario_error(
        "name: x\nmanifests: [job.yaml]\nsteps:\n  - apply: [job/other]\n  - sleep: soon\n  - expect-pods:\n      owner: job/hello\n      created: ${count}\n"
    ));
}

#[test]
fn variable_in_flow_mapping() {
    insta::assert_snapshot!(scenario_error(
        "name: x\nsteps:\n  - expect-pods: {owner: job/hello, created: ${count}}\n"
    ));
}

#[test]
fn missing_comma_in_flow_sequence() {
    insta::assert_snapshot!(lint_output("job-hello-world.yaml", JOB_MISSING_COMMA));
}

#[test]
fn key_indented_under_flow_sequence() {
    insta::assert_snapshot!(lint_output(
        "daemonset-example.yaml",
        DAEMONSET_INDENTED_KEY
    ));
}

#[test]
fn removed_api_version() {
    insta::assert_snapshot!(lint_output(
        "cronjob-example.yaml",
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: cronJob-example\nspec:\n  schedule: \"*/1 * * * *\"\n"
    ));
}

/// A finding of a server-side dry run, placed at the field the API server names.
#[test]
fn finding_at_manifest_field() {
    let manifest = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deployment-nginx
spec:
  template:
    spec:
      containers:
      - name: nginx
        image: nginx:1.10
        ports:
        - cotainerPort: 80
";
    let files = Files::new(&[
        (
            "scenario.yaml",
            "name: x\nmanifests: [deployment.yaml]\nsteps: []\n",
        ),
        ("deployment.yaml", manifest),
    ]);
    let loaded = load_scenario(&files.path("scenario.yaml"), &Variables::new()).unwrap();
    let problem = loaded.manifests()[0].problem(
        Some(".spec.template.spec.containers[0].ports[0].cotainerPort"),
        "strict decoding error: unknown field \"spec.template.spec.containers[0].ports[0].cotainerPort\"",
        "unknown field",
    );
    insta::assert_snapshot!(files.redact(&render_problem(&problem)));
}
