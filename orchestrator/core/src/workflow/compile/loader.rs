//! Reading the files a workflow references (its calendar), confined to the workflow's own
//! directory tree.
//!
//! A workflow file is often written by someone other than the operator who runs it, and
//! Warden quotes lines of files it cannot read as what they should be. So a reference may
//! not name just any file on the host: absolute paths and `..` escapes are refused, after
//! resolving symbolic links, unless the target lies under a root the operator allowed
//! explicitly (`WARDEN_ALLOWED_ROOTS`, read by the `warden` binary).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest referenced file read; a calendar of a century of holidays is about 200 KB.
pub const MAX_REFERENCED_BYTES: u64 = 4 * 1024 * 1024;

/// Why a referenced file could not be read: what to show under the reference, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub message: String,
    pub help: String,
}

impl LoadError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// Reads files a workflow references. The compiler itself does no I/O.
pub trait Loader {
    /// Reads `path`, written in `from` (the referencing file's path). Returns the path to show
    /// in messages and the text, or why it could not be read.
    fn load(&self, from: &str, path: &str) -> Result<(String, String), LoadError>;
}

/// A loader for text compiled on its own: every reference fails.
#[derive(Debug)]
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&self, _from: &str, path: &str) -> Result<(String, String), LoadError> {
        Err(LoadError::new(
            format!("`{path}` cannot be read here (no files are available)"),
            "compile the workflow from its file so that referenced files can be read",
        ))
    }
}

/// Serves referenced files from a set kept beside a run (the store's `run_sources`): a worker
/// on another host compiles the workflow its orchestrator compiled, from the same texts. A
/// reference resolves to the path the file system loader showed for it (relative to the
/// referencing file), so the same workflow finds the same files.
#[derive(Debug, Default)]
pub struct StoredLoader {
    files: std::collections::HashMap<String, String>,
}

impl StoredLoader {
    /// `files`: (path as the compiler named it, text).
    pub fn new(files: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            files: files.into_iter().collect(),
        }
    }
}

impl Loader for StoredLoader {
    fn load(&self, from: &str, path: &str) -> Result<(String, String), LoadError> {
        let written = Path::new(path);
        let shown = if written.has_root() {
            written.to_path_buf()
        } else {
            Path::new(from)
                .parent()
                .unwrap_or(Path::new(""))
                .join(written)
        };
        let shown = shown.to_string_lossy().into_owned();
        match self.files.get(&shown) {
            Some(text) => Ok((shown, text.clone())),
            None => Err(LoadError::new(
                format!("`{shown}` is not among the files kept with the run"),
                "the run was started from a workflow that did not reference it; start workers of the orchestrator's version",
            )),
        }
    }
}

/// Reads referenced files from the file system, relative to the referencing file (and to
/// `root`, when set, so that paths shown in messages can stay relative to a project root).
/// A file is read only if it lies, symbolic links resolved, under the referencing file's
/// directory or under one of `allowed_roots`.
#[derive(Debug, Default)]
pub struct FsLoader {
    pub root: Option<PathBuf>,
    /// Further directories referenced files may live in (absolute paths allowed there).
    pub allowed_roots: Vec<PathBuf>,
}

impl FsLoader {
    pub fn rooted(root: impl Into<PathBuf>) -> Self {
        Self {
            root: Some(root.into()),
            allowed_roots: Vec::new(),
        }
    }

    /// Also allows files under `roots`.
    pub fn allowing(mut self, roots: impl IntoIterator<Item = PathBuf>) -> Self {
        self.allowed_roots.extend(roots);
        self
    }

    fn on_disk(&self, path: &Path) -> PathBuf {
        match &self.root {
            Some(root) if path.is_relative() => root.join(path),
            _ => path.to_path_buf(),
        }
    }
}

const CONFINED_HELP: &str = "referenced files must be inside the workflow file's directory \
    (e.g. `calendars/us-federal.yaml`); to share files kept elsewhere, list their directory \
    in WARDEN_ALLOWED_ROOTS (docs/workflow-language.md)";

impl Loader for FsLoader {
    fn load(&self, from: &str, path: &str) -> Result<(String, String), LoadError> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let written = Path::new(path);
        let absolute = written.has_root()
            || written
                .components()
                .any(|c| matches!(c, Component::Prefix(_)));
        let shown: PathBuf = if absolute {
            written.to_path_buf()
        } else {
            base.join(written)
        };
        let shown_text = shown.to_string_lossy().into_owned();
        let absolute_refused = LoadError::new(
            format!("`{path}` is an absolute path; it must be relative to the workflow file"),
            CONFINED_HELP,
        );
        let escape_refused = LoadError::new(
            format!("`{path}` leads outside the workflow file's directory"),
            CONFINED_HELP,
        );
        // Refused before the file system is asked anything, so that a workflow cannot even
        // learn whether a file outside exists.
        if absolute && self.allowed_roots.is_empty() {
            return Err(absolute_refused);
        }
        let climbs_out = climbs_out(written);
        if climbs_out && self.allowed_roots.is_empty() {
            return Err(escape_refused);
        }
        let target = self.on_disk(&shown).canonicalize().map_err(|e| {
            if absolute || climbs_out {
                escape_refused.clone()
            } else {
                LoadError::new(
                    format!("cannot read `{shown_text}`: {e}"),
                    "calendar paths are relative to the workflow file, e.g. `calendars/us-federal.yaml`",
                )
            }
        })?;
        let directory = self.on_disk(if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base
        });
        let inside = |root: &Path| root.canonicalize().is_ok_and(|r| target.starts_with(r));
        let in_allowed_root = self.allowed_roots.iter().any(|r| inside(r));
        if absolute && !in_allowed_root {
            return Err(absolute_refused);
        }
        if !in_allowed_root && !inside(&directory) {
            return Err(escape_refused);
        }
        read_small_file(&target)
            .map(|text| (shown_text.clone(), text))
            .map_err(|message| {
                LoadError::new(
                    format!("cannot read `{shown_text}`: {message}"),
                    "name a calendar file (YAML text, see docs/calendars.md)",
                )
            })
    }
}

/// Whether a relative path climbs above its starting directory (`../x`, `a/../../x`),
/// read as written, before any link is resolved.
fn climbs_out(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// Reads a regular file of at most [`MAX_REFERENCED_BYTES`] as UTF-8 text.
fn read_small_file(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("it is not a regular file".into());
    }
    if metadata.len() > MAX_REFERENCED_BYTES {
        return Err(format!(
            "it is {} bytes; referenced files are limited to {MAX_REFERENCED_BYTES}",
            metadata.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_REFERENCED_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_loader_finds_what_the_file_loader_showed() {
        let loader = StoredLoader::new([(
            "cycles/calendars/us.yaml".to_string(),
            "holidays: []".to_string(),
        )]);
        let (shown, text) = loader
            .load("cycles/nightly.yaml", "calendars/us.yaml")
            .expect("found");
        assert_eq!(
            (shown.as_str(), text.as_str()),
            ("cycles/calendars/us.yaml", "holidays: []")
        );
        let missing = loader
            .load("cycles/nightly.yaml", "calendars/eu.yaml")
            .expect_err("not kept");
        assert!(
            format!("{missing:?}").contains("cycles/calendars/eu.yaml"),
            "{missing:?}"
        );
    }

    /// A scratch directory tree: `root/project/w.yaml`, `root/project/calendars/c.yaml`,
    /// `root/secret.txt`.
    fn tree(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("warden-loader-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("project/calendars")).expect("scratch dir");
        std::fs::write(root.join("project/calendars/c.yaml"), "name: c\n").expect("write");
        std::fs::write(root.join("secret.txt"), "root:x:0:0:root:/root:/bin/bash\n")
            .expect("write");
        root
    }

    fn load(loader: &FsLoader, root: &Path, path: &str) -> Result<(String, String), LoadError> {
        let from = root.join("project/w.yaml");
        loader.load(&from.to_string_lossy(), path)
    }

    #[test]
    fn files_inside_the_workflow_directory_are_read() {
        let root = tree("inside");
        let (shown, text) = load(&FsLoader::default(), &root, "calendars/c.yaml").expect("reads");
        assert!(shown.ends_with("project/calendars/c.yaml"), "{shown}");
        assert_eq!(text, "name: c\n");
        // `..` that stays inside is fine.
        assert!(load(&FsLoader::default(), &root, "calendars/../calendars/c.yaml").is_ok());
    }

    #[test]
    fn absolute_paths_and_escapes_are_refused_without_reading() {
        let root = tree("escape");
        let e = load(&FsLoader::default(), &root, "/etc/passwd").unwrap_err();
        assert!(e.message.contains("absolute path"), "{e:?}");
        let e = load(&FsLoader::default(), &root, "../secret.txt").unwrap_err();
        assert!(
            e.message.contains("outside the workflow file's directory"),
            "{e:?}"
        );
        let e = load(
            &FsLoader::default(),
            &root,
            "../../../../../../../../etc/passwd",
        )
        .unwrap_err();
        assert!(e.message.contains("outside"), "{e:?}");
        assert!(!e.message.contains("root:"), "{e:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_cannot_escape() {
        let root = tree("symlink");
        let link = root.join("project/calendars/escape.yaml");
        std::os::unix::fs::symlink(root.join("secret.txt"), &link).expect("symlink");
        let e = load(&FsLoader::default(), &root, "calendars/escape.yaml").unwrap_err();
        assert!(e.message.contains("outside"), "{e:?}");
    }

    #[test]
    fn an_allowed_root_admits_files_elsewhere() {
        let root = tree("allowed");
        let loader = FsLoader::default().allowing([root.clone()]);
        let (_, text) = load(&loader, &root, "../secret.txt").expect("allowed");
        assert!(text.starts_with("root:"));
        let absolute = root.join("secret.txt");
        assert!(load(&loader, &root, &absolute.to_string_lossy()).is_ok());
    }

    #[test]
    fn whether_a_file_outside_exists_is_not_told() {
        let root = tree("oracle");
        for path in ["/no/such/file", "../no-such-file", "../../../../no/such"] {
            let e = load(&FsLoader::default(), &root, path).unwrap_err();
            assert!(!e.message.contains("No such file"), "{path}: {e:?}");
        }
        let e = load(&FsLoader::default(), &root, "calendars/missing.yaml").unwrap_err();
        assert!(e.message.contains("cannot read"), "{e:?}");
    }

    #[test]
    fn directories_are_not_read() {
        let root = tree("dir");
        let e = load(&FsLoader::default(), &root, "calendars").unwrap_err();
        assert!(e.message.contains("not a regular file"), "{e:?}");
    }
}
