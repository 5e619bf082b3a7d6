//! Running cycles for real: the driver that feeds the scheduling machine and makes its
//! steps durable, the in-process workers that claim jobs from the store's queue, the job
//! executors, and the real and accelerated clocks.

pub mod adjudication;
pub mod adopt;
pub mod attempt_paths;
pub mod builtins;
pub mod clocks;
pub mod driver;
pub mod exec;
pub mod follow_outputs;
pub mod host;
pub mod intake_job;
pub mod line_batches;
pub mod load_exceptions;
pub mod post_accumulators;
pub mod remote;
pub mod run;
pub mod staging;
pub mod supervise;
pub mod timing;
pub mod volume_check;
pub mod watch;
pub mod worker;
