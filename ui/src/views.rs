//! Typed view models: what every page shows, and exactly what the JSON API returns for it
//! (one struct serves both, so the API never lags the pages). One module per page, each
//! built from a [`RunSnapshot`](crate::snapshot::RunSnapshot) without I/O, except where a
//! view reads a job's log tail or checkpoint through [`run_files`](crate::run_files).
//!
//! - [`overview`]: the cycles overview; each run's summary and deadline cards (every run
//!   page's header), and the title's alarm.
//! - [`detail`]: the cycle page; critical path, whys, the jobs table.
//! - [`job`]: a job's page.
//! - [`partitions`]: the partitioned jobs' progress and balance.
//! - [`alerts`]: a run's incidents and notifications.
//! - [`audit`]: the audit log's entries and filter.
//! - [`why`]: why a deadline stands where it does, and the moves that would help.
//! - [`confirm`]: an action's confirmation and the what-if form.
//! - [`impact`]: the batch impact tests' pages.
//!
//! Times, margins and states are worded by [`format`](crate::format), shared with the Gantt
//! and the charts.

pub mod alerts;
pub mod audit;
pub mod confirm;
pub mod detail;
pub mod impact;
pub mod job;
pub mod overview;
pub mod partitions;
pub mod why;
