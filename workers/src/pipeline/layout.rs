//! Where every stage reads and writes, under one work directory:
//!
//! ```text
//! WORK/setup/   manifest.json  members.bin  deferred-families.bin  rejects.csv
//!               ytd-from-store.bin (when the orchestrator exported the store's accumulators)
//! WORK/pNN/     claims.bin (input)  results.csv  deferred.bin  exceptions.csv
//!               changes.bin  events.jsonl  checkpoint.json
//! WORK/merge/   deferred.bin  deferred.csv  refs.csv  members.bin (refreshed)
//! WORK/pass2/   results.csv  exceptions.csv  changes.bin  events.jsonl  checkpoint.json
//! OUT/          adjudicated.csv  accumulators.csv  accumulators-changed.csv  exceptions.csv  rejects.csv
//!               deferred.csv  reconciliation.json
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    pub work: PathBuf,
    /// Explicit stage directories (the orchestrator gives each stage its job's work
    /// directory, which survives the job's attempts); `None`: under `work`.
    dirs: Option<Dirs>,
}

#[derive(Debug, Clone)]
struct Dirs {
    setup: PathBuf,
    partitions: Vec<PathBuf>,
    merge: PathBuf,
    pass2: PathBuf,
}

impl Layout {
    pub fn new(work: &Path) -> Layout {
        Layout {
            work: work.to_path_buf(),
            dirs: None,
        }
    }

    /// Every stage in a directory of its own.
    pub fn with_dirs(
        setup: PathBuf,
        partitions: Vec<PathBuf>,
        merge: PathBuf,
        pass2: PathBuf,
    ) -> Layout {
        Layout {
            work: setup.clone(),
            dirs: Some(Dirs {
                setup,
                partitions,
                merge,
                pass2,
            }),
        }
    }

    /// The partition count the directories fix, if they do.
    pub fn fixed_partitions(&self) -> Option<usize> {
        self.dirs.as_ref().map(|d| d.partitions.len())
    }

    pub fn setup(&self) -> PathBuf {
        match &self.dirs {
            Some(d) => d.setup.clone(),
            None => self.work.join("setup"),
        }
    }
    /// Partition `p` (0-based) is `p01`, `p02`, ...
    pub fn partition(&self, p: usize) -> PathBuf {
        match self.dirs.as_ref().and_then(|d| d.partitions.get(p)) {
            Some(dir) => dir.clone(),
            None => self.work.join(format!("p{:02}", p + 1)),
        }
    }
    pub fn merge(&self) -> PathBuf {
        match &self.dirs {
            Some(d) => d.merge.clone(),
            None => self.work.join("merge"),
        }
    }
    pub fn pass2(&self) -> PathBuf {
        match &self.dirs {
            Some(d) => d.pass2.clone(),
            None => self.work.join("pass2"),
        }
    }
}

pub const CLAIMS: &str = "claims.bin";
pub const RESULTS: &str = "results.csv";
pub const DEFERRED: &str = "deferred.bin";
pub const EXCEPTIONS: &str = "exceptions.csv";
pub const CHANGES: &str = "changes.bin";
pub const EVENTS: &str = "events.jsonl";
pub const CHECKPOINT: &str = "checkpoint.json";
pub const MEMBERS: &str = "members.bin";
pub const MANIFEST: &str = "manifest.json";
pub const DEFERRED_FAMILIES: &str = "deferred-families.bin";
pub const REJECTS: &str = "rejects.csv";
pub const REFS: &str = "refs.csv";
/// In the merge's directory: the deferred claims, listed for reconciliation.
pub const DEFERRED_LIST: &str = "deferred.csv";
/// The store's accumulators for the stream, exported before setup (`ytd.rs`).
pub const STORE_YTD: &str = "ytd-from-store.bin";
/// In OUT: the members whose accumulators changed, start and end (`ytd.rs`).
pub const ACCUMULATORS_CHANGED: &str = "accumulators-changed.csv";
