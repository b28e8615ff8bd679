use rstest::rstest;
use serde_json::json;

use super::Files;
use crate::dsl::{Step, Variables, load_scenario, render, render_scenario};

const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
  labels: {scenario: '${scenario}'}
spec:
  replicas: ${replicas}
  serviceName: web.${namespace}
  template:
    spec:
      containers:
      - name: main
        image: busybox
        args: ['sh', '-c', 'echo $${HOSTNAME}']
";

fn variables(pairs: &[(&str, &str)]) -> Variables {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn files(scenario: &str) -> Files {
    Files::new(&[("s.yaml", scenario), ("sts.yaml", TEMPLATE)])
}

const SCENARIO: &str = "\
name: web
variables: {name: web, replicas: '2'}
manifests: [sts.yaml]
steps:
  - apply: ['sts/${name}']
  - scale:
      target: sts/${name}
      replicas: ${replicas}
  - wait:
      for: sts/${name}
      state: {metadata: {namespace: '${namespace}'}}
      within: ${timeout}
";

#[test]
fn variables_fill_steps_at_load() {
    let files = files(SCENARIO);
    let loaded = load_scenario(&files.path("s.yaml"), &variables(&[("timeout", "90s")])).unwrap();
    let steps = &loaded.scenario().steps;
    let Step::Scale(scale) = &steps[1] else {
        panic!("{steps:?}")
    };
    assert_eq!(scale.target.name, "web");
    assert_eq!(scale.replicas, 2);
    let Step::Wait(wait) = &steps[2] else {
        panic!("{steps:?}")
    };
    assert_eq!(wait.within.0.as_secs(), 90);
    assert_eq!(
        wait.state,
        Some(json!({"metadata": {"namespace": "${namespace}"}}))
    );
}

#[test]
fn render_fills_manifests_and_builtins() {
    let files = files(SCENARIO);
    let loaded = load_scenario(
        &files.path("s.yaml"),
        &variables(&[("timeout", "90s"), ("replicas", "3")]),
    )
    .unwrap();
    let runtime = variables(&[("namespace", "kspec-web-x1"), ("scenario", "web")]);
    let manifests = render(&loaded, &runtime).unwrap();
    let sts = &manifests[0];
    assert_eq!(sts["metadata"]["name"], "web");
    assert_eq!(sts["metadata"]["labels"]["scenario"], "web");
    assert_eq!(
        sts["spec"]["replicas"], 3,
        "a plain reference takes its value's type"
    );
    assert_eq!(sts["spec"]["serviceName"], "web.kspec-web-x1");
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["args"][2],
        "echo ${HOSTNAME}"
    );

    let scenario = render_scenario(&loaded, &runtime).unwrap();
    let Step::Wait(wait) = &scenario.steps[2] else {
        panic!()
    };
    assert_eq!(
        wait.state,
        Some(json!({"metadata": {"namespace": "kspec-web-x1"}}))
    );
}

#[rstest]
#[case::scenario_default(&[], "2")]
#[case::caller_overrides(&[("replicas", "5")], "5")]
fn precedence(#[case] overrides: &[(&str, &str)], #[case] expected: &str) {
    let files = files(SCENARIO);
    let mut overrides = variables(overrides);
    overrides.insert("timeout".to_owned(), "1m".to_owned());
    let loaded = load_scenario(&files.path("s.yaml"), &overrides).unwrap();
    assert_eq!(loaded.variables()["replicas"], expected);
}

#[test]
fn undefined_variables_are_reported_where_used() {
    let files = files(SCENARIO);
    let err = load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap_err();
    let found: Vec<String> = err
        .problems()
        .iter()
        .map(|problem| {
            let at = problem.location().unwrap();
            format!(
                "{}:{}:{} {}",
                problem.file().file_name().unwrap().to_string_lossy(),
                at.line,
                at.column,
                problem.message()
            )
        })
        .collect();
    assert_eq!(found, ["s.yaml:12:15 undefined variable `${timeout}`"]);
    let help = err.problems()[0].help_text().unwrap();
    assert!(
        help.starts_with("defined: name, replicas; built in: namespace, scenario"),
        "{help}"
    );
    assert!(help.contains("--var timeout=VALUE"), "{help}");
}

#[test]
fn undefined_variable_in_manifest_file() {
    let files = Files::new(&[
        ("s.yaml", "name: x\nmanifests: [sts.yaml]\nsteps: []\n"),
        ("sts.yaml", TEMPLATE),
    ]);
    let err = load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap_err();
    let found: Vec<(usize, usize, &str)> = err
        .problems()
        .iter()
        .map(|problem| {
            let at = problem.location().unwrap();
            (at.line, at.column, problem.message())
        })
        .collect();
    assert_eq!(
        found,
        [
            (4, 9, "undefined variable `${name}`"),
            (7, 13, "undefined variable `${replicas}`")
        ]
    );
}

#[test]
fn render_reports_variables_missing_at_run_time() {
    let files = files(SCENARIO);
    let loaded = load_scenario(&files.path("s.yaml"), &variables(&[("timeout", "1m")])).unwrap();
    let err = render(&loaded, &Variables::new()).unwrap_err();
    let problem = err.problems()[0];
    assert_eq!(problem.message(), "undefined variable `${namespace}`");
    assert_eq!(
        problem.location().map(|at| (at.line, at.column)),
        Some((8, 20))
    );
}

#[test]
fn render_scenario_reports_invalid_values() {
    let files = files(SCENARIO);
    let loaded = load_scenario(&files.path("s.yaml"), &variables(&[("timeout", "1m")])).unwrap();
    let runtime = variables(&[("namespace", "n"), ("timeout", "soon")]);
    let err = render_scenario(&loaded, &runtime).unwrap_err();
    assert!(
        err.problems()[0]
            .message()
            .contains("invalid duration `soon`"),
        "{err:?}"
    );
}
