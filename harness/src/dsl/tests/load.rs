use rstest::rstest;

use super::{Files, JOB};
use crate::dsl::{DslError, Location, Step, Variables, load_scenario};

/// Builds a scenario with one Job manifest and the given lines under `steps:`.
fn scenario(steps: &str) -> String {
    format!("name: test\nmanifests: [job.yaml]\nsteps:\n{steps}")
}

fn load(text: &str) -> Result<crate::dsl::LoadedScenario, DslError> {
    let files = Files::new(&[("scenario.yaml", text), ("job.yaml", JOB)]);
    load_scenario(&files.path("scenario.yaml"), &Variables::new())
}

/// Loads an invalid scenario and lists its problems as `line:column message`, with hints.
fn problems(text: &str) -> Vec<(String, Option<String>)> {
    let err = load(text).expect_err("the scenario is invalid");
    err.problems()
        .iter()
        .map(|problem| {
            let at = problem
                .location()
                .map(|Location { line, column, .. }| format!("{line}:{column} "))
                .unwrap_or_default();
            (
                format!("{at}{}", problem.message()),
                problem.help_text().map(str::to_owned),
            )
        })
        .collect()
}

#[rstest]
#[case::apply_all("  - apply: all\n", "Apply")]
#[case::apply_targets("  - apply: [job/hello]\n", "Apply")]
#[case::delete(
    "  - delete: {target: job/hello, propagation: Foreground, wait: 30s}\n",
    "Delete"
)]
#[case::scale("  - scale: {target: sts/web, replicas: 3}\n", "Scale")]
#[case::patch(
    "  - patch: {target: job/hello, merge: {spec: {suspend: true}}}\n",
    "Patch"
)]
#[case::node(
    "  - node: {name: worker-1, labels: {disk: ssd}, addTaints: ['x=y:NoSchedule']}\n",
    "Node"
)]
#[case::wait(
    "  - wait: {for: job/hello, condition: Complete, within: 90s}\n",
    "Wait"
)]
#[case::wait_count("  - wait: {count: {kind: pod, is: {min: 1}}, within: 1m}\n", "Wait")]
#[case::expect(
    "  - expect: {for: job/hello, state: {status: {succeeded: 1}}}\n",
    "Expect"
)]
#[case::expect_full_condition(
    "  - expect: {for: job/hello, condition: {type: Failed, reason: BackoffLimitExceeded}}\n",
    "Expect"
)]
#[case::consistently(
    "  - consistently: {count: {is: 1, active: true}, during: 5s}\n",
    "Consistently"
)]
#[case::never("  - never: {for: job/hello, gone: true, during: 5s}\n", "Never")]
#[case::sleep("  - sleep: 2s\n", "Sleep")]
#[case::mark("  - mark: scaled\n", "Mark")]
#[case::expect_rejected(
    "  - expect-rejected: {apply: [job/hello], message: 'field is immutable'}\n",
    "ExpectRejected"
)]
#[case::expect_pods(
    "  - expect-pods: {owner: job/hello, created: 3, maxActive: 1, order: sequential}\n",
    "ExpectPods"
)]
#[case::expect_ordinals(
    "  - expect-ordinals: {statefulset: web, created: [0, 1, 2], creation: ordered}\n",
    "ExpectOrdinals"
)]
#[case::expect_placement(
    "  - expect-placement: {daemonset: agent, nodes: eligible, count: 2}\n",
    "ExpectPlacement"
)]
#[case::expect_survivors(
    "  - expect-survivors: {owner: sts/web, kind: pvc, survive: true}\n",
    "ExpectSurvivors"
)]
#[case::expect_schedule(
    "  - expect-schedule: {cronjob: tick, jobs: {min: 2}, tolerance: 10s}\n",
    "ExpectSchedule"
)]
#[case::expect_history(
    "  - expect-history: {cronjob: tick, successful: 3, failed: 1}\n",
    "ExpectHistory"
)]
#[case::expect_dns(
    "  - expect-dns: {service: web, hostnames: [web-0, web-1]}\n",
    "ExpectDns"
)]
fn every_step_loads(#[case] steps: &str, #[case] variant: &str) {
    let loaded =
        load(&scenario(steps)).unwrap_or_else(|err| panic!("{}", crate::dsl::render_error(&err)));
    let step = &loaded.scenario().steps[0];
    assert!(format!("{step:?}").starts_with(variant), "{step:?}");
}

#[test]
fn block_style_steps_load() {
    let text = "\
name: block style
manifests:
  - job.yaml
steps:
  - apply: all
  - wait:
      for: job/hello
      condition: Complete
      within: 90s
  - expect-pods:
      owner: job/hello
      succeeded: 1
";
    let loaded = load(text).unwrap();
    assert_eq!(loaded.scenario().steps.len(), 3);
    assert!(matches!(loaded.scenario().steps[1], Step::Wait(_)));
}

#[rstest]
#[case::top_level(
    "name: x\nstpes: []\n",
    "2:1 unknown key `stpes`",
    "did you mean `steps`?"
)]
#[case::in_step(
    "name: x\nsteps:\n  - wait: {fro: job/hello, within: 1s}\n",
    "3:12 steps[0].wait: unknown key `fro`",
    "did you mean `for`?"
)]
#[case::in_step_block(
    "name: x\nsteps:\n  - wait:\n      for: job/hello\n      withn: 1s\n",
    "5:7 steps[0].wait: unknown key `withn`",
    "did you mean `within`?"
)]
#[case::in_simulate(
    "name: x\nmanifests: [job.yaml]\nsimulate:\n  job/hello: {runFor: 1s, exitcode: 1}\nsteps: []\n",
    "4:27 simulate.job/hello: unknown key `exitcode`",
    "did you mean `exitCode`?"
)]
#[case::in_expect_pods(
    "name: x\nsteps:\n  - expect-pods:\n      created: 3\n      maxActiv: 1\n",
    "5:7 steps[0].expect-pods: unknown key `maxActiv`",
    "did you mean `maxActive`?"
)]
#[case::in_count_range(
    "name: x\nsteps:\n  - expect-pods: {created: {min: 1, mx: 3}}\n",
    "3:37 steps[0].expect-pods.created: unknown key `mx`",
    "did you mean `max`?"
)]
#[case::in_condition(
    "name: x\nsteps:\n  - expect: {for: job/hello, condition: {type: Failed, reasn: X}}\n",
    "3:56 steps[0].expect.condition: unknown key `reasn`",
    "did you mean `reason`?"
)]
#[case::in_inline_source(
    "name: x\nmanifests:\n  - {inlin: {}}\nsteps: []\n",
    "3:6 manifests[0]: unknown key `inlin`",
    "did you mean `inline`?"
)]
fn unknown_keys(#[case] text: &str, #[case] message: &str, #[case] hint: &str) {
    let found = problems(text);
    assert_eq!(found[0].0, message, "{found:?}");
    let help = found[0].1.as_deref().unwrap_or_default();
    assert!(help.starts_with(hint), "{help}");
}

#[rstest]
#[case::unknown_step(
    "name: x\nsteps:\n  - wiat: {for: job/hello, within: 1s}\n",
    "3:5 steps[0]: unknown step `wiat`",
    Some("did you mean `wait`?")
)]
#[case::unknown_step_scalar(
    "name: x\nsteps:\n  - aply\n",
    "3:5 steps[0]: unknown step `aply`",
    Some("did you mean `apply`?")
)]
#[case::step_without_value(
    "name: x\nsteps:\n  - sleep\n",
    "3:5 steps[0]: `sleep` needs a value: write `sleep: …`",
    None
)]
#[case::two_steps_in_one(
    "name: x\nsteps:\n  - sleep: 1s\n    mark: a\n",
    "3:5 steps[0]: expected a mapping with one key, found 2 keys: `sleep`, `mark`",
    Some("each step is its own list item")
)]
#[case::count_as_text(
    "name: x\nsteps:\n  - expect-pods: {created: three}\n",
    "3:28 steps[0].expect-pods.created: expected a count: a non-negative integer, or a mapping with `min` and/or `max`, found string \"three\"",
    None
)]
#[case::negative_count(
    "name: x\nsteps:\n  - expect-pods: {created: -1}\n",
    "3:28 steps[0].expect-pods.created: expected a count: a non-negative integer, or a mapping \
     with `min` and/or `max`, found integer `-1`",
    None
)]
#[case::steps_not_a_list(
    "name: x\nsteps: {a: 1}\n",
    "2:8 steps: expected a list, found a mapping",
    None
)]
#[case::replicas_as_text(
    "name: x\nsteps:\n  - scale: {target: sts/web, replicas: '3'}\n",
    "3:40 steps[0].scale.replicas: expected a non-negative integer, found string \"3\"",
    None
)]
#[case::replicas_negative(
    "name: x\nsteps:\n  - scale: {target: sts/web, replicas: -1}\n",
    "3:40 steps[0].scale.replicas: expected a non-negative integer, found integer `-1`",
    None
)]
#[case::bad_duration(
    "name: x\nsteps:\n  - sleep: soon\n",
    "3:12 steps[0].sleep: invalid duration `soon`",
    None
)]
#[case::unknown_kind(
    "name: x\nsteps:\n  - wait: {for: jbo/hello, within: 1s}\n",
    "3:17 steps[0].wait.for: invalid target `jbo/hello`: unknown kind `jbo` (did you mean `job`?)",
    None
)]
#[case::unknown_kind_in_list(
    "name: x\nsteps:\n  - apply: [job/hello, jbo/x]\n",
    "3:24 steps[0].apply[1]: invalid target `jbo/x`",
    None
)]
#[case::selection_word(
    "name: x\nsteps:\n  - apply: al\n",
    "3:12 steps[0].apply: expected `all` or a list of targets such as [job/hello-world], found \
     string \"al\"",
    None
)]
#[case::unknown_enum_value(
    "name: x\nsteps:\n  - expect-pods: {order: sequental}\n",
    "3:26 steps[0].expect-pods.order: unknown value `sequental`",
    Some("did you mean `sequential`?")
)]
#[case::missing_key(
    "name: x\nsteps:\n  - wait: {for: job/hello}\n",
    "3:11 steps[0].wait: missing key `within`",
    None
)]
#[case::missing_name("steps: []\n", "1:1 missing key `name`", None)]
#[case::empty_name("name: ''\nsteps: []\n", "1:7 scenario name is empty", None)]
#[case::blank_name("name: '  '\nsteps: []\n", "1:7 scenario name is empty", None)]
#[case::sequence_document(
    "- name: x\n  steps: []\n",
    "1:1 the scenario document must be a mapping with `name` and `steps`, found a sequence",
    Some("write the scenario's keys without a leading `- `")
)]
#[case::scalar_document(
    "just text\n",
    "1:1 the scenario document must be a mapping with `name` and `steps`, found a scalar",
    None
)]
fn wrong_values(#[case] text: &str, #[case] message: &str, #[case] hint: Option<&str>) {
    let found = problems(text);
    assert!(found[0].0.starts_with(message), "{found:?}");
    if let Some(hint) = hint {
        let help = found[0].1.as_deref().unwrap_or_default();
        assert!(help.starts_with(hint), "{help}");
    }
}

#[test]
fn every_broken_step_is_reported() {
    let text = "name: x\nstpes: []\nsteps:\n  - wiat: {}\n  - sleep: 1s\n  - mark: {a: 1}\n";
    let found: Vec<String> = problems(text)
        .into_iter()
        .map(|(message, _)| message)
        .collect();
    assert_eq!(
        found,
        [
            "2:1 unknown key `stpes`",
            "4:5 steps[0]: unknown step `wiat`",
            "6:11 steps[2].mark: expected a string, found a mapping",
        ]
    );
}

#[rstest]
#[case::apply_unknown(
    "  - apply: [job/other]\n",
    "4:13 `apply` names job/other, which is not a manifest of this scenario"
)]
#[case::rejected_unknown(
    "  - expect-rejected: {apply: [job/other], message: x}\n",
    "4:31 `expect-rejected` names job/other, which is not a manifest of this scenario"
)]
#[case::mark_missing(
    "  - expect-pods: {owner: job/hello, since: later}\n",
    "4:44 no `mark: later` step comes before this step"
)]
#[case::mark_after(
    "  - expect-pods: {since: later}\n  - mark: later\n",
    "4:26 no `mark: later` step comes before this step"
)]
#[case::wait_unrecorded(
    "  - wait: {for: deploy/web, gone: true, within: 10s}\n",
    "4:17 `wait` checks Deployment objects, which kspec does not record"
)]
#[case::count_unrecorded(
    "  - expect: {count: {kind: configmap, is: 0}}\n",
    "4:28 `expect` checks ConfigMap objects, which kspec does not record"
)]
#[case::hold_unrecorded(
    "  - never: {for: rs/web-1, during: 5s}\n",
    "4:18 `never` checks ReplicaSet objects, which kspec does not record"
)]
#[case::delete_wait_unrecorded(
    "  - delete: {target: cm/settings, wait: 10s}\n",
    "4:22 `delete` with `wait` checks ConfigMap objects, which kspec does not record"
)]
fn step_references(#[case] steps: &str, #[case] message: &str) {
    let found = problems(&scenario(steps));
    assert_eq!(found[0].0, message, "{found:?}");
}

#[rstest]
#[case::expect_failure(
    "name: x\nexpectFailure: '(unclosed'\nsteps: []\n",
    "2:16 expectFailure: invalid regular expression: unclosed group"
)]
#[case::expect_rejected(
    &scenario("  - expect-rejected: {apply: [job/hello], message: '[bad'}\n"),
    "4:52 steps[0].expect-rejected.message: invalid regular expression: unclosed character class"
)]
#[case::wait_condition(
    &scenario("  - wait: {for: job/hello, condition: {type: Failed, message: '[bad'}, within: 1s}\n"),
    "4:63 steps[0].wait.condition.message: invalid regular expression: unclosed character class"
)]
#[case::expect_condition(
    &scenario("  - expect:\n      for: job/hello\n      condition:\n        type: Failed\n        message: a{2,1}\n"),
    "8:18 steps[0].expect.condition.message: invalid regular expression: invalid repetition count range, the start must be <= the end"
)]
#[case::consistently_condition(
    &scenario("  - consistently: {for: job/hello, condition: {type: X, message: '(a'}, during: 1s}\n"),
    "4:66 steps[0].consistently.condition.message: invalid regular expression: unclosed group"
)]
#[case::never_condition(
    &scenario("  - never: {for: job/hello, condition: {type: X, message: '*a'}, during: 1s}\n"),
    "4:59 steps[0].never.condition.message: invalid regular expression: repetition operator missing expression"
)]
#[case::variable_value(
    "name: x\nvariables: {reason: '[bad'}\nsteps:\n  - expect: {for: job/hello, condition: {type: X, message: '${reason}'}}\n",
    "4:60 steps[0].expect.condition.message: invalid regular expression: unclosed character class"
)]
fn invalid_patterns(#[case] text: &str, #[case] message: &str) {
    let found = problems(text);
    assert_eq!(found[0].0, message, "{found:?}");
    let help = found[0].1.as_deref().unwrap_or_default();
    assert!(help.contains("put a backslash before"), "{help}");
}

#[rstest]
#[case::namespace_variable(
    "  - expect-rejected: {apply: [job/hello], message: 'in ${namespace}$'}\n"
)]
#[case::escaped_bracket(
    "  - wait: {for: job/hello, condition: {type: X, message: '\\[ok\\]'}, within: 1s}\n"
)]
fn valid_patterns_load(#[case] steps: &str) {
    let loaded = load(&scenario(steps));
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

#[test]
fn undefined_variable_in_pattern_once() {
    let text = scenario("  - expect-rejected: {apply: [job/hello], message: '[${nope}'}\n");
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].0.contains("undefined variable `${nope}`"),
        "{found:?}"
    );
}

#[test]
fn unrecorded_kind_lists_recorded() {
    let found = problems(&scenario("  - expect: {for: deploy/web}\n"));
    let help = found[0].1.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("checks can name Pod, Job, CronJob"),
        "{help}"
    );
    assert!(help.ends_with("Node, PersistentVolume"), "{help}");
}

#[test]
fn delete_without_wait_any_kind() {
    let loaded = load(&scenario("  - delete: {target: cm/settings}\n"));
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

#[test]
fn simulate_target_must_be_a_manifest() {
    let text = "name: x\nmanifests: [job.yaml]\nsimulate:\n  job/other: {runFor: 1s}\nsteps: []\n";
    let found = problems(text);
    assert_eq!(
        found[0].0,
        "4:3 `simulate` names job/other, which is not a manifest of this scenario"
    );
}

#[test]
fn manifests_resolve_from_files_and_inline() {
    let text = "\
name: manifests
manifests:
  - job.yaml
  - inline:
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: settings}
      data: {mode: '0644', octal: 0644}
steps: []
";
    let loaded = load(text).unwrap();
    let manifests = loaded.manifests();
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[0].name(), Some("hello"));
    assert_eq!(manifests[0].origin.document, 1);
    assert_eq!(manifests[0].origin.line, 1);
    assert!(manifests[0].origin.file.ends_with("job.yaml"));
    assert_eq!(manifests[1].kind(), Some("ConfigMap"));
    assert_eq!(manifests[1].origin.line, 5);
    assert_eq!(manifests[1].value["data"]["mode"], "0644");
    assert_eq!(manifests[1].value["data"]["octal"], 420);
}

#[rstest]
#[case::key("spec.template.spec.containers[0].image", 11, 9)]
#[case::leading_dot(".spec.template.spec.restartPolicy", 8, 7)]
#[case::list_item("spec.template.spec.containers[0]", 10, 9)]
#[case::flow_item("spec.template.spec.containers[0].args[2]", 12, 28)]
#[case::bracket_key("metadata[name]", 4, 3)]
fn locate_fields(#[case] path: &str, #[case] line: usize, #[case] column: usize) {
    let loaded = load(&scenario("  - apply: all\n")).unwrap();
    let location = loaded.manifests()[0].locate(path).unwrap();
    assert_eq!((location.line, location.column), (line, column));
}

#[test]
fn locate_keys_with_dots() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    kspec.dev/run-for: 1s\n";
    let files = Files::new(&[
        ("s.yaml", "name: x\nmanifests: [pod.yaml]\nsteps: []\n"),
        ("pod.yaml", manifest),
    ]);
    let loaded = load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap();
    let dotted = loaded.manifests()[0].locate("metadata.annotations.kspec.dev/run-for");
    let bracketed = loaded.manifests()[0].locate("metadata.annotations[kspec.dev/run-for]");
    assert_eq!(dotted.map(|at| at.line), Some(6));
    assert_eq!(bracketed.map(|at| at.line), Some(6));
    assert_eq!(loaded.manifests()[0].locate("metadata.labels"), None);
}

#[rstest]
#[case::no_name(
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
    "1:1 invalid manifest: missing `metadata.name`"
)]
#[case::nothing(
    "data: {a: b}\n",
    "1:1 invalid manifest: missing `apiVersion` and `kind` and `metadata.name`"
)]
#[case::second_document(
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n",
    "5:1 invalid manifest: missing `apiVersion`"
)]
fn incomplete_manifests(#[case] manifest: &str, #[case] message: &str) {
    let files = Files::new(&[
        ("s.yaml", "name: x\nmanifests: [m.yaml]\nsteps: []\n"),
        ("m.yaml", manifest),
    ]);
    let err = load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap_err();
    let problem = err.problems()[0];
    assert!(problem.file().ends_with("m.yaml"));
    let location = problem.location().unwrap();
    assert_eq!(
        format!(
            "{}:{} {}",
            location.line,
            location.column,
            problem.message()
        ),
        message
    );
}

#[test]
fn missing_manifest_file_is_reported_at_its_entry() {
    let files = Files::new(&[(
        "s.yaml",
        "name: x\nmanifests:\n  - ../manifests/nope.yaml\nsteps: []\n",
    )]);
    let err = load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap_err();
    let problem = err.problems()[0];
    assert!(
        problem
            .message()
            .starts_with("cannot read manifest file `../manifests/nope.yaml`")
    );
    assert_eq!(problem.location().map(|at| at.line), Some(3));
}

#[test]
fn list_manifests_are_expanded() {
    let manifest = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
";
    let files = Files::new(&[
        ("s.yaml", "name: x\nmanifests: [m.yaml]\nsteps: []\n"),
        ("m.yaml", manifest),
    ]);
    let loaded = load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap();
    let names: Vec<_> = loaded
        .manifests()
        .iter()
        .map(|manifest| manifest.name().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(loaded.manifests()[1].origin.line, 7);
}

#[test]
fn top_level_fields_load() {
    let text = "\
name: job index exit codes
description: Failed indexes are retried.
tags: [job, indexed]
requires: [simulated-nodes, storage]
timeout: 3m
snapshot: false
simulate:
  job/hello: {runFor: 2s, exitCode: 0, exitCodeByIndex: {1: 3}, ready: true, startAfter: 500ms}
manifests: [job.yaml]
steps:
  - apply: all
";
    let loaded = load(text).unwrap();
    let scenario = loaded.scenario();
    assert_eq!(scenario.requires.len(), 2);
    assert_eq!(
        scenario.timeout.map(|timeout| timeout.0.as_secs()),
        Some(180)
    );
    assert!(!scenario.snapshot);
    let simulation = scenario.simulate.values().next().unwrap();
    assert_eq!(simulation.exit_code_by_index.get(&1), Some(&3));
    assert_eq!(
        simulation.start_after.map(|after| after.0.as_millis()),
        Some(500)
    );
}

#[rstest]
#[case::unknown_capability(
    "requires: [simulated-node]\n",
    "2:12 requires[0]: unknown value `simulated-node`"
)]
#[case::timeout_number(
    "timeout: 90\n",
    "2:10 timeout: invalid duration `90`: time unit needed, for example 90sec or 90ms (write it like 90s, 2m or 500ms)"
)]
fn top_level_values(#[case] line: &str, #[case] message: &str) {
    let found = problems(&format!("name: x\n{line}steps: []\n"));
    assert_eq!(found[0].0, message, "{found:?}");
}
