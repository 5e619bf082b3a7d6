//! The invalid-workflow corpus: every file under `workflows/invalid/` must fail to compile
//! with exactly the diagnostics pinned in its `.expected` file (warnings-only files must
//! compile with warnings). Run with `WARDEN_BLESS=1` to rewrite the `.expected` files after
//! an intended change to a message, then read the diff.

use std::path::{Path, PathBuf};

use warden_core::diagnostics::{SourceMap, render_text};
use warden_core::workflow::{FsLoader, compile_bytes};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus() -> Vec<PathBuf> {
    let dir = repo_root().join("workflows/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("workflows/invalid exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Compiles one corpus file as `workflows/invalid/NAME.yaml` and renders what it reports.
fn diagnose(path: &Path) -> (String, usize, usize) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name");
    let shown = format!("workflows/invalid/{name}");
    let bytes = std::fs::read(path).expect("readable");
    let mut sources = SourceMap::new();
    let compilation = compile_bytes(&mut sources, &shown, bytes, &FsLoader::rooted(repo_root()));
    let errors = compilation.errors().count();
    let warnings = compilation.warnings().count();
    (
        render_text(&sources, &compilation.diagnostics),
        errors,
        warnings,
    )
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        corpus().len() >= 40,
        "the issue asks for at least 40 invalid files"
    );
}

#[test]
fn every_invalid_file_reports_its_pinned_diagnostics() {
    let bless = std::env::var_os("WARDEN_BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in corpus() {
        let (rendered, errors, warnings) = diagnose(&path);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.contains("warnings-only") {
            assert_eq!(errors, 0, "{name} should compile");
            assert!(warnings > 0, "{name} should warn");
        } else {
            assert!(errors > 0, "{name} compiled without errors:\n{rendered}");
        }
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &rendered).expect("writable");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != rendered {
            mismatches.push(format!(
                "--- {name}: expected\n{expected}\n--- {name}: got\n{rendered}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} file(s) differ from their .expected (WARDEN_BLESS=1 rewrites them):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn many_errors_are_reported_in_one_run() {
    let path = corpus()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("many-errors"))
        .expect("the many-errors case exists");
    let (rendered, errors, _) = diagnose(&path);
    assert!(
        errors >= 5,
        "expected every error at once, got {errors}:\n{rendered}"
    );
}

#[test]
fn files_a_workflow_must_not_read_are_never_quoted() {
    for name in [
        "080-calendar-absolute-path",
        "081-calendar-escapes-directory",
        "082-calendar-symlink-escapes",
        "083-calendar-not-a-calendar",
    ] {
        let path = repo_root().join(format!("workflows/invalid/{name}.yaml"));
        let (rendered, errors, _) = diagnose(&path);
        assert_eq!(errors, 1, "{name}: {rendered}");
        for leaked in ["root:x:0", "daemon:", "# Warden"] {
            assert!(
                !rendered.contains(leaked),
                "{name} shows `{leaked}`:\n{rendered}"
            );
        }
    }
}
