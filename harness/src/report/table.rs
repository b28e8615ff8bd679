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
        "{} scenarios: {} passed, {} failed, {} errored, {} ignored",
        reports.len(),
        count(Status::Passed),
        count(Status::Failed),
        count(Status::Errored),
        count(Status::Ignored)
    )
}

/// Points per suite and in total, for the scenarios that carry points; `None` when none do.
pub fn grade_sheet(reports: &[ScenarioReport]) -> Option<String> {
    let graded: Vec<&ScenarioReport> = reports
        .iter()
        .filter(|report| report.points.is_some())
        .collect();
    if graded.is_empty() {
        return None;
    }
    let mut out = String::from("grade sheet\n");
    let mut earned_total = 0;
    let mut possible_total = 0;
    for report in &graded {
        let possible = report.points.unwrap_or_default();
        let earned = report.points_awarded();
        earned_total += earned;
        possible_total += possible;
        let reason = match report.status {
            Status::Passed => String::new(),
            _ => format!(
                "  ({})",
                report
                    .failure
                    .as_deref()
                    .and_then(|failure| failure.lines().next())
                    .map(|line| truncate(line, 90))
                    .unwrap_or_default()
            ),
        };
        let _ = writeln!(out, "  {earned:>3}/{possible:<3} {}{reason}", report.name);
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
            0/3   b  (expected 3 pods)
            2/5   total
        ");
    }

    #[test]
    fn grade_sheet_absent_without_points() {
        assert!(grade_sheet(&[report("a", Status::Passed, None, None)]).is_none());
    }
}
