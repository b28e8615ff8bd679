//! Machine-readable outputs: JUnit XML for CI systems and JSON for everything else.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::model::{ScenarioReport, Status};

/// JUnit XML: one test suite per kspec suite (scenarios given directly form the suite
/// `scenarios`), one test case per scenario. Failures carry the first line as the message and
/// the whole explanation as the description; cleanup problems go to system-err.
pub fn junit(reports: &[ScenarioReport]) -> Result<String, quick_junit::SerializeError> {
    let mut suites: BTreeMap<&str, Vec<&ScenarioReport>> = BTreeMap::new();
    for report in reports {
        suites
            .entry(report.suite.as_deref().unwrap_or("scenarios"))
            .or_default()
            .push(report);
    }

    let mut junit = Report::new("kspec");
    for (suite_name, members) in suites {
        let mut suite = TestSuite::new(suite_name);
        for report in members {
            let mut status = match report.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Status::Errored => TestCaseStatus::non_success(NonSuccessKind::Error),
                Status::Ignored => TestCaseStatus::skipped(),
            };
            if let Some(failure) = &report.failure {
                status.set_message(failure.lines().next().unwrap_or_default());
                status.set_description(failure.as_str());
            }
            let mut case = TestCase::new(report.name.as_str(), status);
            case.set_classname(report.file.display().to_string());
            case.set_time(Duration::from_secs_f64(report.seconds));
            if !report.cleanup_errors.is_empty() {
                case.set_system_err(report.cleanup_errors.join("\n"));
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

#[derive(Serialize)]
struct JsonReport<'a> {
    backend: &'a str,
    totals: Totals,
    scenarios: Vec<JsonScenario<'a>>,
}

/// A scenario's report with the points it earned.
#[derive(Serialize)]
struct JsonScenario<'a> {
    #[serde(flatten)]
    report: &'a ScenarioReport,
    /// Absent when the scenario carries no points or was ignored, which leaves it ungraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    points_awarded: Option<u32>,
}

#[derive(Serialize)]
struct Totals {
    scenarios: usize,
    passed: usize,
    failed: usize,
    errored: usize,
    ignored: usize,
    /// Sums in u64, because the u32 points of two scenarios can overflow a u32.
    points_awarded: u64,
    /// The points of every scenario except ignored ones.
    points_possible: u64,
}

/// The whole run as JSON: totals (with points) and every scenario with its steps and facts.
pub fn json(backend: &str, reports: &[ScenarioReport]) -> String {
    let count = |status: Status| {
        reports
            .iter()
            .filter(|report| report.status == status)
            .count()
    };
    let totals = Totals {
        scenarios: reports.len(),
        passed: count(Status::Passed),
        failed: count(Status::Failed),
        errored: count(Status::Errored),
        ignored: count(Status::Ignored),
        points_awarded: reports
            .iter()
            .map(|report| u64::from(report.points_awarded()))
            .sum(),
        points_possible: reports
            .iter()
            .filter_map(ScenarioReport::points_possible)
            .map(u64::from)
            .sum(),
    };
    let scenarios = reports
        .iter()
        .map(|report| JsonScenario {
            report,
            points_awarded: report.points_possible().map(|_| report.points_awarded()),
        })
        .collect();
    let report = JsonReport {
        backend,
        totals,
        scenarios,
    };
    serde_json::to_string_pretty(&report).expect("reports serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn junit_marks_failures_and_errors() {
        let mut failed = ScenarioReport::not_run(
            "job max active",
            PathBuf::from("specs/job/max.yaml"),
            Status::Failed,
            "expected at most 2 active pods\nobserved 3".to_owned(),
        );
        failed.suite = Some("workloads".to_owned());
        let passed = ScenarioReport {
            failure: None,
            ..ScenarioReport::not_run(
                "job hello",
                PathBuf::from("specs/job/hello.yaml"),
                Status::Passed,
                String::new(),
            )
        };
        let xml = junit(&[failed, passed]).unwrap();
        assert!(
            xml.contains(
                r#"<testsuite name="workloads" tests="1" skipped="0" errors="0" failures="1">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="expected at most 2 active pods""#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<testsuite name="scenarios" tests="1" skipped="0" errors="0" failures="0">"#
            ),
            "{xml}"
        );
    }

    #[test]
    fn json_totals_count_points() {
        let mut passed =
            ScenarioReport::not_run("a", PathBuf::from("a.yaml"), Status::Passed, String::new());
        passed.failure = None;
        passed.points = Some(3);
        let mut failed =
            ScenarioReport::not_run("b", PathBuf::from("b.yaml"), Status::Failed, "x".to_owned());
        failed.points = Some(2);
        let text = json("local cluster", &[passed, failed]);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["totals"]["points_awarded"], 3);
        assert_eq!(value["totals"]["points_possible"], 5);
        assert_eq!(value["totals"]["failed"], 1);
        assert_eq!(value["scenarios"][0]["points_awarded"], 3);
        assert_eq!(value["scenarios"][1]["points_awarded"], 0);
        assert_eq!(value["scenarios"][1]["points"], 2);
    }

    #[test]
    fn json_totals_exceed_u32() {
        let reports: Vec<ScenarioReport> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let mut report = ScenarioReport::not_run(
                    name,
                    PathBuf::from("a.yaml"),
                    Status::Passed,
                    String::new(),
                );
                report.points = Some(u32::MAX);
                report
            })
            .collect();
        let value: serde_json::Value = serde_json::from_str(&json("x", &reports)).unwrap();
        assert_eq!(value["totals"]["points_awarded"], 2 * u64::from(u32::MAX));
        assert_eq!(value["totals"]["points_possible"], 2 * u64::from(u32::MAX));
    }

    #[test]
    fn json_ignored_scenario_not_graded() {
        let mut passed =
            ScenarioReport::not_run("a", PathBuf::from("a.yaml"), Status::Passed, String::new());
        passed.points = Some(3);
        let mut ignored = ScenarioReport::not_run(
            "b",
            PathBuf::from("b.yaml"),
            Status::Ignored,
            "the cluster lacks the capability `storage`".to_owned(),
        );
        ignored.points = Some(4);
        let value: serde_json::Value =
            serde_json::from_str(&json("x", &[passed, ignored])).unwrap();
        assert_eq!(value["totals"]["points_awarded"], 3);
        assert_eq!(value["totals"]["points_possible"], 3);
        assert_eq!(value["scenarios"][1]["points"], 4);
        assert!(
            value["scenarios"][1].get("points_awarded").is_none(),
            "{value}"
        );
    }
}
