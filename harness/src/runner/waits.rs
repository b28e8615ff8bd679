//! Waiting on the recording: until a check holds, or while it must (not) hold for a window.
//!
//! Every wait is driven by the recorder's change notifications, so it ends within
//! milliseconds of the change that satisfies it; nothing polls on a fixed interval.

use std::time::Duration;

use tokio::time::Instant;

use crate::assert;
use crate::dsl::Check;
use crate::recorder::timeline::Timeline;
use crate::recorder::watch::Recorder;

/// How a wait ended.
pub enum WaitResult {
    Held,
    /// The check did not hold within the time limit; the reason it does not hold now.
    TimedOut(String),
}

/// Waits until `check` holds on the latest recorded state, for at most `within`.
pub async fn wait_until(recorder: &Recorder, check: &Check, within: Duration) -> WaitResult {
    let deadline = Instant::now() + within;
    let mut changes = recorder.subscribe();
    loop {
        // Mark the current notification as seen before evaluating, so a change that arrives
        // during the evaluation wakes the next iteration.
        changes.borrow_and_update();
        let verdict = {
            let timeline = recorder.timeline();
            assert::check_latest(check, &timeline)
        };
        let reason = match verdict {
            Ok(()) => return WaitResult::Held,
            Err(reason) => reason,
        };
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return WaitResult::TimedOut(format!("{reason} (the recording stopped)"));
                }
            }
            () = tokio::time::sleep_until(deadline) => return WaitResult::TimedOut(reason),
        }
    }
}

/// Whether a hold step requires the check to hold throughout or never to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    Consistently,
    Never,
}

/// Watches `check` for `window`: with [`Hold::Consistently`] it must hold at every recorded
/// change, with [`Hold::Never`] at none. Returns early at the first violation.
pub async fn hold(
    recorder: &Recorder,
    check: &Check,
    window: Duration,
    mode: Hold,
) -> Result<(), String> {
    let start = recorder.timeline().len();
    let deadline = Instant::now() + window;
    let mut changes = recorder.subscribe();
    let mut judged = start.saturating_sub(1);
    loop {
        changes.borrow_and_update();
        {
            let timeline = recorder.timeline();
            if let Some(violation) = first_violation(check, &timeline, judged, mode) {
                return Err(violation);
            }
            judged = timeline.len().saturating_sub(1).max(judged);
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Err("the recording stopped before the window ended".to_owned());
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let timeline = recorder.timeline();
    first_violation(check, &timeline, judged, mode).map_or(Ok(()), Err)
}

/// Evaluates the check at every position from `from` to the end of the timeline.
fn first_violation(check: &Check, timeline: &Timeline, from: usize, mode: Hold) -> Option<String> {
    if timeline.is_empty() {
        return match (mode, assert::check_at(check, timeline, None)) {
            (Hold::Consistently, Err(reason)) => Some(reason),
            (Hold::Never, Ok(())) => Some("the check held before any change was recorded".into()),
            _ => None,
        };
    }
    for position in from..timeline.len() {
        let verdict = assert::check_at(check, timeline, Some(position));
        match (mode, verdict) {
            (Hold::Consistently, Err(reason)) => {
                return Some(format!(
                    "{reason} (at {})",
                    describe_position(timeline, position)
                ));
            }
            (Hold::Never, Ok(())) => {
                return Some(format!(
                    "the check held at {}, which it must never do",
                    describe_position(timeline, position)
                ));
            }
            _ => {}
        }
    }
    None
}

/// The change at a position, as `kind/name (Modified)`.
fn describe_position(timeline: &Timeline, position: usize) -> String {
    let change = &timeline.changes()[position];
    format!(
        "the change to {}/{} ({:?})",
        change.kind.to_lowercase(),
        change.name(),
        change.change
    )
}
