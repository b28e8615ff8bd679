//! Waiting on the recording: until a check holds, or while it must (not) hold for a window.
//!
//! Every wait is driven by the recorder's change notifications, so it ends within
//! milliseconds of the change that satisfies it; nothing polls on a fixed interval.

use std::time::Duration;

use tokio::time::Instant;

use crate::assert;
use crate::dsl::Check;
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

/// Watches `check` for `window`: with [`Hold::Consistently`] it must hold in the state when
/// the window opens and after every recorded change, with [`Hold::Never`] in none of them.
/// Returns early at the first violation.
pub async fn hold(
    recorder: &Recorder,
    check: &Check,
    window: Duration,
    mode: Hold,
) -> Result<(), String> {
    let start = recorder.timeline().len();
    let deadline = Instant::now() + window;
    let mut changes = recorder.subscribe();
    loop {
        changes.borrow_and_update();
        judge_window(recorder, check, start, mode)?;
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Err("the recording stopped before the window ended".to_owned());
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    judge_window(recorder, check, start, mode)
}

/// Judges the states from `start` to the end of the recording.
fn judge_window(
    recorder: &Recorder,
    check: &Check,
    start: usize,
    mode: Hold,
) -> Result<(), String> {
    let timeline = recorder.timeline();
    let window = start..timeline.len();
    match mode {
        Hold::Consistently => assert::holds_throughout(check, &timeline, window),
        Hold::Never => assert::never_holds(check, &timeline, window),
    }
}
