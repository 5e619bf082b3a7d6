//! The `warden` processes a test starts: where their output goes, reading it back for a
//! failing assertion, asking them to stop.

use std::path::Path;
use std::process::{Child, Stdio};

/// Stdout and stderr both appended to `dir/file`.
pub fn output_to(dir: &Path, file: &str) -> (Stdio, Stdio) {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))
        .expect("log");
    let err = out.try_clone().expect("log");
    (out.into(), err.into())
}

/// The last 40 lines of every `*.out` file in `dir`, for a failing assertion.
pub fn outputs(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "out") {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            all.push_str(&format!(
                "--- {}\n{}\n",
                e.path().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    all
}

/// Asks the process to stop (SIGTERM: a worker finishes its attempt first).
pub fn sigterm(child: &Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
}

/// Asks each process to stop and waits for it.
pub fn stop_all(children: &mut [Child]) {
    for child in children.iter() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    for child in children {
        let _ = child.wait();
    }
}
