//! The manifest of a prefix: every file's relative path, size and SHA-256, written last.
//! Its presence means the files it lists are complete; the hashes let a reader refuse a
//! file someone changed afterwards; files it does not list do not exist for a reader.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::hash;
use crate::key;

/// The manifest's key, below the prefix it describes.
pub const MANIFEST_NAME: &str = ".warden-manifest.json";

/// The format written today: version 2 adds each file's `encoding`. A reader takes 1 and 2
/// and refuses any other (an older Warden refuses version 2 by name, rather than reading a
/// compressed file as if it were the file).
const VERSION: u32 = 2;
const READABLE: [u32; 2] = [1, 2];

/// Relative path (a key below the manifest's prefix) → size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    pub files: BTreeMap<String, Entry>,
}

/// One file of a manifest: the file's own size and SHA-256 (what a reader gets back), and
/// how it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// `None`: stored as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: VERSION,
            files: BTreeMap::new(),
        }
    }
}

impl Manifest {
    /// Pretty JSON, keys sorted, so two uploads of the same files give the same bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_else(|e| {
            unreachable!("a manifest of strings and numbers always serialises: {e}")
        });
        out.push(b'\n');
        out
    }

    /// Parses and checks a manifest: the version, every path a valid key (a manifest can
    /// never make a download write outside its directory), every hash well-formed.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Self, String> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !READABLE.contains(&manifest.version) {
            return Err(format!(
                "format version {} (this Warden reads versions 1 and {VERSION}: the prefix \
                 was written by a newer Warden)",
                manifest.version
            ));
        }
        for (path, entry) in &manifest.files {
            key::check(path).map_err(|e| format!("path `{path}`: {e}"))?;
            if path == MANIFEST_NAME {
                return Err(format!("it lists itself (`{MANIFEST_NAME}`)"));
            }
            if !hash::is_sha256_hex(&entry.sha256) {
                return Err(format!(
                    "path `{path}`: `{}` is not a SHA-256 (64 lower-case hex digits)",
                    entry.sha256
                ));
            }
        }
        Ok(manifest)
    }

    /// The sum of the files' sizes.
    pub fn total_size(&self) -> u64 {
        self.files.values().map(|e| e.size).sum()
    }
}

impl Entry {
    /// `Ok` when `size` and `sha256` are this entry's; else the error naming the key and
    /// both hashes.
    pub(crate) fn verify(&self, url: &str, key: &str, size: u64, sha256: &str) -> Result<()> {
        if size == self.size && sha256 == self.sha256 {
            return Ok(());
        }
        Err(Error::Mismatch {
            url: url.to_string(),
            key: key.to_string(),
            expected_size: self.size,
            expected_sha256: self.sha256.clone(),
            actual_size: size,
            actual_sha256: sha256.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8]) -> Entry {
        let (size, sha256) = hash::of(bytes);
        Entry {
            size,
            sha256,
            encoding: None,
        }
    }

    fn sample() -> Manifest {
        let mut m = Manifest::default();
        m.files
            .insert("out/claims.csv".into(), entry(b"a,b\n1,2\n"));
        m.files.insert("checkpoint.json".into(), entry(b"{}"));
        m
    }

    #[test]
    fn round_trips_through_json_with_sorted_paths() {
        let m = sample();
        let json = m.to_json();
        assert_eq!(Manifest::from_json(&json).unwrap(), m);
        let text = String::from_utf8(json).unwrap();
        let checkpoint = text.find("checkpoint.json").unwrap();
        let out = text.find("out/claims.csv").unwrap();
        assert!(checkpoint < out, "{text}");
        assert!(text.contains("\"size\": 8"), "{text}");
        assert!(text.contains(&hash::of(b"{}").1), "{text}");
    }

    #[test]
    fn the_json_shape_is_stable() {
        let json = br#"{"version":1,"files":{"a/b.txt":{"size":3,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}}}"#;
        let m = Manifest::from_json(json).unwrap();
        assert_eq!(m.files["a/b.txt"], entry(b"abc"));
        assert_eq!(m.total_size(), 3);
        // Version 2: an encoding per file, absent when stored as it is.
        let mut zstd = entry(b"abc");
        zstd.encoding = Some(Encoding::Zstd);
        let mut m = Manifest::default();
        m.files.insert("z".into(), zstd.clone());
        m.files.insert("plain".into(), entry(b"abc"));
        let text = String::from_utf8(m.to_json()).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
        assert_eq!(text.matches("\"encoding\": \"zstd\"").count(), 1, "{text}");
        assert_eq!(
            Manifest::from_json(text.as_bytes()).unwrap().files["z"],
            zstd
        );
        let unknown = br#"{"version":2,"files":{"a":{"size":3,"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","encoding":"brotli"}}}"#;
        assert!(Manifest::from_json(unknown).is_err());
    }

    #[test]
    fn paths_that_escape_or_hashes_that_are_not_hashes_are_refused() {
        let sha = hash::of(b"x").1;
        let with = |path: &str, sha: &str| {
            format!(r#"{{"version":1,"files":{{"{path}":{{"size":1,"sha256":"{sha}"}}}}}}"#)
        };
        let err = Manifest::from_json(with("../../etc/passwd", &sha).as_bytes()).unwrap_err();
        assert!(err.contains("../../etc/passwd"), "{err}");
        assert!(Manifest::from_json(with("/etc/passwd", &sha).as_bytes()).is_err());
        assert!(Manifest::from_json(with(".warden-manifest.json", &sha).as_bytes()).is_err());
        // A job's own `manifest.json` (adjudication setup writes one) is an ordinary file.
        assert!(Manifest::from_json(with("manifest.json", &sha).as_bytes()).is_ok());
        let err = Manifest::from_json(with("a", "ABC").as_bytes()).unwrap_err();
        assert!(err.contains("not a SHA-256"), "{err}");
        let err = Manifest::from_json(br#"{"version":3,"files":{}}"#).unwrap_err();
        assert!(
            err.contains("version 3") && err.contains("newer Warden"),
            "{err}"
        );
        assert!(Manifest::from_json(br#"{"version":1,"files":{},"extra":1}"#).is_err());
        assert!(Manifest::from_json(b"not json").is_err());
    }

    #[test]
    fn verify_names_both_hashes() {
        let e = entry(b"abc");
        e.verify("s3://b", "k", 3, &e.sha256).unwrap();
        let other = hash::of(b"abd").1;
        let text = e.verify("s3://b", "k", 3, &other).unwrap_err().to_string();
        assert!(text.contains(&e.sha256) && text.contains(&other), "{text}");
        assert!(text.contains("`k`") && text.contains("s3://b"), "{text}");
        assert!(e.verify("s3://b", "k", 4, &e.sha256).is_err());
    }
}
