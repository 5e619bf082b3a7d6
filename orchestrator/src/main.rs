//! The `warden` binary: everything lives in the library so tests can drive the same code.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

fn main() {
    // Operational logs go to stderr; `WARDEN_LOG` filters them (default: warnings, and what
    // the orchestrator does at info). They name runs, jobs and attempts, never claim data.
    // The AWS SDK's own warnings (each credential provider it tried) are left out: Warden
    // says what is wrong with the object store itself, once.
    let filter = EnvFilter::try_from_env("WARDEN_LOG").unwrap_or_else(|_| {
        EnvFilter::new("warn,warden=info,aws_config=error,aws_smithy_runtime=error")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    // Unlocked handles: the run's threads log to stderr while the command runs.
    let code = warden::cli::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
