//! The local backend: a directory whose files are the objects, `root/KEY`. Every write is a
//! temporary file renamed into place, so readers see the same whole-or-nothing objects as
//! on S3. Filesystem calls run on tokio's blocking pool.

use std::path::{Path, PathBuf};

use crate::atomic::{self, AtomicFile, Durability};
use crate::error::{Error, Result};
use crate::key::{self, TEMP_PREFIX};
use crate::manifest::Entry;
use crate::store::{Listed, ObjectInfo};

#[derive(Debug, Clone)]
pub(crate) struct LocalStore {
    root: PathBuf,
    url: String,
}

impl LocalStore {
    /// The directory must exist: a mistyped `--objects` path creates nothing.
    pub(crate) async fn open(root: PathBuf, url: String) -> Result<Self> {
        let checked = root.clone();
        let meta = blocking(move || std::fs::metadata(&checked)).await;
        match meta {
            Ok(m) if m.is_dir() => Ok(LocalStore { root, url }),
            Ok(_) => Err(Error::NoSuchDirectory {
                url,
                detail: "it is not a directory".into(),
            }),
            Err(e) => Err(Error::NoSuchDirectory {
                url,
                detail: e.to_string(),
            }),
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    pub(crate) async fn put_file(&self, key: &str, src: &Path) -> Result<ObjectInfo> {
        let (src, dest) = (src.to_path_buf(), self.path(key));
        let (size, sha256) =
            blocking(move || atomic::copy_hashed(&src, &dest, Durability::Synced, |_, _| Ok(())))
                .await?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    /// Stores the file zstd-compressed; the file's own size and SHA-256.
    pub(crate) async fn put_file_zstd(&self, key: &str, src: &Path) -> Result<ObjectInfo> {
        let (src, dest) = (src.to_path_buf(), self.path(key));
        let (size, sha256) = blocking(move || atomic::copy_compressed(&src, &dest)).await?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    pub(crate) async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<ObjectInfo> {
        let dest = self.path(key);
        let (size, sha256) = crate::hash::of(&bytes);
        blocking(move || {
            let mut out = AtomicFile::create(&dest)?;
            out.write_all(&bytes)?;
            out.commit(Durability::Synced)
        })
        .await?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    /// Copies the object to `dest`; with `expected`, a copy whose size or SHA-256 differs
    /// is refused before it replaces `dest`.
    pub(crate) async fn get_file(
        &self,
        key: &str,
        dest: &Path,
        expected: Option<&Entry>,
    ) -> Result<ObjectInfo> {
        let src = self.path(key);
        if !self.is_object(&src).await {
            return Err(self.not_found(key));
        }
        let dest = dest.to_path_buf();
        let (url, owned_key, expected) = (self.url.clone(), key.to_string(), expected.cloned());
        let copied = blocking(move || {
            let check = |size, sha256: &str| match &expected {
                Some(e) => e.verify(&url, &owned_key, size, sha256),
                None => Ok(()),
            };
            match expected.as_ref().and_then(|e| e.encoding) {
                None => atomic::copy_hashed(&src, &dest, Durability::Renamed, check),
                Some(encoding) => {
                    let undecodable = |detail| Error::Undecodable {
                        url: url.clone(),
                        key: owned_key.clone(),
                        encoding: encoding.name(),
                        detail,
                    };
                    atomic::copy_decompressed(&src, &dest, undecodable, check)
                }
            }
        })
        .await;
        let (size, sha256) = match copied {
            // Deleted between the check above and the copy.
            Err(Error::Io {
                operation: "open",
                source,
                ..
            }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(self.not_found(key));
            }
            other => other?,
        };
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    pub(crate) async fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key);
        if !self.is_object(&path).await {
            return Err(self.not_found(key));
        }
        blocking(move || std::fs::read(&path).map_err(|e| Error::io("read", path, e))).await
    }

    pub(crate) async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.is_object(&self.path(key)).await)
    }

    async fn is_object(&self, path: &Path) -> bool {
        let path = path.to_path_buf();
        blocking(move || path.is_file()).await
    }

    fn not_found(&self, key: &str) -> Error {
        Error::NotFound {
            url: self.url.clone(),
            key: key.to_string(),
        }
    }

    /// Every object below `prefix/` (or the whole store for `""`), sorted by key.
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let root = self.root.clone();
        let start = self.path(prefix);
        blocking(move || {
            let mut out = Vec::new();
            walk(&root, &start, &mut out)?;
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
        .await
    }

    /// Removes `prefix/` and everything below it; the number of objects it held.
    pub(crate) async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let count = self.list(prefix).await?.len() as u64;
        let dir = self.path(prefix);
        blocking(move || match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(()),
            Err(e) => Err(Error::io("remove", dir, e)),
        })
        .await?;
        Ok(count)
    }
}

/// Collects the files below `dir` as keys relative to `root`, skipping temporary files
/// and names that are not valid keys (they cannot have been written through a store).
fn walk(root: &Path, dir: &Path, out: &mut Vec<Listed>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("inspect", &path, e))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let Some(key) = relative_key(root, &path) else {
                tracing::warn!(path = %path.display(), "not listed: its name is not a valid object key");
                continue;
            };
            let size = entry
                .metadata()
                .map_err(|e| Error::io("inspect", &path, e))?
                .len();
            out.push(Listed { key, size });
        }
    }
    Ok(())
}

/// `a/b/c` for `root/a/b/c`, when every component is UTF-8 and the result a valid key.
pub(crate) fn relative_key(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let key = parts?.join("/");
    key::check(&key).ok().map(|()| key)
}

/// Runs blocking filesystem work off the async threads. A panic in it is re-raised here.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
