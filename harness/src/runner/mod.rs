//! Runs scenarios: applies manifests, executes steps, judges and cleans up.
