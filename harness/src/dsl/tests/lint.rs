use rstest::rstest;

use super::syntax::DAEMONSET_INDENTED_KEY;
use super::{Files, JOB};
use crate::dsl::{Variables, lint_file};

fn lint(name: &str, files: &Files) -> Vec<(usize, String, Option<String>)> {
    lint_file(&files.path(name), &Variables::new())
        .iter()
        .map(|problem| {
            let line = problem.location().map_or(0, |at| at.line);
            (
                line,
                problem.message().to_owned(),
                problem.help_text().map(str::to_owned),
            )
        })
        .collect()
}

fn manifest(api_version: &str, kind: &str) -> String {
    format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: example\n")
}

#[rstest]
#[case::cronjob_beta(
    "batch/v1beta1",
    "CronJob",
    "CronJob in batch/v1beta1 was removed in Kubernetes 1.25",
    "use `apiVersion: batch/v1`"
)]
#[case::daemonset_extensions(
    "extensions/v1beta1",
    "DaemonSet",
    "DaemonSet in extensions/v1beta1 was removed in Kubernetes 1.16",
    "use `apiVersion: apps/v1`"
)]
#[case::deployment_apps_beta(
    "apps/v1beta1",
    "Deployment",
    "Deployment in apps/v1beta1 was removed in Kubernetes 1.16",
    "use `apiVersion: apps/v1`"
)]
#[case::statefulset_apps_beta2(
    "apps/v1beta2",
    "StatefulSet",
    "StatefulSet in apps/v1beta2 was removed in Kubernetes 1.16",
    "use `apiVersion: apps/v1`"
)]
#[case::pdb_beta(
    "policy/v1beta1",
    "PodDisruptionBudget",
    "PodDisruptionBudget in policy/v1beta1 was removed in Kubernetes 1.25",
    "use `apiVersion: policy/v1`"
)]
#[case::psp(
    "policy/v1beta1",
    "PodSecurityPolicy",
    "PodSecurityPolicy in policy/v1beta1 was removed in Kubernetes 1.25",
    "Kubernetes no longer has PodSecurityPolicy"
)]
#[case::misspelt_group(
    "appgs/v1",
    "DaemonSet",
    "DaemonSet is not served in `appgs/v1`",
    "use `apiVersion: apps/v1`"
)]
#[case::core_deployment(
    "v1",
    "Deployment",
    "Deployment is not served in `v1`",
    "use `apiVersion: apps/v1`"
)]
#[case::unknown_kind(
    "apps/v1",
    "Deploymnet",
    "apps/v1 has no kind `Deploymnet`",
    "did you mean `Deployment`?"
)]
fn api_versions_no_server_serves(
    #[case] api_version: &str,
    #[case] kind: &str,
    #[case] message: &str,
    #[case] hint: &str,
) {
    let files = Files::new(&[("m.yaml", &manifest(api_version, kind))]);
    let found = lint("m.yaml", &files);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1.as_str()), (1, message));
    assert!(
        found[0].2.as_deref().unwrap_or_default().starts_with(hint),
        "{:?}",
        found[0].2
    );
}

#[rstest]
#[case::job("batch/v1", "Job")]
#[case::custom_resource("example.com/v1", "DaemonSet")]
#[case::ingress("networking.k8s.io/v1", "Ingress")]
fn served_api_versions_pass(#[case] api_version: &str, #[case] kind: &str) {
    let files = Files::new(&[("m.yaml", &manifest(api_version, kind))]);
    assert_eq!(lint("m.yaml", &files), []);
}

#[test]
fn daemonset_as_written_reports_syntax_error() {
    let files = Files::new(&[("ds.yaml", DAEMONSET_INDENTED_KEY)]);
    let found = lint("ds.yaml", &files);
    let lines: Vec<(usize, &str)> = found
        .iter()
        .map(|(line, message, _)| (*line, message.as_str()))
        .collect();
    assert_eq!(lines, [(21, "invalid YAML: did not find expected key")]);
}

#[test]
fn scenario_lint_covers_its_manifest_files() {
    let manifests = format!("{JOB}---\n{}", manifest("batch/v1beta1", "CronJob"));
    let files = Files::new(&[
        (
            "s.yaml",
            "name: x\nmanifests: [m.yaml]\nsteps:\n  - apply: all\n  - wiat: {}\n",
        ),
        ("m.yaml", &manifests),
    ]);
    let found = lint_file(&files.path("s.yaml"), &Variables::new());
    let summary: Vec<String> = found
        .iter()
        .map(|problem| files.redact(&problem.to_line()))
        .collect();
    assert_eq!(
        summary,
        [
            "m.yaml:14:13: CronJob in batch/v1beta1 was removed in Kubernetes 1.25",
            "s.yaml:5:5: steps[1]: unknown step `wiat`",
        ]
    );
}

#[test]
fn manifests_expected_to_be_rejected_are_not_linted() {
    let files = Files::new(&[
        (
            "s.yaml",
            "name: x\nmanifests: [m.yaml]\nsteps:\n  - expect-rejected: {apply: [cronjob/example], message: 'no matches'}\n",
        ),
        ("m.yaml", &manifest("batch/v1beta1", "CronJob")),
    ]);
    assert_eq!(lint("s.yaml", &files), []);
}

#[test]
fn suite_lint_reports_its_problems() {
    let files = Files::new(&[("suite.yaml", "name: s\nscenarios:\n  - missing.yaml\n")]);
    let found = lint("suite.yaml", &files);
    assert_eq!(
        (found[0].0, found[0].1.as_str()),
        (3, "scenario file `missing.yaml` not found")
    );
}

const STATEFULSET: &str = "\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: statefulset-example
spec:
  serviceName: statefulset-example
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ['ReaWriteOnce']
      resources:
        requests:
          storage: 1Gi
";

const DEPLOYMENT: &str = "\
# kubectl apply -f deployment.yaml
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deployment-nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: my-nginx
  template:
    metadata:
      labels:
        app: my-nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.10
        ports:
        - cotainerPort: 80
";

/// Mistakes only the API server can tell (an invalid access mode, an unknown field) load as
/// written, and their fields can be located for the server's messages.
#[test]
fn as_written_manifests_load() {
    let files = Files::new(&[("sts.yaml", STATEFULSET), ("deploy.yaml", DEPLOYMENT)]);
    assert_eq!(lint("sts.yaml", &files), []);
    assert_eq!(lint("deploy.yaml", &files), []);

    let scenario = "name: x\nmanifests: [sts.yaml, deploy.yaml]\nsteps:\n  - apply: all\n";
    std::fs::write(files.path("s.yaml"), scenario).unwrap();
    let loaded = crate::dsl::load_scenario(&files.path("s.yaml"), &Variables::new()).unwrap();
    let [sts, deployment] = loaded.manifests() else {
        panic!()
    };
    assert_eq!(
        sts.value["spec"]["volumeClaimTemplates"][0]["spec"]["accessModes"][0],
        "ReaWriteOnce"
    );
    assert_eq!(deployment.origin.document, 1);
    assert_eq!(deployment.origin.line, 3);
    let field = deployment.locate(".spec.template.spec.containers[0].ports[0].cotainerPort");
    assert_eq!(field.map(|at| (at.line, at.column)), Some((21, 11)));
}
