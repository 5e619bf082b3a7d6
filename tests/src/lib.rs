//! End-to-end tests live in `tests/tests/`; this is what they share.

use std::path::Path;

/// A shipped file under `workflows/`.
pub fn workflow(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `warden ARGS...` in-process; returns (exit code, stdout, stderr).
pub fn warden(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("warden").chain(args.iter().copied());
    let code = warden::cli::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}
