//! Multipart upload of a large file (or of a file being compressed, whose size is known
//! only at its end): parts read in order, off the runtime's threads (the source hashes
//! what it reads: `HashingReader`, `Compressing`), up to four in flight; a failure aborts the upload so no parts linger (and
//! are billed) in the bucket.

use std::io::Read;
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinSet;

use super::S3Store;
use crate::error::{Error, Result};
use crate::local::blocking;

/// Parts uploading at once: the memory bound is this times the part size.
const PARTS_IN_FLIGHT: usize = 4;
/// S3's limit on parts per upload.
const MAX_PARTS: u64 = 10_000;

/// The part size for a file of `size` bytes: the configured one, grown when the file
/// would otherwise need more than 10,000 parts.
pub(crate) fn part_size(configured: u64, size: u64) -> u64 {
    configured.max(size.div_ceil(MAX_PARTS))
}

/// A blocking source (a file, or a file being compressed) read a part at a time off the
/// runtime's threads.
pub(super) struct Parts<R> {
    reader: Option<R>,
    /// Named in read errors.
    path: PathBuf,
    part_size: u64,
}

impl<R: Read + Send + 'static> Parts<R> {
    pub(super) fn new(reader: R, path: &Path, part_size: u64) -> Self {
        Parts {
            reader: Some(reader),
            path: path.to_path_buf(),
            part_size,
        }
    }

    pub(super) fn part_size(&self) -> u64 {
        self.part_size
    }

    /// The next part: `part_size` bytes, fewer at the end, empty after it.
    pub(super) async fn next(&mut self) -> Result<Vec<u8>> {
        let Some(mut reader) = self.reader.take() else {
            unreachable!("a part is read only after the previous read returned")
        };
        let size = self.part_size;
        let (reader, part) = blocking(move || {
            let mut part = Vec::with_capacity(usize::try_from(size).unwrap_or(usize::MAX));
            let read = (&mut reader).take(size).read_to_end(&mut part);
            (reader, read.map(|_| part))
        })
        .await;
        self.reader = Some(reader);
        part.map_err(|e| Error::io("read", &self.path, e))
    }

    /// The source, once read.
    pub(super) fn into_inner(mut self) -> R {
        match self.reader.take() {
            Some(reader) => reader,
            None => unreachable!("the reader is put back after every part"),
        }
    }
}

/// Uploads `first` and the rest of `parts` as one multipart upload.
pub(super) async fn upload<R: Read + Send + 'static>(
    store: &S3Store,
    key: &str,
    first: Vec<u8>,
    parts: &mut Parts<R>,
) -> Result<()> {
    let full = store.full_key(key);
    let upload_id = create(store, key, &full).await?;
    let result = match send_parts(store, key, &full, &upload_id, first, parts).await {
        Ok(done) => complete(store, key, &full, &upload_id, done).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        abort(store, key, &full, &upload_id).await;
    }
    result
}

/// Starts a multipart upload of `full` (the bucket's key of `key`); its upload id.
pub(super) async fn create(store: &S3Store, key: &str, full: &str) -> Result<String> {
    let created = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(full)
        .send()
        .await
        .map_err(|e| store.error(e, "CreateMultipartUpload", Some(key)))?;
    created
        .upload_id()
        .map(str::to_string)
        .ok_or_else(|| Error::S3 {
            url: store.url.clone(),
            operation: "CreateMultipartUpload",
            key: Some(key.to_string()),
            detail: "the server returned no upload id".into(),
        })
}

/// Sends part `number` of an upload.
pub(super) async fn send_part(
    store: &S3Store,
    key: &str,
    full: &str,
    upload_id: &str,
    number: i32,
    part: Vec<u8>,
) -> Result<CompletedPart> {
    let out = store
        .client
        .upload_part()
        .bucket(&store.bucket)
        .key(full)
        .upload_id(upload_id)
        .part_number(number)
        .body(ByteStream::from(part))
        .send()
        .await
        .map_err(|e| store.error(e, "UploadPart", Some(key)))?;
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(out.e_tag)
        .build())
}

/// Sends the parts in order.
async fn send_parts<R: Read + Send + 'static>(
    store: &S3Store,
    key: &str,
    full: &str,
    upload_id: &str,
    first: Vec<u8>,
    parts: &mut Parts<R>,
) -> Result<Vec<CompletedPart>> {
    let mut in_flight: JoinSet<Result<CompletedPart>> = JoinSet::new();
    let mut done = Vec::new();
    let mut number = 0i32;
    let mut part = first;
    while !part.is_empty() {
        number += 1;
        while in_flight.len() >= PARTS_IN_FLIGHT {
            done.push(next_done(&mut in_flight).await?);
        }
        let (store, key, full, upload_id) = (
            store.clone(),
            key.to_string(),
            full.to_string(),
            upload_id.to_string(),
        );
        in_flight
            .spawn(async move { send_part(&store, &key, &full, &upload_id, number, part).await });
        part = parts.next().await?;
    }
    while !in_flight.is_empty() {
        done.push(next_done(&mut in_flight).await?);
    }
    done.sort_by_key(|p| p.part_number());
    Ok(done)
}

/// The next finished part; a panicked part task is re-raised here. Returning an error
/// drops the set, which cancels the parts still in flight.
async fn next_done(set: &mut JoinSet<Result<CompletedPart>>) -> Result<CompletedPart> {
    match set.join_next().await {
        Some(Ok(part)) => part,
        Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
        None => unreachable!("next_done is called only on a non-empty set"),
    }
}

pub(super) async fn complete(
    store: &S3Store,
    key: &str,
    full: &str,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> Result<()> {
    store
        .client
        .complete_multipart_upload()
        .bucket(&store.bucket)
        .key(full)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(|e| store.error(e, "CompleteMultipartUpload", Some(key)))?;
    Ok(())
}

/// Best effort: a failed abort is logged (a bucket lifecycle rule that aborts incomplete
/// uploads after a day cleans up what is left; see docs/objects.md).
pub(super) async fn abort(store: &S3Store, key: &str, full: &str, upload_id: &str) {
    let result = store
        .client
        .abort_multipart_upload()
        .bucket(&store.bucket)
        .key(full)
        .upload_id(upload_id)
        .send()
        .await;
    if let Err(e) = result {
        let e = store.error(e, "AbortMultipartUpload", Some(key));
        tracing::warn!(url = %store.url, key, upload_id, error = %e, "could not abort a failed multipart upload");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_only_past_ten_thousand() {
        let mib = 1024 * 1024;
        assert_eq!(part_size(16 * mib, 100 * mib), 16 * mib);
        assert_eq!(part_size(5 * mib, 50_000 * mib), 5 * mib);
        let huge = 200_000 * mib;
        assert_eq!(part_size(5 * mib, huge), huge.div_ceil(10_000));
        assert!(huge.div_ceil(part_size(5 * mib, huge)) <= 10_000);
    }
}
