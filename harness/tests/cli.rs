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
    Command::new(KSPEC)
        .args(args)
        .current_dir(repository())
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
    let kubeconfig = cluster();
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "long.yaml",
        "name: cli interrupted scenario\nmanifests:\n  - inline: {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}\nsteps:\n  - apply: all\n  - sleep: 10m\n",
    );
    let mut child = Command::new(KSPEC)
        .args(["run", scenario.to_str().unwrap()])
        .current_dir(repository())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let namespaces = || list_namespaces(kubeconfig, "cli-interrupted-scenario");
    let deadline = Instant::now() + Duration::from_secs(60);
    while namespaces().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the scenario's namespace never appeared"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();

    assert_eq!(status.code(), Some(130));
    assert!(namespaces().is_empty(), "the namespace survived Ctrl-C");
}

/// Names of namespaces whose name contains `part`, read with kube-rs from the cluster.
fn list_namespaces(kubeconfig: &Path, part: &str) -> Vec<String> {
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
        let client = kube::Client::try_from(config).unwrap();
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
