//! kspec: scenario-driven conformance checks for Kubernetes workload controllers.
//!
//! A scenario file ([`dsl::Scenario`]) names manifests and the behaviour they must show over
//! time. The [`runner`] applies it to a cluster from a [`cluster`] backend, the [`recorder`]
//! keeps every change its watches deliver, and the [`assert`] module judges that recording.

pub mod assert;
pub mod cli;
pub mod cluster;
pub mod dsl;
pub mod recorder;
pub mod report;
pub mod runner;
