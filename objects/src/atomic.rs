//! Files that appear whole or not at all: written to a temporary file beside the
//! destination, flushed to disk, then renamed over it. A reader (or a crash) never sees
//! half a file under the real name.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::encoding::{Compressing, Decompressing, Encoding, HashingWriter};
use crate::error::{Error, Result};
use crate::hash::Hasher;
use crate::key::TEMP_PREFIX;

/// Whether a write must survive an operating-system crash once renamed. What the store
/// keeps must (`Synced`); a download to a job's work directory is a copy of what the store
/// keeps, renamed into place without waiting for the disk (`Renamed`): a process crash
/// cannot cut it, and after an operating-system crash the host takes nothing it downloaded
/// before on trust (staging's markers carry the boot they were written in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    Synced,
    Renamed,
}

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

    /// Renames the file to its destination (replacing any file there). `Synced` flushes the
    /// data to disk first, so an operating-system crash after the rename cannot leave an
    /// empty or partial file under the name.
    pub(crate) fn commit(self, durability: Durability) -> Result<()> {
        if durability == Durability::Synced {
            self.tmp
                .as_file()
                .sync_all()
                .map_err(|e| Error::io("flush", self.tmp.path(), e))?;
        }
        let dest = self.dest;
        self.tmp
            .persist(&dest)
            .map_err(|e| Error::io("rename a temporary file to", &dest, e.error))?;
        Ok(())
    }
}

/// Copies `src` to `dest` atomically (flushed or not, as `durability` says), hashing on the way; `check` sees the size and
/// SHA-256 before the rename and can refuse the file (then `dest` is untouched).
/// Blocking: call from `spawn_blocking`.
pub(crate) fn copy_hashed(
    src: &Path,
    dest: &Path,
    durability: Durability,
    check: impl FnOnce(u64, &str) -> Result<()>,
) -> Result<(u64, String)> {
    let input = File::open(src).map_err(|e| Error::io("open", src, e))?;
    let mut out = AtomicFile::create(dest)?;
    let mut hasher = Hasher::default();
    each_chunk(input, src, |chunk| {
        hasher.update(chunk);
        out.write_all(chunk)
    })?;
    let (size, sha256) = hasher.finish();
    check(size, &sha256)?;
    out.commit(durability)?;
    Ok((size, sha256))
}

/// Writes `src` zstd-compressed to `dest` atomically; the size and SHA-256 of `src` itself.
/// Blocking: call from `spawn_blocking`.
pub(crate) fn copy_compressed(src: &Path, dest: &Path) -> Result<(u64, String)> {
    let mut source = Compressing::open(src)?;
    let out = AtomicFile::create(dest)?;
    let mut sink: &File = out.file();
    std::io::copy(&mut source, &mut sink).map_err(|e| Error::io("compress", source.path(), e))?;
    let info = source.finish();
    out.commit(Durability::Synced)?;
    Ok(info)
}

/// Writes the zstd stream in `src` back as the original bytes to `dest`, atomically;
/// `check` sees their size and SHA-256 before the rename and can refuse them. A stream that
/// is not zstd, or is cut off, is `undecodable(why)`. A download: renamed, not flushed
/// ([`Durability::Renamed`]). Blocking: call from `spawn_blocking`.
pub(crate) fn copy_decompressed(
    src: &Path,
    dest: &Path,
    undecodable: impl Fn(String) -> Error,
    check: impl FnOnce(u64, &str) -> Result<()>,
) -> Result<(u64, String)> {
    let input = File::open(src).map_err(|e| Error::io("open", src, e))?;
    let mut landing = Landing::create(dest, Some(Encoding::Zstd), &undecodable)?;
    each_chunk(input, src, |chunk| landing.write(chunk, &undecodable))?;
    landing.finish(&undecodable, check)
}

/// A download being written to `dest` as its bytes arrive, decoded as they are stored
/// (zstd, or as they are) and hashed as the job will read them. It takes `dest`'s name
/// only in [`Landing::finish`], once checked, renamed without a flush (a download:
/// [`Durability::Renamed`]); dropped before, its temporary file is removed and `dest` is
/// untouched. Blocking: use it from `spawn_blocking`.
pub(crate) struct Landing {
    out: AtomicFile,
    sink: Sink,
}

enum Sink {
    Plain(HashingWriter<File>),
    Zstd(Decompressing<File>),
}

impl Landing {
    pub(crate) fn create(
        dest: &Path,
        encoding: Option<Encoding>,
        undecodable: &impl Fn(String) -> Error,
    ) -> Result<Self> {
        let out = AtomicFile::create(dest)?;
        let file = out
            .file()
            .try_clone()
            .map_err(|e| Error::io("open", dest, e))?;
        let sink = match encoding {
            None => Sink::Plain(HashingWriter::new(file)),
            Some(Encoding::Zstd) => {
                Sink::Zstd(Decompressing::new(file).map_err(|e| failed(&out.dest, undecodable, e))?)
            }
        };
        Ok(Landing { out, sink })
    }

    /// The next bytes as stored.
    pub(crate) fn write(
        &mut self,
        stored: &[u8],
        undecodable: &impl Fn(String) -> Error,
    ) -> Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(stored),
            Sink::Zstd(d) => d.write_all(stored),
        }
        .map_err(|e| failed(&self.out.dest, undecodable, e))
    }

    /// Ends the file (a zstd stream must end on a whole frame); `check` sees its size and
    /// SHA-256 and can refuse it, else it is renamed to `dest`.
    pub(crate) fn finish(
        self,
        undecodable: &impl Fn(String) -> Error,
        check: impl FnOnce(u64, &str) -> Result<()>,
    ) -> Result<(u64, String)> {
        let dest = &self.out.dest;
        let ended = match self.sink {
            Sink::Plain(mut w) => w.flush().map(|()| w.finish().0),
            Sink::Zstd(d) => d.finish().map(|(info, _)| info),
        };
        let (size, sha256) = ended.map_err(|e| failed(dest, undecodable, e))?;
        check(size, &sha256)?;
        self.out.commit(Durability::Renamed)?;
        Ok((size, sha256))
    }
}

/// A write error of the file system carries an OS error code; zstd's own do not.
fn failed(dest: &Path, undecodable: &impl Fn(String) -> Error, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(_) => Error::io("write", dest, e),
        None => undecodable(e.to_string()),
    }
}

/// Reads `input` (the file at `src`, named in errors) to its end, a megabyte at a time,
/// handing each chunk to `f`.
fn each_chunk(mut input: File, src: &Path, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| Error::io("read", src, e))?;
        if n == 0 {
            return Ok(());
        }
        f(&buf[..n])?;
    }
}
