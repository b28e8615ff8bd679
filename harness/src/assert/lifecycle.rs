//! Lifetimes of object incarnations over timeline positions: when a property held, and how
//! many incarnations it held for at once.

use std::collections::BTreeSet;

use serde_json::Value;

use super::objects::{is_terminating, phase};
use crate::recorder::timeline::{ChangeKind, ObjectHistory};

/// Positions at which a property held for one incarnation: from `start` up to, but not
/// including, `end`. `end` is `None` when it still held at the end of the recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interval {
    pub start: usize,
    pub end: Option<usize>,
}

impl Interval {
    pub(crate) fn contains(&self, position: usize) -> bool {
        position >= self.start && self.end.is_none_or(|end| position < end)
    }
}

/// Finds the maximal intervals in which the incarnation exists and `predicate` is true of its
/// state.
pub(crate) fn intervals_where(
    history: &ObjectHistory<'_>,
    predicate: impl Fn(&Value) -> bool,
) -> Vec<Interval> {
    let mut intervals = Vec::new();
    let mut open: Option<usize> = None;
    for (position, change) in &history.changes {
        let holds = change.change != ChangeKind::Deleted && predicate(&change.object);
        match (open, holds) {
            (None, true) => open = Some(*position),
            (Some(start), false) => {
                intervals.push(Interval {
                    start,
                    end: Some(*position),
                });
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        intervals.push(Interval { start, end: None });
    }
    intervals
}

/// Returns the incarnation's state after the change at `position`: `None` before its first
/// change and from its deletion on.
pub(crate) fn state_at<'a>(history: &ObjectHistory<'a>, position: usize) -> Option<&'a Value> {
    let (_, change) = history
        .changes
        .iter()
        .take_while(|(at, _)| *at <= position)
        .last()?;
    (change.change != ChangeKind::Deleted).then_some(&*change.object)
}

/// Checks whether the incarnation exists after the change at `position`.
pub(crate) fn exists_at(history: &ObjectHistory<'_>, position: usize) -> bool {
    state_at(history, position).is_some()
}

/// Finds the first position at which the incarnation was being deleted: its deletionTimestamp
/// was set, or it was removed.
pub(crate) fn deletion_started_at(history: &ObjectHistory<'_>) -> Option<usize> {
    history
        .changes
        .iter()
        .find(|(_, change)| change.change == ChangeKind::Deleted || is_terminating(&change.object))
        .map(|(position, _)| *position)
}

/// Describes a pod's state for messages: `phase Running`, `phase Pending, being deleted`,
/// `deleted`.
pub(crate) fn describe_pod_state(state: Option<&Value>) -> String {
    let Some(state) = state else {
        return "deleted".to_owned();
    };
    let phase = phase(state).unwrap_or("unknown");
    if is_terminating(state) {
        format!("phase {phase}, being deleted")
    } else {
        format!("phase {phase}")
    }
}

/// The highest number of intervals that overlapped, with the first moment it was reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Peak {
    pub max: u32,
    /// Position at which the maximum was first reached.
    pub at: Option<usize>,
    /// Indices of the members whose intervals overlapped at that moment, in index order.
    pub members: Vec<usize>,
    /// Index of the member whose interval started at that moment.
    pub trigger: Option<usize>,
}

/// Finds the peak overlap of intervals, each tagged with the index of the member it belongs to.
pub(crate) fn peak(intervals: &[(usize, Interval)]) -> Peak {
    // An interval ends before another starts at the same position, so touching intervals do
    // not count as overlapping.
    let mut events: Vec<(usize, bool, usize)> = Vec::new();
    for (member, interval) in intervals {
        events.push((interval.start, true, *member));
        if let Some(end) = interval.end {
            events.push((end, false, *member));
        }
    }
    events.sort_by_key(|(position, starts, member)| (*position, *starts, *member));

    let mut current: BTreeSet<usize> = BTreeSet::new();
    let mut best = Peak::default();
    for (position, starts, member) in events {
        if !starts {
            current.remove(&member);
            continue;
        }
        current.insert(member);
        let count = u32::try_from(current.len()).unwrap_or(u32::MAX);
        if count > best.max {
            best = Peak {
                max: count,
                at: Some(position),
                members: current.iter().copied().collect(),
                trigger: Some(member),
            };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn interval(start: usize, end: Option<usize>) -> Interval {
        Interval { start, end }
    }

    #[rstest]
    #[case::none(vec![], 0, None)]
    #[case::sequential(
        vec![(0, interval(0, Some(3))), (1, interval(3, Some(5))), (2, interval(6, None))],
        1,
        Some(0)
    )]
    #[case::overlapping(
        vec![(0, interval(0, Some(4))), (1, interval(2, Some(6))), (2, interval(3, None))],
        3,
        Some(3)
    )]
    #[case::later_peak(
        vec![(0, interval(0, Some(1))), (1, interval(2, None)), (2, interval(4, None))],
        2,
        Some(4)
    )]
    fn peak_finds_max_overlap(
        #[case] intervals: Vec<(usize, Interval)>,
        #[case] max: u32,
        #[case] at: Option<usize>,
    ) {
        let found = peak(&intervals);

        assert_eq!(found.max, max);
        assert_eq!(found.at, at);
    }
}
