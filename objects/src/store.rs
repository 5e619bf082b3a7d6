//! `ObjectStore`: one interface over the two backends. It checks keys, then hands each
//! call to the backend; the backends never see an unchecked key.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::encoding::Encoding;
use crate::error::{Error, Result};
use crate::follow::Follow;
use crate::key;
use crate::local::{LocalStore, blocking};
use crate::manifest::Entry;
use crate::s3::{GrowingUpload, S3Store};
use crate::settings::S3Settings;
use crate::url::{self, Location};

/// What a write stored: the key, its size and the SHA-256 of its bytes (lower-case hex),
/// computed while the bytes were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// One object of a listing. Keys are relative to the store's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// A store of job files: a local directory or an S3 prefix. Cheap to clone (the S3
/// client is shared); safe to use from many tasks at once.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(LocalStore),
    S3(S3Store),
}

impl ObjectStore {
    /// Opens `url` (`s3://bucket/prefix`, `file:///abs/path` or a path) with the settings
    /// of the AWS environment, and checks at once that it is usable.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, &S3Settings::default()).await
    }

    /// Opens `url` with explicit S3 settings (an endpoint, a region, credentials, the
    /// multipart threshold) and checks it: the directory exists, or the credentials
    /// resolve and the bucket answers.
    pub async fn open_with(url: &str, settings: &S3Settings) -> Result<Self> {
        let location = url::parse(url)?;
        let shown = location.url();
        let backend = match location {
            Location::Local { root } => Backend::Local(LocalStore::open(root, shown).await?),
            Location::S3 { bucket, prefix } => {
                Backend::S3(S3Store::connect(shown, bucket, prefix, settings).await?)
            }
        };
        Ok(ObjectStore { backend })
    }

    /// The store's canonical URL (no credentials: they never are in it).
    pub fn url(&self) -> &str {
        match &self.backend {
            Backend::Local(s) => s.url(),
            Backend::S3(s) => s.url(),
        }
    }

    /// Uploads the file at `path` as `key`, streaming it from disk (in parts above the
    /// multipart threshold) and hashing it on the way.
    pub async fn put_file(&self, key: &str, path: impl AsRef<Path>) -> Result<ObjectInfo> {
        key::check(key)?;
        let path = path.as_ref();
        match &self.backend {
            Backend::Local(s) => s.put_file(key, path).await,
            Backend::S3(s) => s.put_file(key, path).await,
        }
    }

    /// Uploads the file at `path` as `key`, stored with `encoding` (`None`: as it is); the
    /// info is the file's own size and SHA-256, whatever is stored.
    pub(crate) async fn put_file_encoded(
        &self,
        key: &str,
        path: &Path,
        encoding: Option<Encoding>,
    ) -> Result<ObjectInfo> {
        key::check(key)?;
        match (&self.backend, encoding) {
            (_, None) => self.put_file(key, path).await,
            (Backend::Local(s), Some(Encoding::Zstd)) => s.put_file_zstd(key, path).await,
            (Backend::S3(s), Some(Encoding::Zstd)) => s.put_file_zstd(key, path).await,
        }
    }

    /// Starts uploading the file at `path` as `key` (zstd-compressed) while it is still
    /// being written: see [`Follow`]. Nothing takes the key before [`Follow::finish`].
    pub async fn follow(&self, key: &str, path: &Path) -> Result<Follow> {
        key::check(key)?;
        let (key, path) = (key.to_string(), path.to_path_buf());
        match &self.backend {
            Backend::Local(s) => {
                let dest = s.path(&key);
                blocking(move || Follow::start_local(&key, &path, &dest)).await
            }
            Backend::S3(s) => {
                let upload = GrowingUpload::new(s, &key);
                blocking(move || Follow::start_s3(&key, &path, upload)).await
            }
        }
    }

    /// Stores `bytes` as `key`.
    pub async fn put_bytes(&self, key: &str, bytes: impl Into<Vec<u8>>) -> Result<ObjectInfo> {
        key::check(key)?;
        let bytes = bytes.into();
        match &self.backend {
            Backend::Local(s) => s.put_bytes(key, bytes).await,
            Backend::S3(s) => s.put_bytes(key, bytes).await,
        }
    }

    /// Downloads `key` to `path` (parent directories created): written to a temporary file
    /// beside it and renamed, so `path` is never a partial file. Returns what was written.
    pub async fn get_file(&self, key: &str, path: impl AsRef<Path>) -> Result<ObjectInfo> {
        self.get_file_checked(key, path.as_ref(), None).await
    }

    /// As [`ObjectStore::get_file`]; with `expected`, a download whose size or SHA-256
    /// differs is refused and `path` left as it was, and an object stored encoded (as the
    /// entry says) is decoded.
    pub(crate) async fn get_file_checked(
        &self,
        key: &str,
        path: &Path,
        expected: Option<&Entry>,
    ) -> Result<ObjectInfo> {
        key::check(key)?;
        match &self.backend {
            Backend::Local(s) => s.get_file(key, path, expected).await,
            Backend::S3(s) => s.get_file(key, path, expected).await,
        }
    }

    /// The bytes of `key`; [`Error::NotFound`] when there is no such object.
    pub async fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        key::check(key)?;
        match &self.backend {
            Backend::Local(s) => s.get_bytes(key).await,
            Backend::S3(s) => s.get_bytes(key).await,
        }
    }

    /// Whether `key` is an object.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        key::check(key)?;
        match &self.backend {
            Backend::Local(s) => s.exists(key).await,
            Backend::S3(s) => s.exists(key).await,
        }
    }

    /// Every object below `prefix/` (`""`: the whole store), sorted by key. A prefix is a
    /// whole path: `runs/r1` lists `runs/r1/...`, not `runs/r10/...`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let prefix = key::check_prefix(prefix)?;
        match &self.backend {
            Backend::Local(s) => s.list(prefix).await,
            Backend::S3(s) => s.list(prefix).await,
        }
    }

    /// Deletes every object below `prefix/`; the number deleted. An empty prefix is
    /// refused: deleting a whole store is not a job for this call.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let prefix = key::check_prefix(prefix)?;
        if prefix.is_empty() {
            return Err(Error::InvalidKey {
                key: String::new(),
                reason: "delete_prefix needs a prefix; it never deletes a whole store".into(),
            });
        }
        match &self.backend {
            Backend::Local(s) => s.delete_prefix(prefix).await,
            Backend::S3(s) => s.delete_prefix(prefix).await,
        }
    }
}
