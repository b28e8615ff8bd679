//! The recorded state of every object at one position of a timeline.

use std::collections::HashMap;

use serde_json::Value;

use crate::recorder::timeline::{Change, ChangeKind, Timeline};

/// The state after the change at some position: the timeline's changes up to and including it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub timeline: &'a Timeline,
    /// Number of changes that have happened, so `changes()[..end]` is visible.
    end: usize,
}

/// Whether an object exists in a view.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Presence<'a> {
    /// It exists, in this state (possibly with a deletionTimestamp).
    Live(&'a Value),
    /// It existed and was deleted.
    Deleted,
    /// No change of it was recorded up to this position.
    Never,
}

impl<'a> View<'a> {
    /// Views the state after the change at `at`, or after the last change when `at` is `None` or
    /// past the end.
    pub(crate) fn at(timeline: &'a Timeline, at: Option<usize>) -> Self {
        let end = at.map_or(timeline.len(), |position| {
            (position + 1).min(timeline.len())
        });
        Self { timeline, end }
    }

    /// Views the state before any change at or after `position`.
    pub(crate) fn before(timeline: &'a Timeline, position: usize) -> Self {
        Self {
            timeline,
            end: position.min(timeline.len()),
        }
    }

    /// Returns the changes visible in this view.
    pub(crate) fn changes(&self) -> &'a [Change] {
        &self.timeline.changes()[..self.end]
    }

    /// Returns the live objects of a kind, one per uid in its latest state, sorted by name.
    pub(crate) fn objects(&self, kind: &str) -> Vec<&'a Value> {
        let mut live: HashMap<&'a str, &'a Value> = HashMap::new();
        for change in self.changes().iter().filter(|change| change.kind == kind) {
            if change.change == ChangeKind::Deleted {
                live.remove(change.uid());
            } else {
                live.insert(change.uid(), &change.object);
            }
        }
        let mut objects: Vec<&'a Value> = live.into_values().collect();
        objects.sort_by_key(|object| crate::assert::objects::name(object));
        objects
    }

    /// Finds the latest incarnation of a named object.
    pub(crate) fn object(&self, kind: &str, name: &str) -> Presence<'a> {
        let last = self
            .changes()
            .iter()
            .rev()
            .find(|change| change.kind == kind && change.name() == name);
        match last {
            None => Presence::Never,
            Some(change) if change.change == ChangeKind::Deleted => Presence::Deleted,
            Some(change) => Presence::Live(&change.object),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assert::testing::{Object, Recording};

    fn recording() -> Timeline {
        Recording::new()
            .add("Pod", Object::named("a").phase("Pending"))
            .add("Pod", Object::named("b").phase("Pending"))
            .modify("Pod", Object::named("a").phase("Running"))
            .delete("Pod", Object::named("b").phase("Pending"))
            .build()
    }

    fn names(objects: &[&Value]) -> Vec<String> {
        objects
            .iter()
            .map(|object| crate::assert::objects::name(object).to_owned())
            .collect()
    }

    #[test]
    fn view_shows_state_at_position() {
        let timeline = recording();

        assert_eq!(
            names(&View::at(&timeline, Some(1)).objects("Pod")),
            ["a", "b"]
        );
        assert_eq!(names(&View::at(&timeline, None).objects("Pod")), ["a"]);
        assert!(View::before(&timeline, 0).objects("Pod").is_empty());
    }

    #[test]
    fn view_reports_presence() {
        let timeline = recording();
        let view = View::at(&timeline, None);

        assert!(matches!(view.object("Pod", "a"), Presence::Live(_)));
        assert!(matches!(view.object("Pod", "b"), Presence::Deleted));
        assert!(matches!(view.object("Pod", "c"), Presence::Never));
        assert!(matches!(
            View::at(&timeline, Some(0)).object("Pod", "b"),
            Presence::Never
        ));
    }
}
