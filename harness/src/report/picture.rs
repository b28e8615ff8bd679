//! The timeline picture: an SVG with one row per pod and bars over time, which shows at a
//! glance whether pods ran one after another or side by side.

use std::fmt::Write;

use super::model::{PodBar, ScenarioReport};

const ROW_HEIGHT: f64 = 18.0;
const LABEL_WIDTH: f64 = 260.0;
const PLOT_WIDTH: f64 = 640.0;
const MARGIN: f64 = 10.0;

/// Renders the pod bars of a scenario as a standalone SVG document. Grey is Pending, blue is
/// Running, and a bar ends in green (Succeeded), red (Failed) or dark grey (deleted).
pub fn svg(report: &ScenarioReport) -> String {
    let bars = &report.pod_bars;
    let end = bars
        .iter()
        .flat_map(|bar| [Some(bar.created), bar.running, bar.finished])
        .flatten()
        .fold(report.seconds.max(1.0), f64::max);
    let scale = PLOT_WIDTH / end;
    let height = MARGIN * 2.0 + ROW_HEIGHT * (bars.len() as f64 + 2.0);
    let width = LABEL_WIDTH + PLOT_WIDTH + MARGIN * 2.0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{MARGIN}" y="{}">{}</text>"#,
        MARGIN + 11.0,
        escape(&format!(
            "{} ({:.1}s, {})",
            report.name,
            report.seconds,
            report.status.label()
        ))
    );
    for (row, bar) in bars.iter().enumerate() {
        let y = MARGIN + ROW_HEIGHT * (row as f64 + 1.0);
        let label = match &bar.node {
            Some(node) => format!("{} @{node}", bar.name),
            None => bar.name.clone(),
        };
        let _ = writeln!(
            out,
            r#"<text x="{MARGIN}" y="{}">{}</text>"#,
            y + 12.0,
            escape(&label)
        );
        for (from, to, colour) in segments(bar, end) {
            let _ = writeln!(
                out,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}</title></rect>"##,
                LABEL_WIDTH + from * scale,
                y + 3.0,
                ((to - from) * scale).max(1.0),
                ROW_HEIGHT - 6.0,
                escape(&format!("{}: {:.1}s to {:.1}s", bar.name, from, to))
            );
        }
    }
    let axis_y = MARGIN + ROW_HEIGHT * (bars.len() as f64 + 1.0) + 12.0;
    let _ = writeln!(out, r#"<text x="{LABEL_WIDTH}" y="{axis_y}">0s</text>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{axis_y}" text-anchor="end">{end:.0}s</text>"#,
        LABEL_WIDTH + PLOT_WIDTH
    );
    out.push_str("</svg>\n");
    out
}

/// The coloured spans of one pod: Pending until Running, Running until finished, and a short
/// end mark in the colour of the outcome.
fn segments(bar: &PodBar, end: f64) -> Vec<(f64, f64, &'static str)> {
    let finished = bar.finished.unwrap_or(end);
    let mut spans = Vec::new();
    let running = bar.running.unwrap_or(finished);
    spans.push((bar.created, running, "#b0b0b0"));
    if bar.running.is_some() {
        spans.push((running, finished, "#3b7dd8"));
    }
    let outcome = match bar.outcome.as_str() {
        "Succeeded" => Some("#2e9e44"),
        "Failed" => Some("#d23c3c"),
        "Deleted" => Some("#555555"),
        _ => None,
    };
    if let (Some(colour), Some(finished)) = (outcome, bar.finished) {
        spans.push((finished, finished + end / 200.0, colour));
    }
    spans
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Status;
    use std::path::PathBuf;

    #[test]
    fn svg_draws_one_row_per_pod() {
        let mut report = ScenarioReport::not_run(
            "job <sequential>",
            PathBuf::new(),
            Status::Passed,
            String::new(),
        );
        report.seconds = 10.0;
        report.pod_bars = vec![
            PodBar {
                name: "a".into(),
                node: Some("worker-0".into()),
                created: 0.0,
                running: Some(1.0),
                finished: Some(3.0),
                outcome: "Succeeded".into(),
            },
            PodBar {
                name: "b".into(),
                node: None,
                created: 3.0,
                running: None,
                finished: None,
                outcome: "Pending".into(),
            },
        ];
        let svg = svg(&report);
        assert!(svg.contains("job &lt;sequential&gt;"), "{svg}");
        assert!(svg.contains(">a @worker-0</text>"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 4, "{svg}");
    }
}
