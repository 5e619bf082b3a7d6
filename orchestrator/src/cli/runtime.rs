//! The one place a command's async runtime is made. A command that reads or writes the store
//! and exits runs on the current thread; one that runs a cycle, a worker or a server gets
//! every core.

use std::future::Future;

use super::{CliError, CliResult};

/// Runs `f` to completion on a current-thread runtime.
pub fn block_on<F: Future>(f: F) -> CliResult<F::Output> {
    Ok(build(tokio::runtime::Builder::new_current_thread())?.block_on(f))
}

/// A current-thread runtime, for a command that blocks on it more than once.
pub fn current_thread() -> CliResult<tokio::runtime::Runtime> {
    build(tokio::runtime::Builder::new_current_thread())
}

/// A multi-thread runtime, for `run`, `worker`, `serve`, `demo` and the benches.
pub fn multi_thread() -> CliResult<tokio::runtime::Runtime> {
    build(tokio::runtime::Builder::new_multi_thread())
}

fn build(mut builder: tokio::runtime::Builder) -> CliResult<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::unavailable(format!("cannot start the async runtime: {e}")))
}
