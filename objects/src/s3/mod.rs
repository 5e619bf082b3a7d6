//! The S3 backend (AWS or an S3-compatible server), through `aws-sdk-s3`. Requests are
//! retried by the SDK's standard retry strategy; a download whose body breaks off is
//! started again here, since the SDK retries requests, not bodies.

mod connect;
mod failure;
mod growing;
mod multipart;

use std::fmt;
use std::path::Path;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use bytes::Bytes;

use crate::atomic;
use crate::encoding::{Compressing, HashingReader};
use crate::error::{Error, Result};
use crate::hash;
use crate::key;
use crate::local::blocking;
use crate::manifest::Entry;
use crate::store::{Listed, ObjectInfo};
use failure::{Failure, chain};
pub(crate) use growing::GrowingUpload;
use multipart::Parts;

/// Whole-object attempts for a download whose body fails mid-stream.
const BODY_ATTEMPTS: u32 = 3;
/// Chunks of a download between the network and the thread writing them out.
const CHUNKS_AHEAD: usize = 16;
/// S3's limit on keys per DeleteObjects request.
const DELETE_BATCH: usize = 1000;

#[derive(Clone)]
pub(crate) struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Below the bucket, no leading or trailing `/`; `""` for the whole bucket.
    prefix: String,
    url: String,
    /// Shown in errors: the endpoint URL without any user info, or "AWS S3 in REGION".
    endpoint: String,
    multipart_threshold: u64,
    part_size: u64,
    list_page_size: Option<i32>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("multipart_threshold", &self.multipart_threshold)
            .finish_non_exhaustive()
    }
}

/// A body that failed mid-stream can be fetched again; anything else is final.
enum Fetch {
    Body(String),
    Final(Error),
}

impl From<Error> for Fetch {
    fn from(e: Error) -> Self {
        Fetch::Final(e)
    }
}

impl S3Store {
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn full_key(&self, key: &str) -> String {
        key::join(&self.prefix, key)
    }

    /// The `Error` for a failed request: the failure's meaning, with the store's URL.
    fn error<E>(&self, err: SdkError<E>, operation: &'static str, key: Option<&str>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.failure_error(Failure::of(&err), operation, key)
    }

    fn failure_error(&self, failure: Failure, operation: &'static str, key: Option<&str>) -> Error {
        let url = self.url.clone();
        match failure {
            Failure::Unreachable(detail) => Error::Unreachable {
                url,
                endpoint: self.endpoint.clone(),
                detail,
            },
            Failure::NoSuchBucket => Error::NoSuchBucket {
                url,
                bucket: self.bucket.clone(),
            },
            Failure::NoSuchKey => match key {
                Some(key) => Error::NotFound {
                    url,
                    key: key.to_string(),
                },
                None => Error::S3 {
                    url,
                    operation,
                    key: None,
                    detail: "not found".into(),
                },
            },
            Failure::BadCredentials(code) => Error::CredentialsRejected { url, code },
            Failure::AccessDenied => Error::AccessDenied {
                url,
                operation,
                key: key.map(str::to_string),
            },
            Failure::WrongRegion(region) => Error::WrongRegion {
                url,
                bucket: self.bucket.clone(),
                region: region.unwrap_or_else(|| "another region".into()),
            },
            Failure::Other(detail) => Error::S3 {
                url,
                operation,
                key: key.map(str::to_string),
                detail,
            },
        }
    }

    pub(crate) async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<ObjectInfo> {
        let (size, sha256) = hash::of(&bytes);
        self.put_object(key, bytes).await?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    async fn put_object(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.error(e, "PutObject", Some(key)))?;
        Ok(())
    }

    /// Up to the multipart threshold, one PUT of the file's bytes (read whole: a part is
    /// held in memory either way); above it, a multipart upload.
    pub(crate) async fn put_file(&self, key: &str, path: &Path) -> Result<ObjectInfo> {
        let size = regular_file_size(path).await?;
        if size > self.multipart_threshold {
            let owned = path.to_path_buf();
            let file = blocking(move || std::fs::File::open(&owned))
                .await
                .map_err(|e| Error::io("open", path, e))?;
            let reader = HashingReader::new(file);
            let mut parts = Parts::new(reader, path, multipart::part_size(self.part_size, size));
            let first = parts.next().await?;
            multipart::upload(self, key, first, &mut parts).await?;
            let (size, sha256) = parts.into_inner().finish();
            return Ok(ObjectInfo {
                key: key.to_string(),
                size,
                sha256,
            });
        }
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| Error::io("read", path, e))?;
        self.put_bytes(key, bytes).await
    }

    /// Stores the file zstd-compressed, compressing as it uploads: one PUT when it
    /// compresses to less than a part, else a multipart upload. The file's own size and
    /// SHA-256.
    pub(crate) async fn put_file_zstd(&self, key: &str, path: &Path) -> Result<ObjectInfo> {
        let size = regular_file_size(path).await?;
        let owned = path.to_path_buf();
        let source = blocking(move || Compressing::open(&owned)).await?;
        // Compressed, it is no larger than the file (plus a frame's few bytes): the file's
        // size bounds the part count.
        let mut parts = Parts::new(source, path, multipart::part_size(self.part_size, size));
        let first = parts.next().await?;
        if (first.len() as u64) < parts.part_size() {
            self.put_object(key, first).await?;
        } else {
            multipart::upload(self, key, first, &mut parts).await?;
        }
        let (size, sha256) = parts.into_inner().finish();
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        })
    }

    /// Downloads `key` to `dest`, checked against `expected`; an object stored compressed
    /// (as `expected` says) is decoded as it arrives.
    pub(crate) async fn get_file(
        &self,
        key: &str,
        dest: &Path,
        expected: Option<&Entry>,
    ) -> Result<ObjectInfo> {
        let mut attempt = 1;
        loop {
            match self.fetch_to(key, dest, expected).await {
                Ok(info) => return Ok(info),
                Err(Fetch::Final(e)) => return Err(e),
                Err(Fetch::Body(detail)) if attempt < BODY_ATTEMPTS => {
                    tracing::warn!(url = %self.url, key, attempt, %detail, "download broke off; fetching again");
                    attempt += 1;
                }
                Err(Fetch::Body(detail)) => return Err(self.body_error(key, detail)),
            }
        }
    }

    /// Streams the object into a temporary file beside `dest`: the body's chunks go to a
    /// blocking thread that decodes, hashes and writes them (`atomic::Landing`), so the
    /// runtime's threads only move bytes. Renamed to `dest` only once whole and matching
    /// `expected`.
    async fn fetch_to(
        &self,
        key: &str,
        dest: &Path,
        expected: Option<&Entry>,
    ) -> std::result::Result<ObjectInfo, Fetch> {
        let mut body = self.open_body(key).await?;
        // `Some(chunk)`, then `None` at the body's end: a channel closed without it is a
        // body cut off, and the landing is dropped unfinished.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<Bytes>>(CHUNKS_AHEAD);
        let (url, owned_key, target, expected) = (
            self.url.clone(),
            key.to_string(),
            dest.to_path_buf(),
            expected.cloned(),
        );
        // Spawned now, not when first polled: the loop below may fill the channel first.
        let mut landing = tokio::task::spawn_blocking(move || {
            let encoding = expected.as_ref().and_then(|e| e.encoding);
            let undecodable = |detail| Error::Undecodable {
                url: url.clone(),
                key: owned_key.clone(),
                encoding: encoding.map_or("none", |e| e.name()),
                detail,
            };
            let mut landing = atomic::Landing::create(&target, encoding, &undecodable)?;
            loop {
                match rx.blocking_recv() {
                    Some(Some(chunk)) => landing.write(&chunk, &undecodable)?,
                    Some(None) => break,
                    None => return Ok(None),
                }
            }
            let check = |size, sha256: &str| match &expected {
                Some(e) => e.verify(&url, &owned_key, size, sha256),
                None => Ok(()),
            };
            landing.finish(&undecodable, check).map(Some)
        });
        let mut broke = None;
        let mut landed = None;
        loop {
            tokio::select! {
                biased;
                // The landing ends early only on an error of its own (a write, a bad stream).
                out = &mut landing => { landed = Some(out); break; }
                chunk = body.next() => match chunk {
                    Some(Ok(bytes)) => { let _ = tx.send(Some(bytes)).await; }
                    Some(Err(e)) => { broke = Some(chain(&e)); break; }
                    None => { let _ = tx.send(None).await; break; }
                },
            }
        }
        drop(tx);
        let landed = match landed {
            Some(out) => out,
            None => landing.await,
        }
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        match (landed, broke) {
            (Err(e), _) => Err(Fetch::Final(e)),
            (Ok(_), Some(detail)) => Err(Fetch::Body(detail)),
            (Ok(Some((size, sha256))), None) => Ok(ObjectInfo {
                key: key.to_string(),
                size,
                sha256,
            }),
            (Ok(None), None) => Err(Fetch::Body("the download stopped before its end".into())),
        }
    }

    async fn open_body(&self, key: &str) -> Result<ByteStream> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| self.error(e, "GetObject", Some(key)))?;
        Ok(out.body)
    }

    fn body_error(&self, key: &str, detail: String) -> Error {
        Error::S3 {
            url: self.url.clone(),
            operation: "GetObject",
            key: Some(key.to_string()),
            detail: format!("the body broke off {BODY_ATTEMPTS} times, last: {detail}"),
        }
    }

    pub(crate) async fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        let mut attempt = 1;
        loop {
            let body = self.open_body(key).await?;
            match body.collect().await {
                Ok(bytes) => return Ok(bytes.into_bytes().to_vec()),
                Err(e) => {
                    let detail = chain(&e);
                    if attempt >= BODY_ATTEMPTS {
                        return Err(self.body_error(key, detail));
                    }
                    tracing::warn!(url = %self.url, key, attempt, %detail, "download broke off; fetching again");
                    attempt += 1;
                }
            }
        }
    }

    pub(crate) async fn exists(&self, key: &str) -> Result<bool> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match Failure::of(&e) {
                Failure::NoSuchKey => Ok(false),
                other => Err(self.failure_error(other, "HeadObject", Some(key))),
            },
        }
    }

    /// ListObjectsV2, page after page (`list_page_size` keys each).
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let base = self.full_key(prefix);
        let s3_prefix = if base.is_empty() {
            String::new()
        } else {
            format!("{base}/")
        };
        let store_prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&s3_prefix)
                .set_max_keys(self.list_page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error(e, "ListObjectsV2", Some(prefix)))?;
            for object in page.contents() {
                let Some(full) = object.key() else { continue };
                let relative = full.strip_prefix(&store_prefix).unwrap_or_default();
                if key::check(relative).is_err() {
                    // A "folder" marker (`a/`) or a key written by another tool.
                    tracing::debug!(key = full, "not listed: not a valid object key");
                    continue;
                }
                out.push(Listed {
                    key: relative.to_string(),
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Lists `prefix/`, then deletes in batches of 1,000 (DeleteObjects).
    pub(crate) async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let listed = self.list(prefix).await?;
        let build_error = |e: aws_sdk_s3::error::BuildError| Error::S3 {
            url: self.url.clone(),
            operation: "DeleteObjects",
            key: Some(prefix.to_string()),
            detail: e.to_string(),
        };
        for batch in listed.chunks(DELETE_BATCH) {
            let ids = batch
                .iter()
                .map(|l| {
                    ObjectIdentifier::builder()
                        .key(self.full_key(&l.key))
                        .build()
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(build_error)?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.error(e, "DeleteObjects", Some(prefix)))?;
            if let Some(first) = out.errors().first() {
                return Err(Error::S3 {
                    url: self.url.clone(),
                    operation: "DeleteObjects",
                    key: first.key().map(str::to_string),
                    detail: format!(
                        "{} of {} keys not deleted; first: {} {}",
                        out.errors().len(),
                        batch.len(),
                        first.code().unwrap_or("?"),
                        first.message().unwrap_or("")
                    ),
                });
            }
        }
        Ok(listed.len() as u64)
    }
}

/// The size of the regular file at `path`; anything else is refused.
async fn regular_file_size(path: &Path) -> Result<u64> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| Error::io("inspect", path, e))?;
    if !meta.is_file() {
        let not_file = std::io::Error::other("not a regular file");
        return Err(Error::io("upload", path, not_file));
    }
    Ok(meta.len())
}
