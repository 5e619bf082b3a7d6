//! Object keys: relative, `/`-separated paths below the store's prefix, checked before any
//! I/O so that no key can name something outside the store (`..`, a leading `/`) or mean
//! different things to S3 and to a filesystem (empty segments, `.`).

use crate::error::{Error, Result};

/// Temporary files of the local backend start with this; keys may not, so a listing never
/// confuses a half-written file with an object.
pub(crate) const TEMP_PREFIX: &str = ".warden-tmp-";

/// S3's limit on a whole key, prefix included.
const MAX_KEY_BYTES: usize = 1024;

/// Checks a key: non-empty, relative, no empty, `.` or `..` segment, no trailing `/`, no
/// backslash or control character, at most 1,024 bytes.
pub fn check(key: &str) -> Result<()> {
    let invalid = |reason: &str| {
        Err(Error::InvalidKey {
            key: key.escape_debug().to_string(),
            reason: reason.to_string(),
        })
    };
    if key.is_empty() {
        return invalid("it is empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return invalid("it is longer than 1,024 bytes");
    }
    if key.starts_with('/') {
        return invalid("it starts with `/` (keys are relative to the store's prefix)");
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return invalid("it contains a control character or a backslash");
    }
    for segment in key.split('/') {
        match segment {
            "" => return invalid("it has an empty segment (`//` or a trailing `/`)"),
            "." | ".." => return invalid("it has a `.` or `..` segment"),
            s if s.starts_with(TEMP_PREFIX) => {
                return invalid("segments starting with `.warden-tmp-` are reserved");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a prefix for `list` and `delete_prefix`: a key, or `""` for everything; one
/// trailing `/` is allowed and dropped.
pub(crate) fn check_prefix(prefix: &str) -> Result<&str> {
    if prefix.starts_with('/') {
        check(prefix)?;
    }
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    if !trimmed.is_empty() {
        check(trimmed)?;
    }
    Ok(trimmed)
}

/// `a/b` from `a` and `b`; either may be empty.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}/{key}"),
    }
}

/// The prefix of one attempt of a job: `runs/{run}/jobs/{job}/attempts/{attempt}`. Each
/// attempt writes below its own prefix and ends with its manifest, so a lost attempt that
/// goes on writing never touches the files of the attempt that replaced it.
pub fn attempt_prefix(run: &str, job: &str, attempt: u32) -> Result<String> {
    for (what, part) in [("run", run), ("job", job)] {
        if part.contains('/') {
            return Err(Error::InvalidKey {
                key: part.to_string(),
                reason: format!("a {what} id cannot contain `/`"),
            });
        }
    }
    let prefix = format!("runs/{run}/jobs/{job}/attempts/{attempt}");
    check(&prefix)?;
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(key: &str) -> String {
        match check(key) {
            Err(Error::InvalidKey { reason, .. }) => reason,
            other => panic!("{key:?}: expected InvalidKey, got {other:?}"),
        }
    }

    #[test]
    fn ordinary_keys_pass() {
        for key in [
            "manifest.json",
            "runs/2025-02-28/jobs/ADJ.A-P01/attempts/1/out.csv",
            "a/b/c",
            "..hidden/x..y",
            ".profile",
            "spaces are fine/€ too",
        ] {
            check(key).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    #[test]
    fn escaping_or_ambiguous_keys_are_refused() {
        assert!(reason("").contains("empty"));
        assert!(reason("/etc/passwd").contains("starts with `/`"));
        assert!(reason("..").contains("`..`"));
        assert!(reason("a/../../b").contains("`..`"));
        assert!(reason("a/./b").contains("`.`"));
        assert!(reason("a//b").contains("empty segment"));
        assert!(reason("a/b/").contains("empty segment"));
        assert!(reason("a\\..\\b").contains("backslash"));
        assert!(reason("a\nb").contains("control"));
        assert!(reason("a/.warden-tmp-x").contains("reserved"));
        assert!(reason(&"k".repeat(1025)).contains("1,024"));
    }

    #[test]
    fn a_refused_key_is_an_error_not_a_panic_and_shows_control_characters() {
        let err = check("a\0b").unwrap_err().to_string();
        assert!(err.contains("a\\0b"), "{err}");
    }

    #[test]
    fn prefixes_allow_empty_and_one_trailing_slash() {
        assert_eq!(check_prefix("").unwrap(), "");
        assert_eq!(check_prefix("runs/r1/").unwrap(), "runs/r1");
        assert_eq!(check_prefix("runs/r1").unwrap(), "runs/r1");
        assert!(check_prefix("/").is_err());
        assert!(check_prefix("runs//").is_err());
        assert!(check_prefix("../x").is_err());
    }

    #[test]
    fn join_skips_empty_parts() {
        assert_eq!(join("", "a/b"), "a/b");
        assert_eq!(join("p", "a/b"), "p/a/b");
        assert_eq!(join("p", ""), "p");
    }

    #[test]
    fn attempt_prefixes_follow_the_layout() {
        assert_eq!(
            attempt_prefix("2025-02-28", "ADJ.A-P01", 2).unwrap(),
            "runs/2025-02-28/jobs/ADJ.A-P01/attempts/2"
        );
        assert!(attempt_prefix("r/1", "j", 1).is_err());
        assert!(attempt_prefix("r", "..", 1).is_err());
        assert!(attempt_prefix("", "j", 1).is_err());
    }
}
