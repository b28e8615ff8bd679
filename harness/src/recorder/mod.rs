//! Watches that record every change of a scenario's objects into a [`timeline::Timeline`].

pub mod timeline;
pub mod watch;
