//! The rule set a server routes with, reloaded without a restart. A reload reads the set and
//! its tests file, loads them with every check ([`super::load_from`]) and only then swaps
//! the new set in, in one step: a request routes with the old set or the new one, never a
//! mix, and a refused set leaves the old one serving with the reason kept for
//! `GET /api/routing`. File changes are found by polling the two files' bytes (a digest each
//! second), which also sees a Kubernetes ConfigMap's symlink swap that inotify can miss.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::check::Limits;
use super::rule_set::{RuleSet, hex_sha256, load_from, tests_path};
use crate::located::LocatedError;

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// The files have not changed since the last load (polling only).
    Unchanged,
    /// The new set serves now: its SHA-256.
    Swapped(String),
    /// The new set was refused (the old one still serves): why, located.
    Refused(String),
}

/// A refused reload, kept until the next good one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    /// SHA-256 of the refused rule file.
    pub sha256: String,
}

/// The serving rule set of one file.
#[derive(Debug)]
pub struct LiveRuleSet {
    path: PathBuf,
    current: RwLock<Arc<RuleSet>>,
    /// Digest of the rule file and the tests file last looked at, good or refused.
    seen: Mutex<String>,
    refusal: Mutex<Option<Refusal>>,
    swaps: AtomicU64,
    refusals: AtomicU64,
}

fn read_both(path: &Path) -> Result<(Vec<u8>, PathBuf, String), LocatedError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LocatedError::whole(path, format!("cannot read the rule set: {e}")))?;
    let tests = tests_path(path);
    let text = std::fs::read_to_string(&tests).map_err(|e| {
        LocatedError::whole(
            &tests,
            format!("cannot read the rule set's tests ({e}): every rule set has one beside it"),
        )
    })?;
    Ok((bytes, tests, text))
}

fn fingerprint(bytes: &[u8], tests: &str) -> String {
    let mut both = bytes.to_vec();
    both.extend_from_slice(tests.as_bytes());
    hex_sha256(&both)
}

impl LiveRuleSet {
    /// Loads the set at `path`; a server does not start with a refused one.
    pub fn open(path: &Path) -> Result<Self, LocatedError> {
        let (bytes, tests, text) = read_both(path)?;
        let set = load_from(path, &bytes, &tests, &text, &Limits::default())?;
        Ok(LiveRuleSet {
            path: path.to_path_buf(),
            current: RwLock::new(Arc::new(set)),
            seen: Mutex::new(fingerprint(&bytes, &text)),
            refusal: Mutex::new(None),
            swaps: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The set serving now (a request keeps the one it took for its whole decision).
    pub fn current(&self) -> Arc<RuleSet> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The last refusal, if no good set was loaded since.
    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal.lock().map(|r| r.clone()).unwrap_or(None)
    }

    /// Sets swapped in and sets refused since the server started.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.swaps.load(Ordering::Relaxed),
            self.refusals.load(Ordering::Relaxed),
        )
    }

    /// Reloads if either file changed since it was last looked at (the poller).
    pub fn reload_if_changed(&self) -> Reload {
        self.reload_inner(false)
    }

    /// Reloads now, changed or not (an architect's API call).
    pub fn reload(&self) -> Reload {
        self.reload_inner(true)
    }

    fn reload_inner(&self, force: bool) -> Reload {
        // One reload at a time: the `seen` lock is held through the load.
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (bytes, tests, text) = match read_both(&self.path) {
            Ok(b) => b,
            Err(e) => return self.refuse(e.to_string(), String::new()),
        };
        let print = fingerprint(&bytes, &text);
        if !force && *seen == print {
            return Reload::Unchanged;
        }
        *seen = print;
        match load_from(&self.path, &bytes, &tests, &text, &Limits::default()) {
            Ok(set) => {
                let sha = set.sha256.clone();
                match self.current.write() {
                    Ok(mut g) => *g = Arc::new(set),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
                }
                if let Ok(mut r) = self.refusal.lock() {
                    *r = None;
                }
                self.swaps.fetch_add(1, Ordering::Relaxed);
                Reload::Swapped(sha)
            }
            Err(e) => self.refuse(e.to_string(), hex_sha256(&bytes)),
        }
    }

    fn refuse(&self, reason: String, sha256: String) -> Reload {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut r) = self.refusal.lock() {
            *r = Some(Refusal {
                reason: reason.clone(),
                sha256,
            });
        }
        Reload::Refused(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = "platforms: [core, pbm]\nrules:\n  - id: pharmacy\n    when: stream == \"E\"\n    route: {stream: E, platform: pbm}\ndefault: {stream: A, platform: core}\n";
    const CASES: &str = "- name: pharmacy\n  claim: {stream: E}\n  expect: {rule: pharmacy}\n";

    #[test]
    fn a_good_change_swaps_a_bad_one_keeps_the_old_set_serving() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("set.yaml");
        std::fs::write(&path, SET).expect("write");
        std::fs::write(dir.path().join("set.tests.yaml"), CASES).expect("write");
        let live = LiveRuleSet::open(&path).expect("opens");
        let first = live.current().sha256.clone();
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
        // A comment changes the bytes, not the rules: a new set all the same.
        std::fs::write(&path, format!("# v2\n{SET}")).expect("write");
        let Reload::Swapped(second) = live.reload_if_changed() else {
            panic!("not swapped")
        };
        assert_ne!(first, second);
        assert_eq!(live.current().sha256, second);
        // A broken set is refused; the second keeps serving, and the reason is kept.
        std::fs::write(&path, SET.replace("stream == \"E\"", "strem == \"E\"")).expect("write");
        let Reload::Refused(why) = live.reload_if_changed() else {
            panic!("not refused")
        };
        assert!(why.contains("`strem` is not a field"), "{why}");
        assert_eq!(live.current().sha256, second);
        assert!(live.refusal().is_some());
        // Unchanged since refused: not looked at again until it changes.
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
        // A forced reload of the same broken file is refused again.
        assert!(matches!(live.reload(), Reload::Refused(_)));
        assert_eq!(live.counts(), (1, 2));
        // Mended: swapped, the refusal cleared.
        std::fs::write(&path, SET).expect("write");
        assert_eq!(live.reload_if_changed(), Reload::Swapped(first));
        assert!(live.refusal().is_none());
        // A tests file that now fails refuses the same rules.
        std::fs::write(
            dir.path().join("set.tests.yaml"),
            CASES.replace("rule: pharmacy", "rule: default"),
        )
        .expect("write");
        assert!(matches!(live.reload_if_changed(), Reload::Refused(_)));
    }
}
