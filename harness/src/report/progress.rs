//! Live progress of running scenarios.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::model::ScenarioReport;

/// Receives progress events from the runner; implementations must be cheap, the runner calls
/// them from its tasks.
pub trait Progress: Send + Sync {
    fn started(&self, scenario: &str);
    fn step(&self, scenario: &str, index: usize, total: usize, label: &str);
    fn finished(&self, report: &ScenarioReport);
}

/// Lines of a failure shown on the terminal; the report files keep the whole text.
const FAILURE_LINES: usize = 25;

/// Indents the failure under its scenario's line and cuts it after [`FAILURE_LINES`] lines,
/// with a note on where the rest is.
fn indented_failure(failure: &str) -> String {
    let lines: Vec<&str> = failure.lines().collect();
    let mut text = String::new();
    for line in lines.iter().take(FAILURE_LINES) {
        text.push_str("\n        ");
        text.push_str(line);
    }
    if lines.len() > FAILURE_LINES {
        text.push_str(&format!(
            "\n        … {} more lines in the --json and --junit reports",
            lines.len() - FAILURE_LINES
        ));
    }
    text
}

/// Discards progress; for `cargo test`, where libtest prints results.
pub struct Silent;

impl Progress for Silent {
    fn started(&self, _: &str) {}
    fn step(&self, _: &str, _: usize, _: usize, _: &str) {}
    fn finished(&self, _: &ScenarioReport) {}
}

/// A spinner per running scenario on a terminal, and one line per finished scenario. Without
/// a terminal (CI logs), it prints one line when a scenario starts and one when it ends.
pub struct Terminal {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    interactive: bool,
}

impl Terminal {
    pub fn new() -> Self {
        let interactive = std::io::stderr().is_terminal();
        let target = if interactive {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
            interactive,
        }
    }

    fn print(&self, line: &str) {
        if self.interactive {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for Terminal {
    fn started(&self, scenario: &str) {
        if !self.interactive {
            self.print(&format!("START {scenario}"));
            return;
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {elapsed:>4} {wide_msg}")
                .expect("valid template"),
        );
        bar.set_prefix(scenario.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(scenario.to_owned(), bar);
    }

    fn step(&self, scenario: &str, index: usize, total: usize, label: &str) {
        let bars = self
            .bars
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bar) = bars.get(scenario) {
            bar.set_message(format!("[{index}/{total}] {label}"));
        }
    }

    fn finished(&self, report: &ScenarioReport) {
        let bar = self
            .bars
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&report.name);
        if let Some(bar) = bar {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        let mut line = format!(
            "{:<7} {} ({:.1}s)",
            report.status.label(),
            report.name,
            report.seconds
        );
        if let Some(failure) = &report.failure {
            line.push_str(&indented_failure(failure));
        }
        for problem in &report.cleanup_errors {
            line.push_str(&format!("\n        cleanup: {problem}"));
        }
        self.print(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_failure_shown_whole() {
        let text = indented_failure("step 3 timed out\nlast state:\n  phase: Pending");
        assert_eq!(
            text,
            "\n        step 3 timed out\n        last state:\n          phase: Pending"
        );
    }

    #[test]
    fn long_failure_cut_with_note() {
        let failure: Vec<String> = (1..=30).map(|n| format!("line {n}")).collect();
        let text = indented_failure(&failure.join("\n"));
        assert_eq!(text.lines().count(), 27);
        assert!(text.contains("line 25"), "{text}");
        assert!(!text.contains("line 26"), "{text}");
        assert!(
            text.ends_with("… 5 more lines in the --json and --junit reports"),
            "{text}"
        );
    }
}
