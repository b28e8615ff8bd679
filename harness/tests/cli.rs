//! The `kspec` command line against the real local cluster `kspec` (started when needed):
//! exit codes, lint findings with file and line, reports, and cleanup on Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const KSPEC: &str = env!("CARGO_BIN_EXE_kspec");

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ is in the repository")
}

fn kspec(args: &[&str]) -> Output {
    kspec_in(repository(), args)
}

fn kspec_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(KSPEC)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("kspec runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Starts the local cluster once for the tests that need one, and returns its kubeconfig.
fn cluster() -> &'static Path {
    static KUBECONFIG: OnceLock<PathBuf> = OnceLock::new();
    KUBECONFIG.get_or_init(|| {
        let output = kspec(&["cluster", "up"]);
        assert!(
            output.status.success(),
            "kspec cluster up failed:\n{}",
            text(&output)
        );
        let printed = text(&output);
        let line = printed
            .lines()
            .find_map(|line| line.strip_prefix("kubeconfig: "))
            .unwrap_or_else(|| panic!("no kubeconfig line in:\n{printed}"));
        PathBuf::from(line.trim())
    })
}

fn write_scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("the temporary directory is writable");
    path
}

#[test]
fn lint_offline_reports_syntax_and_removed_api() {
    let output = kspec(&["lint", "--offline", "--short", "specs/manifests/as-written"]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(
            "as-written/job-hello-world.yaml:11:27: invalid YAML: did not find expected ',' or ']'"
        ),
        "{printed}"
    );
    assert!(
        printed.contains(
            "as-written/daemonset-example.yaml:21:9: invalid YAML: did not find expected key"
        ),
        "{printed}"
    );
    assert!(printed.contains("as-written/cronjob-example.yaml:1:13: CronJob in batch/v1beta1 was removed in Kubernetes 1.25"), "{printed}");
}

#[test]
fn lint_dry_run_reports_api_server_messages() {
    cluster();
    let output = kspec(&["lint", "--short", "specs/manifests/as-written"]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(printed.contains(r#"deployment-webserver.yaml:20:11: Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].ports[0].cotainerPort""#), "{printed}");
    assert!(printed.contains(r#"job-completions.yaml:7:3: Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.teamplate""#), "{printed}");
    assert!(
        printed.contains(r#"statefulset-volume.yaml:29:7: Unsupported value: "ReaWriteOnce""#),
        "{printed}"
    );
    assert!(printed.contains(r#"cronjob-example.yaml:4:3: with apiVersion batch/v1: Invalid value: "cronJob-example": a lowercase RFC 1123 subdomain"#), "{printed}");
}

#[test]
fn run_filter_matching_nothing_is_an_error() {
    let output = kspec(&[
        "run",
        "--filter",
        "no scenario has this name",
        "suites/smoke.yaml",
    ]);

    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("no scenario matches the filter"),
        "{}",
        text(&output)
    );
}

#[test]
fn run_missing_path_is_an_error() {
    let output = kspec(&["run", "specs/no-such-file.yaml"]);

    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("specs/no-such-file.yaml"),
        "{}",
        text(&output)
    );
}

#[test]
fn run_reports_invalid_file_and_runs_the_rest() {
    cluster();
    let dir = tempfile::tempdir().unwrap();
    write_scenario(
        dir.path(),
        "a-invalid.yaml",
        "name: invalid scenario\nsteps:\n  - wiat: {for: job/x, within: 1s}\n",
    );
    write_scenario(
        dir.path(),
        "b-valid.yaml",
        "name: cli valid scenario\nmanifests:\n  - inline: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}\nsteps:\n  - apply: all\n",
    );
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let output = kspec(&[
        "run",
        dir.path().to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(printed.contains("a-invalid.yaml:3:5"), "{printed}");
    assert!(printed.contains("did you mean `wait`?"), "{printed}");
    assert!(printed.contains("PASS     cli valid scenario"), "{printed}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["totals"]["passed"], 1);
    assert_eq!(report["totals"]["errored"], 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testcase name="cli valid scenario""#),
        "{xml}"
    );
    assert!(xml.contains("<error"), "{xml}");
}

/// Only unusable files: nothing runs, no cluster starts, and the reports replace the files of
/// an earlier run.
#[test]
fn run_nothing_usable_skips_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "invalid.yaml",
        "name: invalid scenario\nsteps:\n  - wiat: {for: job/x, within: 1s}\n",
    );
    let json = dir.path().join("report.json");
    std::fs::write(&json, "stale results").unwrap();
    let output = kspec(&[
        "run",
        "--cluster",
        "kspec-never-started",
        scenario.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(printed.contains("the cluster was not started"), "{printed}");
    assert!(!printed.contains("kspec-never-started"), "{printed}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["totals"]["errored"], 1);
}

/// A report file that cannot be written stops the run before any scenario or cluster starts.
#[test]
fn run_unwritable_report_fails_first() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    std::fs::write(&json, "stale results").unwrap();
    let junit = dir.path().join("missing-dir").join("junit.xml");
    let output = kspec(&[
        "run",
        "suites/smoke.yaml",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains("cannot write the --junit report"),
        "{printed}"
    );
    assert!(printed.contains("missing-dir/junit.xml"), "{printed}");
    assert!(!printed.contains("running"), "{printed}");
}

#[test]
fn run_same_report_file_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("out.xml");
    let json = dir.path().join(".").join("out.xml");
    let output = kspec(&[
        "run",
        "suites/smoke.yaml",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains("--junit and --json name the same file"),
        "{printed}"
    );
    assert!(printed.contains(json.to_str().unwrap()), "{printed}");
    assert!(!printed.contains("running"), "{printed}");
}

/// The summary table goes to stdout and progress to stderr, so `kspec run … > file` keeps
/// the results.
#[test]
fn run_prints_summary_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "invalid.yaml",
        "name: invalid scenario\nsteps:\n  - wiat: {for: job/x, within: 1s}\n",
    );
    let output = kspec(&[
        "run",
        "--cluster",
        "kspec-never-started",
        scenario.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        stdout.contains("1 scenario: 0 passed, 0 failed, 1 errored, 0 ignored"),
        "{stdout}"
    );
    assert!(!stderr.contains("1 scenario:"), "{stderr}");
    assert!(stderr.contains("the cluster was not started"), "{stderr}");
}

#[test]
fn run_wrong_expectation_exits_one_with_explanation() {
    cluster();
    let dir = tempfile::tempdir().unwrap();
    let manifest = repository().join("specs/manifests/job-completions.yaml");
    let scenario = write_scenario(
        dir.path(),
        "wrong.yaml",
        &format!(
            "name: cli wrong max running\nmanifests: [{}]\nsimulate:\n  job/job-completions: {{runFor: 1s}}\nsteps:\n  - apply: all\n  - wait: {{for: job/job-completions, condition: Complete, within: 90s}}\n  - expect-pods: {{owner: job/job-completions, maxRunning: 2}}\n",
            manifest.display()
        ),
    );
    let output = kspec(&["run", scenario.to_str().unwrap()]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(printed.contains("FAIL"), "{printed}");
    assert!(printed.contains("observed a maximum of 1"), "{printed}");
    assert!(printed.contains("job-completions-"), "{printed}");
}

#[test]
fn ctrl_c_cleans_up_the_namespace() {
    interrupt_cleans_up("INT", "cli interrupted scenario");
}

#[test]
fn sigterm_cleans_up_the_namespace() {
    interrupt_cleans_up("TERM", "cli terminated scenario");
}

/// Sends `signal` to a run in the middle of a scenario, which must clean up and exit 130.
fn interrupt_cleans_up(signal: &str, name: &str) {
    let kubeconfig = cluster();
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "long.yaml",
        &format!(
            "name: {name}\nmanifests:\n  - inline: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c}}, data: {{a: b}}}}\nsteps:\n  - apply: all\n  - sleep: 10m\n"
        ),
    );
    let mut child = spawn_run(&scenario);

    let part = name.replace(' ', "-");
    let namespaces = || list_namespaces(kubeconfig, &part);
    wait_until("the scenario's namespace appears", || {
        !namespaces().is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    send_signal(signal, &child);
    let status = child.wait().unwrap();

    assert_eq!(status.code(), Some(130));
    assert!(
        namespaces().is_empty(),
        "the namespace survived SIG{signal}"
    );
}

/// A run killed with SIGKILL cannot clean up; the next run restores the node it changed.
#[test]
fn killed_run_node_restored_next_run() {
    const LABEL: &str = "cli.kspec.dev/killed";
    let kubeconfig = cluster();
    let dir = tempfile::tempdir().unwrap();
    let changing = write_scenario(
        dir.path(),
        "label.yaml",
        &format!(
            "name: cli killed node change\nmanifests:\n  - inline: {{apiVersion: v1, kind: Node, metadata: {{name: cli-killed-node}}}}\nsteps:\n  - apply: all\n  - node: {{name: worker-2, labels: {{{LABEL}: \"yes\"}}}}\n  - sleep: 10m\n"
        ),
    );
    let mut child = spawn_run(&changing);
    wait_until("worker-2 gets the label", || {
        node_metadata(kubeconfig, "worker-2").0.contains_key(LABEL)
    });
    send_signal("KILL", &child);
    child.wait().unwrap();
    let (labels, annotations) = node_metadata(kubeconfig, "worker-2");
    assert!(
        labels.contains_key(LABEL),
        "the label went away with the process"
    );
    assert!(
        annotations.contains_key("kspec.dev/original"),
        "{annotations:?}"
    );

    let next = write_scenario(
        dir.path(),
        "next.yaml",
        "name: cli run after a killed run\nsteps:\n  - sleep: 1s\n",
    );
    // Tests run in parallel, so another test's run may be the one that cleans up; either
    // way it is done once this run has started.
    let output = kspec(&["run", next.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));

    let (labels, annotations) = node_metadata(kubeconfig, "worker-2");
    assert!(!labels.contains_key(LABEL), "{labels:?}");
    assert!(
        !annotations.contains_key("kspec.dev/original"),
        "{annotations:?}"
    );
    let added = block_on_client(kubeconfig, |client| async move {
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
        api.get_opt("cli-killed-node").await.unwrap()
    });
    let deleting = added.is_none_or(|node| node.metadata.deletion_timestamp.is_some());
    assert!(deleting, "the node the killed run added is still there");
}

/// Cleanup undoes a patch of an existing node. Deleting a node the scenario did not add is
/// rejected, because cleanup could not bring it back.
#[test]
fn node_patch_restored_delete_rejected() {
    const LABEL: &str = "cli.kspec.dev/patched";
    let kubeconfig = cluster();
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "patch.yaml",
        &format!(
            "name: cli node patch and delete\nsteps:\n  - patch: {{target: node/worker-1, merge: {{metadata: {{labels: {{{LABEL}: x}}}}, spec: {{unschedulable: true}}}}}}\n  - delete: {{target: node/worker-1}}\n"
        ),
    );
    let output = kspec(&["run", scenario.to_str().unwrap()]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(printed.contains("cannot delete node/worker-1"), "{printed}");
    let node = block_on_client(kubeconfig, |client| async move {
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
        api.get("worker-1").await.unwrap()
    });
    let labels = node.metadata.labels.unwrap_or_default();
    assert!(!labels.contains_key(LABEL), "{labels:?}");
    let unschedulable = node.spec.and_then(|spec| spec.unschedulable);
    assert_ne!(unschedulable, Some(true));
}

fn spawn_run(scenario: &Path) -> std::process::Child {
    Command::new(KSPEC)
        .args(["run", scenario.to_str().unwrap()])
        .current_dir(repository())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn send_signal(signal: &str, child: &std::process::Child) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

type Metadata = std::collections::BTreeMap<String, String>;

/// Labels and annotations of a node, read with kube-rs from the cluster.
fn node_metadata(kubeconfig: &Path, node: &str) -> (Metadata, Metadata) {
    let node = block_on_client(kubeconfig, |client| async move {
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
        api.get(node).await.unwrap()
    });
    (
        node.metadata.labels.unwrap_or_default(),
        node.metadata.annotations.unwrap_or_default(),
    )
}

fn block_on_client<F, T>(kubeconfig: &Path, body: impl FnOnce(kube::Client) -> F) -> T
where
    F: std::future::Future<Output = T>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(kubeconfig).unwrap(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        body(kube::Client::try_from(config).unwrap()).await
    })
}

/// Names of namespaces whose name contains `part`, read with kube-rs from the cluster.
fn list_namespaces(kubeconfig: &Path, part: &str) -> Vec<String> {
    block_on_client(kubeconfig, |client| async move {
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        api.list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|namespace| namespace.metadata.name)
            .filter(|name| name.contains(part))
            .collect()
    })
}

#[test]
fn lint_counts_file_once_across_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    write_scenario(
        &dir.path().join("broken"),
        "old.yaml",
        "name: old api\nmanifests: [../manifests/old.yaml]\nsteps:\n  - apply: all\n",
    );
    write_scenario(
        &dir.path().join("manifests"),
        "old.yaml",
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: old}\n",
    );
    let output = kspec(&["lint", "--offline", "--short", dir.path().to_str().unwrap()]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert_eq!(
        printed.matches("was removed in Kubernetes").count(),
        1,
        "{printed}"
    );
    assert!(
        printed.contains("broken/../manifests/old.yaml:1:13: CronJob in batch/v1beta1"),
        "{printed}"
    );
    assert!(
        printed.contains("1 problem (1 error) in 1 of 2 files"),
        "{printed}"
    );
}

#[test]
fn no_paths_outside_checkout_names_defaults() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["run"][..], &["lint", "--offline"][..]] {
        let output = Command::new(KSPEC)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("kspec runs");
        // The hint wraps at a width that depends on the directory's name.
        let printed = text(&output)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");

        assert_eq!(output.status.code(), Some(2), "{printed}");
        assert!(printed.contains("failed to read suites"), "{printed}");
        assert!(
            printed.contains("`kspec run` reads suites/ and `kspec lint` reads suites/ and specs/"),
            "{printed}"
        );
        assert!(
            printed.contains("Pass scenario, suite or directory paths"),
            "{printed}"
        );
    }
}

#[test]
fn lint_help_describes_cluster_checks() {
    let lint = text(&kspec(&["lint", "--help"]));
    let run = text(&kspec(&["run", "--help"]));

    assert!(!lint.contains("started when it does not run"), "{lint}");
    assert!(lint.contains("Lint never starts"), "{lint}");
    assert!(run.contains("started when it does not run"), "{run}");
}

#[test]
fn run_missing_kubeconfig_reads_once() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "s.yaml", "name: x\nsteps:\n  - sleep: 1s\n");
    let output = kspec(&[
        "run",
        "--kubeconfig",
        "/nonexistent/kc",
        scenario.to_str().unwrap(),
    ]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains(
            "read the kubeconfig /nonexistent/kc: No such file or directory (os error 2)"
        ),
        "{printed}"
    );
    assert_eq!(printed.matches("os error 2").count(), 1, "{printed}");
}

#[test]
fn lint_missing_manifest_names_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_scenario(
        dir.path(),
        "s.yaml",
        "name: x\nmanifests: [nope.yaml]\nsteps: []\n",
    );
    let output = kspec_in(dir.path(), &["lint", "--offline", "s.yaml"]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("paths are relative to the scenario's directory, here ."),
        "{printed}"
    );

    write_scenario(
        dir.path(),
        "suite.yaml",
        "name: s\nscenarios: [nope.yaml]\n",
    );
    let output = kspec_in(dir.path(), &["lint", "--offline", "suite.yaml"]);
    let printed = text(&output);

    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains("paths are relative to the suite's directory, here ."),
        "{printed}"
    );
}
