//! Outputs: terminal progress, summary table, JUnit XML, JSON, snapshots.
