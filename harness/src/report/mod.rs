//! Outputs: terminal progress, summary table, grade sheet, JUnit XML, JSON and the timeline
//! picture.

pub mod files;
pub mod model;
pub mod picture;
pub mod progress;
pub mod table;
