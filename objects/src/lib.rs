//! Warden's data plane (issue #14): job files (work-directory outputs, logs, partition
//! inputs, checkpoints, results) in an object store, so workers on other hosts share
//! them. One interface, [`ObjectStore`], over two backends: a local directory and S3 (or
//! an S3-compatible server). See `docs/objects.md`.
//!
//! - Keys are relative paths below the store's URL, checked before any I/O ([`key`]).
//! - Writes are whole or absent: a temporary file renamed (local), a PUT or a completed
//!   multipart upload (S3).
//! - A directory travels with its [`Manifest`] (SHA-256 per file), written last:
//!   [`upload_dir`] and [`download_dir`].
//! - A file a job is still appending to can be uploaded as it grows ([`Follow`]), checked
//!   again when the job ended.

mod atomic;
mod dirs;
mod encoding;
pub mod error;
mod follow;
mod hash;
pub mod key;
mod local;
pub mod manifest;
mod s3;
mod settings;
mod store;
pub mod url;

pub use dirs::{download_dir, download_dir_where, upload_dir, upload_dir_following};
pub use encoding::Encoding;
pub use error::{Error, Result};
pub use follow::Follow;
pub use key::attempt_prefix;
pub use manifest::{Entry, MANIFEST_NAME, Manifest};
pub use settings::{DEFAULT_MULTIPART_THRESHOLD, MIN_PART_SIZE, S3Settings, StaticCredentials};
pub use store::{Listed, ObjectInfo, ObjectStore};
