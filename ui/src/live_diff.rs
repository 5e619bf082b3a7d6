//! A region's new content as edits of a version the browser already has: the lines it can
//! copy from that version, and the new lines. Regions put one row (a job's bar, a table
//! row) on a line, so a live update of a 35-row timeline in which three bars moved sends
//! three lines and a few numbers.
//!
//! The server keeps the versions it sent recently ([`RegionCache`], by content hash); a
//! version no longer there is sent whole.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

/// One edit: copy `len` lines of the old version from `from`, or insert these lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Op {
    Copy([usize; 2]),
    Insert(String),
}

/// The edits that turn `old` into `new`, line by line (lines end at `\n`, kept). A new
/// line is copied from the first old line equal to it not yet used, so repeated lines map
/// in order; runs of consecutive old lines become one copy.
pub fn diff(old: &str, new: &str) -> Vec<Op> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut where_: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, l) in old_lines.iter().enumerate() {
        where_.entry(l).or_default().push_back(i);
    }
    let mut ops: Vec<Op> = Vec::new();
    for line in new.split_inclusive('\n') {
        let at = where_.get_mut(line).and_then(|q| q.pop_front());
        match (at, ops.last_mut()) {
            (Some(i), Some(Op::Copy([from, len]))) if *from + *len == i => *len += 1,
            (Some(i), _) => ops.push(Op::Copy([i, 1])),
            (None, Some(Op::Insert(text))) => text.push_str(line),
            (None, _) => ops.push(Op::Insert(line.to_string())),
        }
    }
    ops
}

/// Applies `ops` to `old` (what the browser does; here for the tests).
pub fn apply(old: &str, ops: &[Op]) -> Option<String> {
    let lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    for op in ops {
        match op {
            Op::Copy([from, len]) => {
                for l in lines.get(*from..from + len)? {
                    out.push_str(l);
                }
            }
            Op::Insert(text) => out.push_str(text),
        }
    }
    Some(out)
}

/// Versions by hash, and their hashes oldest first.
type Versions = (HashMap<String, std::sync::Arc<str>>, VecDeque<String>);

/// Region versions recently sent, by hash, at most `capacity` of them (oldest out first).
#[derive(Debug)]
pub struct RegionCache {
    capacity: usize,
    inner: Mutex<Versions>,
}

impl RegionCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    pub fn get(&self, hash: &str) -> Option<std::sync::Arc<str>> {
        self.inner.lock().ok()?.0.get(hash).cloned()
    }

    pub fn put(&self, hash: &str, text: &str) {
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let (map, order) = &mut *guard;
        if map.contains_key(hash) {
            return;
        }
        map.insert(hash.to_string(), text.into());
        order.push_back(hash.to_string());
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }
}

impl Default for RegionCache {
    /// Enough for every region of a few dozen open pages, a few versions back.
    fn default() -> Self {
        Self::new(1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_applied_gives_the_new_version_and_copies_what_stayed() {
        let old = "<g>a</g>\n<g>b</g>\n<g>c</g>\n<line now=1/>\n";
        let new = "<g>a</g>\n<g>b2</g>\n<g>c</g>\n<line now=2/>\n";
        let ops = diff(old, new);
        assert_eq!(apply(old, &ops).as_deref(), Some(new));
        assert_eq!(
            ops,
            vec![
                Op::Copy([0, 1]),
                Op::Insert("<g>b2</g>\n".into()),
                Op::Copy([2, 1]),
                Op::Insert("<line now=2/>\n".into())
            ]
        );
    }

    #[test]
    fn repeated_and_reordered_lines_round_trip() {
        let old = "x\nx\ny\nz";
        for new in ["x\nx\nx\n", "z\ny\nx\nx", "", "w\nx\nz"] {
            assert_eq!(apply(old, &diff(old, new)).as_deref(), Some(new), "{new:?}");
        }
        assert_eq!(
            apply("a\n", &[Op::Copy([3, 1])]),
            None,
            "a copy past the end"
        );
    }

    #[test]
    fn the_cache_forgets_the_oldest() {
        let c = RegionCache::new(2);
        c.put("1", "one");
        c.put("2", "two");
        c.put("3", "three");
        assert!(c.get("1").is_none());
        assert_eq!(c.get("3").as_deref(), Some("three"));
    }
}
