//! Waiting on the recording: until a check holds, or while it must (not) hold for a window.
//!
//! Every wait is driven by the recorder's change notifications, so it ends within
//! milliseconds of the change that satisfies it; nothing polls on a fixed interval.

use std::time::Duration;

use tokio::time::Instant;

use crate::assert;
use crate::dsl::Check;
use crate::recorder::timeline::Cursor;
use crate::recorder::watch::Recorder;

/// How long the end of a window waits for the watches to catch up with the cluster.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(5);

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
    let start = recorder.timeline().cursor();
    let deadline = Instant::now() + window;
    let mut changes = recorder.subscribe();
    loop {
        changes.borrow_and_update();
        judge_window(recorder, check, start, None, mode)?;
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Err("the recording stopped before the window ended".to_owned());
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    // Changes from before the deadline may still be on their way from other watches.
    let end = recorder.timeline().cursor();
    recorder.catch_up(CATCH_UP_TIMEOUT).await;
    judge_window(recorder, check, start, Some(end), mode)
}

/// Judges the states after `start` up to `end` (default: the end of the recording).
fn judge_window(
    recorder: &Recorder,
    check: &Check,
    start: Cursor,
    end: Option<Cursor>,
    mode: Hold,
) -> Result<(), String> {
    let timeline = recorder.timeline();
    let window =
        timeline.position_of(start)..end.map_or(timeline.len(), |end| timeline.position_of(end));
    match mode {
        Hold::Consistently => assert::holds_throughout(check, &timeline, window),
        Hold::Never => assert::never_holds(check, &timeline, window),
    }
}
