//! Warden's pure core.
//!
//! - [`workflow`]: the YAML workflow language, its two-phase compiler and the compiled model;
//! - [`calendar`]: business calendars, month-end rules, windows across DST, cron nights;
//! - [`plan`]: a workflow instantiated for a business date;
//! - [`sched`]: the scheduling core and its forward simulation;
//! - [`clock`]: injected time;
//! - [`diagnostics`]: located, rendered errors and warnings.
//!
//! Nothing here does I/O or reads the wall clock (the only exception is
//! [`workflow::FsLoader`], the edge that reads referenced files).

pub mod calendar;
pub mod clock;
pub mod diagnostics;
pub mod plan;
pub mod sched;
pub mod workflow;
