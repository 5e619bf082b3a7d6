//! How a file is stored: as it is, or zstd-compressed. A directory's files travel
//! compressed (job outputs are mostly CSV and fixed-size records: 3–5× smaller at zstd's
//! fastest level, which compresses faster than an S3 PUT carries the bytes). The manifest
//! keeps the size and SHA-256 of the file itself, not of what is stored, so a reader checks
//! what the job will read, end to end, whatever the encoding.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::Hasher;

/// A stored file's encoding; a manifest entry without one is stored as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Zstd,
}

impl Encoding {
    /// As the manifest writes it.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Zstd => "zstd",
        }
    }
}

/// zstd's fastest level: the data plane's bottleneck is the network or the store, and
/// higher levels gain little on these files (1 % on CSV) for several times the CPU.
pub(crate) const ZSTD_LEVEL: i32 = 1;

/// Files below this size are stored as they are: compressing them saves nothing worth a
/// frame.
const COMPRESS_FROM: u64 = 4096;

/// zstd worker threads per compressed file: one per core. (A file smaller than a zstd job,
/// a few MiB, uses one of them.)
fn compress_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
}

/// How `upload_dir` stores a file of `size` bytes.
pub(crate) fn for_size(size: u64) -> Option<Encoding> {
    (size >= COMPRESS_FROM).then_some(Encoding::Zstd)
}

/// A reader that hashes what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::default(),
        }
    }

    /// The size and SHA-256 of what was read.
    pub(crate) fn finish(self) -> (u64, String) {
        self.hasher.finish()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes what passes through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Hasher::default(),
        }
    }

    /// The size and SHA-256 of what was written, and the writer.
    pub(crate) fn finish(self) -> ((u64, String), W) {
        (self.hasher.finish(), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file's zstd-compressed bytes, produced as they are read (blocking); the original's
/// size and SHA-256 once it is read to the end.
pub(crate) struct Compressing {
    encoder: zstd::stream::read::Encoder<'static, io::BufReader<HashingReader<File>>>,
    path: PathBuf,
}

impl Compressing {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let reader = HashingReader::new(file);
        let mut encoder = zstd::stream::read::Encoder::new(reader, ZSTD_LEVEL)
            .map_err(|e| Error::io("compress", path, e))?;
        // zstd's own worker threads compress while this thread reads and hashes: a large
        // file (reconcile's CSV, setup's members) would otherwise compress on one core
        // while the job's other core waits for its save. One frame either way.
        encoder
            .multithread(compress_workers())
            .map_err(|e| Error::io("compress", path, e))?;
        Ok(Compressing {
            encoder,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The size and SHA-256 of the file read (call once it has been read to the end).
    pub(crate) fn finish(self) -> (u64, String) {
        self.encoder.finish().into_inner().finish()
    }
}

impl Read for Compressing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.encoder.read(buf)
    }
}

/// Where a zstd stream is written back as the original bytes, hashed on the way.
pub(crate) struct Decompressing<W: Write> {
    decoder: zstd::stream::write::Decoder<'static, HashingWriter<W>>,
}

impl<W: Write> Decompressing<W> {
    pub(crate) fn new(out: W) -> io::Result<Self> {
        Ok(Decompressing {
            decoder: zstd::stream::write::Decoder::new(HashingWriter::new(out))?,
        })
    }

    /// Takes the next stored bytes.
    pub(crate) fn write_all(&mut self, stored: &[u8]) -> io::Result<()> {
        self.decoder.write_all(stored)
    }

    /// Checks the stream ended on a whole frame; the original's size and SHA-256, and the
    /// writer.
    pub(crate) fn finish(self) -> io::Result<((u64, String), W)> {
        let mut writer = self.decoder.finish()?;
        writer.flush()?;
        Ok(writer.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash;

    #[test]
    fn compressing_then_decompressing_gives_the_file_and_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims.csv");
        let text: String = (0..20_000)
            .map(|i| format!("C{i:08},M{:07},99213,{}.00\n", i % 977, i % 300))
            .collect();
        std::fs::write(&path, &text).unwrap();
        let mut compressing = Compressing::open(&path).unwrap();
        let mut stored = Vec::new();
        compressing.read_to_end(&mut stored).unwrap();
        assert!(
            stored.len() * 3 < text.len(),
            "{} of {}",
            stored.len(),
            text.len()
        );
        assert_eq!(compressing.finish(), hash::of(text.as_bytes()));

        let mut back = Decompressing::new(Vec::new()).unwrap();
        for chunk in stored.chunks(1000) {
            back.write_all(chunk).unwrap();
        }
        let (info, bytes) = back.finish().unwrap();
        assert_eq!(bytes, text.as_bytes());
        assert_eq!(info, hash::of(text.as_bytes()));
    }

    #[test]
    fn a_cut_stream_is_an_error_not_a_short_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 100_000]).unwrap();
        let mut stored = Vec::new();
        Compressing::open(&path)
            .unwrap()
            .read_to_end(&mut stored)
            .unwrap();
        let mut back = Decompressing::new(Vec::new()).unwrap();
        back.write_all(&stored[..stored.len() - 3]).unwrap();
        assert!(back.finish().is_err());
    }

    #[test]
    fn only_files_worth_a_frame_are_compressed() {
        assert_eq!(for_size(0), None);
        assert_eq!(for_size(COMPRESS_FROM - 1), None);
        assert_eq!(for_size(COMPRESS_FROM), Some(Encoding::Zstd));
    }
}
