//! A file uploaded while a job still writes it. A job's large outputs (setup's partition
//! files, reconcile's CSV) are appended to for most of the job; saving them only once the
//! job ended put their whole compression and upload on the run's critical path. A
//! [`Follow`] takes what has been appended since its last look ([`Follow::catch_up`]),
//! compressed as one zstd stream, into an upload under the file's key; [`Follow::finish`]
//! takes the rest once the job ended.
//!
//! Nothing is trusted on the way: the bytes taken during the job are hashed as they are
//! taken, and `finish` hashes the file's same bytes again. A file that was replaced,
//! truncated or rewritten in place since (anything but appended to) does not match, and
//! the follow is given up (its upload aborted): the caller uploads the file whole as
//! before. A follow's object takes its key only in `finish`, and means nothing until the
//! manifest that lists it is written.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::atomic::{AtomicFile, Durability};
use crate::encoding::ZSTD_LEVEL;
use crate::error::{Error, Result};
use crate::hash::Hasher;
use crate::local::blocking;
use crate::s3::GrowingUpload;
use crate::store::ObjectInfo;

/// A file being uploaded as it grows.
pub struct Follow {
    key: String,
    path: PathBuf,
    /// Device and inode: the file, not its name.
    identity: (u64, u64),
    /// `None` only while a blocking step has it.
    taker: Option<Taker>,
    sink: Sink,
}

/// What reads the file: its handle, how far it has been taken, the hash of those bytes,
/// and the encoder holding what they compress to.
struct Taker {
    file: File,
    taken: u64,
    hasher: Hasher,
    encoder: zstd::stream::write::Encoder<'static, Vec<u8>>,
}

/// Where the compressed bytes go.
enum Sink {
    /// A temporary file in the store's directory.
    Local(AtomicFile),
    S3(GrowingUpload),
}

impl std::fmt::Debug for Follow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follow")
            .field("key", &self.key)
            .field("path", &self.path)
            .field("taken", &self.taken())
            .finish_non_exhaustive()
    }
}

impl Follow {
    pub(crate) fn start_local(key: &str, path: &Path, dest: &Path) -> Result<Self> {
        Self::start(key, path, Sink::Local(AtomicFile::create(dest)?))
    }

    pub(crate) fn start_s3(key: &str, path: &Path, upload: GrowingUpload) -> Result<Self> {
        Self::start(key, path, Sink::S3(upload))
    }

    fn start(key: &str, path: &Path, sink: Sink) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let meta = file.metadata().map_err(|e| Error::io("inspect", path, e))?;
        let encoder = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)
            .map_err(|e| Error::io("compress", path, e))?;
        Ok(Follow {
            key: key.to_string(),
            path: path.to_path_buf(),
            identity: (meta.dev(), meta.ino()),
            taker: Some(Taker {
                file,
                taken: 0,
                hasher: Hasher::default(),
                encoder,
            }),
            sink,
        })
    }

    /// The key the file is uploaded as.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes of the file taken so far.
    pub fn taken(&self) -> u64 {
        self.taker.as_ref().map_or(0, |t| t.taken)
    }

    /// Takes what was appended to the file since the last call: compressed, and sent on
    /// once a part's worth is ready. It stops early (a megabyte at most later) once `stop`
    /// is set: the job ended, and stage-out takes the rest on every core. The byte count
    /// taken so far.
    pub async fn catch_up(&mut self, stop: &Arc<AtomicBool>) -> Result<u64> {
        let taker = self.take_taker();
        let path = self.path.clone();
        let stop = Arc::clone(stop);
        let (taker, stored) = blocking(move || {
            let mut taker = taker;
            let stored = taker.take_to_end(&path, &stop);
            (taker, stored)
        })
        .await;
        let taken = taker.taken;
        self.taker = Some(taker);
        self.send(stored?).await?;
        Ok(taken)
    }

    /// Once the job ended: if the file at `now` (a name of the same file, with what was
    /// taken unchanged at its start) is the one followed, takes the rest, completes the
    /// upload and returns the file's size and SHA-256. `None` when it is not (replaced,
    /// truncated, rewritten): the upload is given up and the caller uploads `now` whole.
    pub async fn finish(mut self, now: &Path) -> Result<Option<ObjectInfo>> {
        let same_file = std::fs::metadata(now)
            .map(|m| (m.dev(), m.ino()) == self.identity && m.len() >= self.taken())
            .unwrap_or(false);
        if !same_file {
            self.abandon().await;
            return Ok(None);
        }
        let taker = self.take_taker();
        let path = self.path.clone();
        let ended = blocking(move || taker.finish(&path)).await;
        match ended {
            Ok(Some((last, size, sha256))) => {
                match self.sink {
                    Sink::Local(mut out) => {
                        blocking(move || {
                            out.write_all(&last)?;
                            out.commit(Durability::Synced)
                        })
                        .await?;
                    }
                    Sink::S3(upload) => upload.finish(last).await?,
                }
                Ok(Some(ObjectInfo {
                    key: self.key,
                    size,
                    sha256,
                }))
            }
            Ok(None) => {
                self.abandon_sink().await;
                Ok(None)
            }
            Err(e) => {
                self.abandon_sink().await;
                Err(e)
            }
        }
    }

    /// Gives the follow up: nothing takes its key.
    pub async fn abandon(self) {
        self.abandon_sink().await;
    }

    async fn abandon_sink(self) {
        match self.sink {
            // Dropped uncommitted: the temporary file is removed.
            Sink::Local(..) => {}
            Sink::S3(upload) => upload.abandon().await,
        }
    }

    fn take_taker(&mut self) -> Taker {
        match self.taker.take() {
            Some(taker) => taker,
            None => unreachable!("the taker is put back after every step"),
        }
    }

    async fn send(&mut self, stored: Vec<u8>) -> Result<()> {
        if stored.is_empty() {
            return Ok(());
        }
        match &mut self.sink {
            Sink::Local(out) => {
                let mut handle = out
                    .file()
                    .try_clone()
                    .map_err(|e| Error::io("write", &self.path, e))?;
                let path = self.path.clone();
                blocking(move || {
                    handle
                        .write_all(&stored)
                        .map_err(|e| Error::io("write", &path, e))
                })
                .await
            }
            Sink::S3(upload) => upload.push(stored).await,
        }
    }
}

impl Taker {
    /// Reads from `taken` to the file's end (or until `stop` is set), compressing and
    /// hashing; the compressed bytes ready so far.
    fn take_to_end(&mut self, path: &Path, stop: &AtomicBool) -> Result<Vec<u8>> {
        self.file
            .seek(SeekFrom::Start(self.taken))
            .map_err(|e| Error::io("read", path, e))?;
        let mut buf = vec![0u8; 1 << 20];
        while !stop.load(Ordering::Relaxed) {
            let n = self
                .file
                .read(&mut buf)
                .map_err(|e| Error::io("read", path, e))?;
            if n == 0 {
                break;
            }
            self.hasher.update(&buf[..n]);
            self.encoder
                .write_all(&buf[..n])
                .map_err(|e| Error::io("compress", path, e))?;
            self.taken += n as u64;
        }
        Ok(std::mem::take(self.encoder.get_mut()))
    }

    /// Checks the bytes taken are still the file's first bytes, then takes the rest and
    /// ends the stream: the last compressed bytes, the file's size and SHA-256. `None`
    /// when the start of the file changed.
    fn finish(mut self, path: &Path) -> Result<Option<(Vec<u8>, u64, String)>> {
        let taken_then = self.hasher.clone().finish();
        let mut again = Hasher::default();
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io("read", path, e))?;
        let mut buf = vec![0u8; 1 << 20];
        let mut left = self.taken;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = self
                .file
                .read(&mut buf[..want])
                .map_err(|e| Error::io("read", path, e))?;
            if n == 0 {
                return Ok(None); // shorter than what was taken
            }
            again.update(&buf[..n]);
            left -= n as u64;
        }
        if again.finish() != taken_then {
            return Ok(None);
        }
        let mut last = self.take_to_end(path, &AtomicBool::new(false))?;
        let encoder = self.encoder;
        let tail = encoder
            .finish()
            .map_err(|e| Error::io("compress", path, e))?;
        last.extend_from_slice(&tail);
        let (size, sha256) = self.hasher.finish();
        Ok(Some((last, size, sha256)))
    }
}
