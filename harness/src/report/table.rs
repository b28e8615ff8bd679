//! The summary table printed at the end of a run, and the grade sheet for suites with points.

use std::fmt::Write;

use super::model::{ScenarioReport, Status};

/// A plain-text table of every scenario with its status, time and failure, followed by the
/// totals line.
pub fn summary_table(reports: &[ScenarioReport]) -> String {
    let name_width = reports
        .iter()
        .map(|report| report.name.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 70);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<7}  {:<name_width$}  {:>7}  detail",
        "status", "scenario", "time"
    );
    for report in reports {
        let detail = report
            .failure
            .as_deref()
            .and_then(|failure| failure.lines().next())
            .unwrap_or_default();
        let detail = truncate(detail, 100);
        let line = format!(
            "{:<7}  {:<name_width$}  {:>6.1}s  {detail}",
            report.status.label(),
            truncate(&report.name, name_width),
            report.seconds
        );
        let _ = writeln!(out, "{}", line.trim_end());
        for problem in &report.cleanup_errors {
            let _ = writeln!(
                out,
                "{:<7}  {:<name_width$}  {:>7}  cleanup: {problem}",
                "", "", ""
            );
        }
    }
    let _ = writeln!(out, "{}", totals_line(reports));
    out
}

/// `12 scenarios: 10 passed, 1 failed, 0 errored, 1 ignored`.
pub fn totals_line(reports: &[ScenarioReport]) -> String {
    let count = |status: Status| {
        reports
            .iter()
            .filter(|report| report.status == status)
            .count()
    };
    format!(
        "{}: {} passed, {} failed, {} errored, {} ignored",
        super::count_noun(reports.len(), "scenario", "scenarios"),
        count(Status::Passed),
        count(Status::Failed),
        count(Status::Errored),
        count(Status::Ignored)
    )
}

/// Points per scenario and in total, for the scenarios that carry points; `None` when none
/// do. Every scenario that did not pass gets the whole first line of its failure on the next
/// line. Ignored scenarios are listed as not graded and left out of the total.
pub fn grade_sheet(reports: &[ScenarioReport]) -> Option<String> {
    let with_points: Vec<&ScenarioReport> = reports
        .iter()
        .filter(|report| report.points.is_some())
        .collect();
    if with_points.is_empty() {
        return None;
    }
    let mut out = String::from("grade sheet\n");
    let mut earned_total: u64 = 0;
    let mut possible_total: u64 = 0;
    for report in &with_points {
        let points = report.points.unwrap_or_default();
        let earned = report.points_awarded();
        match report.points_possible() {
            Some(possible) => {
                earned_total += u64::from(earned);
                possible_total += u64::from(possible);
                let _ = writeln!(out, "  {earned:>3}/{possible:<3} {}", report.name);
            }
            None => {
                let unit = if points == 1 { "point" } else { "points" };
                let _ = writeln!(
                    out,
                    "  {:>3}/{:<3} {} (not graded, {points} {unit})",
                    "-", "-", report.name
                );
            }
        }
        let reason = report
            .failure
            .as_deref()
            .and_then(|failure| failure.lines().next())
            .map(str::trim_end)
            .unwrap_or_default();
        if report.status != Status::Passed && !reason.is_empty() {
            let _ = writeln!(out, "  {:<7} {reason}", "");
        }
    }
    let _ = writeln!(out, "  {earned_total:>3}/{possible_total:<3} total");
    Some(out)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::path::PathBuf;

    fn report(
        name: &str,
        status: Status,
        points: Option<u32>,
        failure: Option<&str>,
    ) -> ScenarioReport {
        let mut report =
            ScenarioReport::not_run(name, PathBuf::from("x.yaml"), status, String::new());
        report.failure = failure.map(str::to_owned);
        report.points = points;
        report.seconds = 1.5;
        report
    }

    #[test]
    fn summary_table_lists_each_scenario() {
        let reports = [
            report("job hello world", Status::Passed, None, None),
            report(
                "daemonset on every node",
                Status::Failed,
                None,
                Some("expected 4 pods\nmore"),
            ),
        ];
        insta::assert_snapshot!(summary_table(&reports), @r"
        status   scenario                    time  detail
        PASS     job hello world             1.5s
        FAIL     daemonset on every node     1.5s  expected 4 pods
        2 scenarios: 1 passed, 1 failed, 0 errored, 0 ignored
        ");
    }

    #[test]
    fn grade_sheet_awards_points_for_passes_only() {
        let reports = [
            report("a", Status::Passed, Some(2), None),
            report("b", Status::Failed, Some(3), Some("expected 3 pods")),
            report("c", Status::Passed, None, None),
        ];
        insta::assert_snapshot!(grade_sheet(&reports).unwrap(), @r"
        grade sheet
            2/2   a
            0/3   b
                  expected 3 pods
            2/5   total
        ");
    }

    #[test]
    fn grade_sheet_keeps_whole_reason() {
        let reason = "step 2 (expect placement of daemonset/log-agent): still failing after \
                      30s: expected 4 daemon pods, one per node, but node cp-0 has none \
                      because its taint node-role.kubernetes.io/control-plane:NoSchedule is \
                      not tolerated";
        let reports = [report(
            "daemonset on every node",
            Status::Failed,
            Some(4),
            Some(&format!("{reason}\nobserved pods: none")),
        )];
        let sheet = grade_sheet(&reports).unwrap();
        assert!(
            sheet.contains(&format!("\n          {reason}\n")),
            "{sheet}"
        );
        assert!(!sheet.contains("observed pods"), "{sheet}");
    }

    #[test]
    fn grade_sheet_ignored_not_graded() {
        let reports = [
            report("a", Status::Passed, Some(2), None),
            report(
                "b",
                Status::Ignored,
                Some(4),
                Some("the cluster lacks the capability `storage` that the scenario requires"),
            ),
        ];
        insta::assert_snapshot!(grade_sheet(&reports).unwrap(), @r"
        grade sheet
            2/2   a
            -/-   b (not graded, 4 points)
                  the cluster lacks the capability `storage` that the scenario requires
            2/2   total
        ");
    }

    #[test]
    fn grade_sheet_totals_exceed_u32() {
        let reports = [
            report("a", Status::Passed, Some(u32::MAX), None),
            report("b", Status::Passed, Some(u32::MAX), None),
        ];
        let sheet = grade_sheet(&reports).unwrap();
        assert!(sheet.contains("8589934590/8589934590 total"), "{sheet}");
    }

    #[rstest]
    #[case::one(1, "1 scenario: 1 passed")]
    #[case::two(2, "2 scenarios: 2 passed")]
    fn totals_line_counts_scenarios(#[case] count: usize, #[case] expected: &str) {
        let reports = vec![report("a", Status::Passed, None, None); count];
        assert!(
            totals_line(&reports).starts_with(expected),
            "{}",
            totals_line(&reports)
        );
    }

    #[test]
    fn grade_sheet_absent_without_points() {
        assert!(grade_sheet(&[report("a", Status::Passed, None, None)]).is_none());
    }
}
