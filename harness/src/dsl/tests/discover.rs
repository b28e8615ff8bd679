use rstest::rstest;

use super::{Files, JOB};
use crate::dsl::{DslError, FileKind, classify, discover, load_suite};

fn scenario(name: &str) -> String {
    format!("name: {name}\nmanifests: [../manifests/job.yaml]\nsteps:\n  - apply: all\n")
}

/// Writes a tree like the repository's: scenarios under specs/, manifests beside them, suites.
fn tree() -> Files {
    Files::new(&[
        ("specs/job/hello.yaml", &scenario("job hello")),
        ("specs/job/completions.yml", &scenario("job completions")),
        ("specs/job/.hidden.yaml", &scenario("hidden")),
        ("specs/job/notes.txt", "not yaml"),
        ("specs/daemonset/b.yaml", &scenario("daemonset b")),
        ("specs/daemonset/a.yaml", &scenario("daemonset a")),
        ("specs/manifests/job.yaml", JOB),
        (
            "specs/daemonset/manifests/ds.yaml",
            "name: looks like a scenario\nsteps: []\n",
        ),
        ("specs/extra.yaml", JOB),
        (
            "suites/seed.yaml",
            "name: seed\nvariables: {storageClass: standard}\nscenarios:\n  - ../specs/job/hello.yaml\n  - {path: ../specs/job/completions.yml, points: 2}\n  - {glob: \"../specs/daemonset/*.yaml\"}\n",
        ),
    ])
}

fn relative(files: &Files, entries: &[crate::dsl::Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| files.redact(&entry.path.display().to_string()))
        .collect()
}

#[test]
fn directory_gives_sorted_scenarios() {
    let files = tree();
    let entries = discover(&[files.path("specs")]).unwrap();
    assert_eq!(
        relative(&files, &entries),
        [
            "specs/daemonset/a.yaml",
            "specs/daemonset/b.yaml",
            "specs/job/completions.yml",
            "specs/job/hello.yaml"
        ]
    );
    assert!(
        entries
            .iter()
            .all(|entry| entry.kind == FileKind::Scenario && entry.suite.is_none())
    );
}

#[test]
fn suite_gives_its_scenarios_with_points_and_variables() {
    let files = tree();
    let entries = discover(&[files.path("suites/seed.yaml")]).unwrap();
    assert_eq!(
        relative(&files, &entries),
        [
            "specs/job/hello.yaml",
            "specs/job/completions.yml",
            "specs/daemonset/a.yaml",
            "specs/daemonset/b.yaml"
        ]
    );
    let points: Vec<Option<u32>> = entries.iter().map(|entry| entry.points).collect();
    assert_eq!(points, [None, Some(2), None, None]);
    assert!(
        entries
            .iter()
            .all(|entry| entry.suite.as_deref() == Some("seed"))
    );
    assert_eq!(entries[0].variables["storageClass"], "standard");
}

#[test]
fn file_found_twice_is_kept_once() {
    let files = tree();
    let entries = discover(&[files.path("suites/seed.yaml"), files.path("specs/job")]).unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        entries[1].points,
        Some(2),
        "the suite's entry comes first and stays"
    );
}

#[test]
fn manifest_file_is_returned_as_manifests() {
    let files = tree();
    let entries = discover(&[files.path("specs/extra.yaml")]).unwrap();
    assert_eq!(entries[0].kind, FileKind::Manifests);
}

#[rstest]
#[case::suite("name: s\nscenarios: []\n", FileKind::Suite)]
#[case::manifest("apiVersion: v1\nkind: Pod\n", FileKind::Manifests)]
#[case::manifests_after_marker("---\n# comment\napiVersion: v1\n", FileKind::Manifests)]
#[case::scenario("name: x\nsteps: []\n", FileKind::Scenario)]
#[case::broken_scenario("name: x\nsteps: [\n", FileKind::Scenario)]
fn classification(#[case] text: &str, #[case] kind: FileKind) {
    let files = Files::new(&[("f.yaml", text)]);
    assert_eq!(classify(&files.path("f.yaml")).unwrap(), kind);
}

#[test]
fn duplicate_names_are_an_error() {
    let files = Files::new(&[
        ("a/one.yaml", &scenario("same")),
        ("b/two.yaml", &scenario("same")),
    ]);
    let err = discover(&[files.path("a"), files.path("b")]).unwrap_err();
    let DslError::DuplicateName {
        name,
        first,
        second,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(name, "same");
    assert!(first.ends_with("a/one.yaml"));
    assert!(second.ends_with("b/two.yaml"));
}

#[test]
fn empty_directory_is_an_error() {
    let files = Files::new(&[("specs/manifests/job.yaml", JOB)]);
    let err = discover(&[files.path("specs")]).unwrap_err();
    assert!(matches!(err, DslError::NoScenarioFound { .. }), "{err:?}");
}

#[test]
fn missing_path_is_an_error() {
    let files = Files::new(&[]);
    let err = discover(&[files.path("nope.yaml")]).unwrap_err();
    assert!(
        matches!(err, DslError::PathNotFound { help: None, .. }),
        "{err:?}"
    );
}

#[rstest]
#[case::missing_file(
    "  - ../specs/job/nope.yaml\n",
    "scenario file `../specs/job/nope.yaml` not found"
)]
#[case::glob_matches_nothing(
    "  - {glob: \"../specs/cronjob/*.yaml\"}\n",
    "`../specs/cronjob/*.yaml` matches no scenario file"
)]
#[case::not_a_scenario(
    "  - ../specs/extra.yaml\n",
    "`../specs/extra.yaml` is a manifest file, not a scenario"
)]
#[case::both_forms(
    "  - {path: a.yaml, glob: '*.yaml'}\n",
    "scenarios[0]: give either `path` or `glob`, not both"
)]
#[case::unknown_key("  - {path: a.yaml, point: 2}\n", "scenarios[0]: unknown key `point`")]
fn suite_problems(#[case] items: &str, #[case] message: &str) {
    let files = tree();
    let suite = format!("name: broken\nscenarios:\n{items}");
    std::fs::write(files.path("suites/broken.yaml"), suite).unwrap();
    let err = load_suite(&files.path("suites/broken.yaml")).unwrap_err();
    let problem = err.problems()[0];
    assert_eq!(problem.message(), message);
    assert_eq!(problem.location().map(|at| at.line), Some(3));
}

#[rstest]
#[case::path_twice(
    "  - {path: ../specs/job/hello.yaml, points: 2}\n  - {path: ../specs/job/hello.yaml, points: 5}\n",
    "scenario `../specs/job/hello.yaml` is listed twice, first on line 3"
)]
#[case::other_spelling(
    "  - ../specs/job/hello.yaml\n  - ../specs/../specs/job/hello.yaml\n",
    "scenario `../specs/../specs/job/hello.yaml` is listed twice, first on line 3"
)]
#[case::glob_matches_listed_path(
    "  - {path: ../specs/daemonset/b.yaml, points: 2}\n  - {glob: \"../specs/daemonset/*.yaml\"}\n",
    "scenario `specs/daemonset/b.yaml` is listed twice, first on line 3"
)]
fn suite_scenario_listed_twice(#[case] items: &str, #[case] message: &str) {
    let files = tree();
    let suite = format!("name: twice\nscenarios:\n{items}");
    std::fs::write(files.path("suites/twice.yaml"), suite).unwrap();
    let err = load_suite(&files.path("suites/twice.yaml")).unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(files.redact(problems[0].message()), message);
    assert_eq!(problems[0].location().map(|at| at.line), Some(4));
}
