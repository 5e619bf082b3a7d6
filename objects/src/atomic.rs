//! Files that appear whole or not at all: written to a temporary file beside the
//! destination, flushed to disk, then renamed over it. A reader (or a crash) never sees
//! half a file under the real name.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::hash::Hasher;
use crate::key::TEMP_PREFIX;

/// A file being written for `dest`. Dropped without [`AtomicFile::commit`], the temporary
/// file is removed and `dest` is untouched.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    tmp: NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    /// Creates `dest`'s parent directories and a temporary file among them.
    pub(crate) fn create(dest: &Path) -> Result<Self> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(parent)
            .map_err(|e| Error::io("create a temporary file in", parent, e))?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// The temporary file, to write through.
    pub(crate) fn file(&self) -> &File {
        self.tmp.as_file()
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let path = self.tmp.path().to_path_buf();
        self.tmp
            .write_all(bytes)
            .map_err(|e| Error::io("write", path, e))
    }

    /// Flushes the data to disk, then renames it to its destination (replacing any file
    /// there), so a crash after the rename cannot leave an empty or partial file.
    pub(crate) fn commit(self) -> Result<()> {
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| Error::io("flush", self.tmp.path(), e))?;
        let dest = self.dest;
        self.tmp
            .persist(&dest)
            .map_err(|e| Error::io("rename a temporary file to", &dest, e.error))?;
        Ok(())
    }
}

/// Copies `src` to `dest` atomically, hashing on the way; `check` sees the size and
/// SHA-256 before the rename and can refuse the file (then `dest` is untouched).
/// Blocking: call from `spawn_blocking`.
pub(crate) fn copy_hashed(
    src: &Path,
    dest: &Path,
    check: impl FnOnce(u64, &str) -> Result<()>,
) -> Result<(u64, String)> {
    let mut input = File::open(src).map_err(|e| Error::io("open", src, e))?;
    let mut out = AtomicFile::create(dest)?;
    let mut hasher = Hasher::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| Error::io("read", src, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    let (size, sha256) = hasher.finish();
    check(size, &sha256)?;
    out.commit()?;
    Ok((size, sha256))
}
