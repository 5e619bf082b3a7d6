//! Multipart upload of a large file: parts read in order (so the SHA-256 is computed on
//! the way), up to four in flight; a failure aborts the upload so no parts linger (and
//! are billed) in the bucket.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use super::S3Store;
use crate::error::{Error, Result};
use crate::hash::Hasher;
use crate::store::ObjectInfo;

/// Parts uploading at once: the memory bound is this times the part size.
const PARTS_IN_FLIGHT: usize = 4;
/// S3's limit on parts per upload.
const MAX_PARTS: u64 = 10_000;

/// The part size for a file of `size` bytes: the configured one, grown when the file
/// would otherwise need more than 10,000 parts.
pub(crate) fn part_size(configured: u64, size: u64) -> u64 {
    configured.max(size.div_ceil(MAX_PARTS))
}

pub(super) async fn upload(store: &S3Store, key: &str, path: &Path) -> Result<ObjectInfo> {
    let full = store.full_key(key);
    let created = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(&full)
        .send()
        .await
        .map_err(|e| store.error(e, "CreateMultipartUpload", Some(key)))?;
    let Some(upload_id) = created.upload_id().map(str::to_string) else {
        return Err(Error::S3 {
            url: store.url.clone(),
            operation: "CreateMultipartUpload",
            key: Some(key.to_string()),
            detail: "the server returned no upload id".into(),
        });
    };
    let result = match send_parts(store, key, &full, &upload_id, path).await {
        Ok((parts, hasher)) => complete(store, key, &full, &upload_id, parts)
            .await
            .map(|()| hasher.finish()),
        Err(e) => Err(e),
    };
    match result {
        Ok((size, sha256)) => Ok(ObjectInfo {
            key: key.to_string(),
            size,
            sha256,
        }),
        Err(e) => {
            abort(store, key, &full, &upload_id).await;
            Err(e)
        }
    }
}

/// Reads the file part by part, hashing each before it is sent.
async fn send_parts(
    store: &S3Store,
    key: &str,
    full: &str,
    upload_id: &str,
    path: &Path,
) -> Result<(Vec<CompletedPart>, Hasher)> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io("open", path, e))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| Error::io("inspect", path, e))?
        .len();
    let part_size = part_size(store.part_size, size);
    let mut hasher = Hasher::default();
    let mut in_flight: JoinSet<Result<CompletedPart>> = JoinSet::new();
    let mut done = Vec::new();
    let mut number = 0i32;
    loop {
        let mut part = Vec::with_capacity(usize::try_from(part_size).unwrap_or(usize::MAX));
        (&mut file)
            .take(part_size)
            .read_to_end(&mut part)
            .await
            .map_err(|e| Error::io("read", path, e))?;
        if part.is_empty() {
            break;
        }
        hasher.update(&part);
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
        in_flight.spawn(async move {
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
                .map_err(|e| store.error(e, "UploadPart", Some(&key)))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build())
        });
    }
    while !in_flight.is_empty() {
        done.push(next_done(&mut in_flight).await?);
    }
    done.sort_by_key(|p| p.part_number());
    Ok((done, hasher))
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

async fn complete(
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
async fn abort(store: &S3Store, key: &str, full: &str, upload_id: &str) {
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
