//! An object written while its bytes are still being produced (a job's output followed as
//! it grows, `crate::follow`): a multipart upload started at the first full part, each
//! part sent once 5 MiB are pending (doubling every thousand parts, so S3's 10,000-part
//! limit is never reached); one PUT instead when the whole is smaller than a part.

use aws_sdk_s3::types::CompletedPart;

use super::{S3Store, multipart};
use crate::error::Result;
use crate::settings::MIN_PART_SIZE;

pub(crate) struct GrowingUpload {
    store: S3Store,
    key: String,
    full: String,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    pending: Vec<u8>,
}

impl GrowingUpload {
    pub(crate) fn new(store: &S3Store, key: &str) -> Self {
        GrowingUpload {
            store: store.clone(),
            key: key.to_string(),
            full: store.full_key(key),
            upload_id: None,
            parts: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Takes the next stored bytes; sends a part once enough are pending.
    pub(crate) async fn push(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.pending.extend_from_slice(&bytes);
        let part_size = MIN_PART_SIZE << (self.parts.len() / 1000).min(16);
        if (self.pending.len() as u64) < part_size {
            return Ok(());
        }
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = multipart::create(&self.store, &self.key, &self.full).await?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let part = std::mem::take(&mut self.pending);
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let done =
            multipart::send_part(&self.store, &self.key, &self.full, &upload_id, number, part)
                .await?;
        self.parts.push(done);
        Ok(())
    }

    /// The last bytes: the object takes its key (completed, or one PUT).
    pub(crate) async fn finish(mut self, last: Vec<u8>) -> Result<()> {
        self.pending.extend_from_slice(&last);
        let Some(upload_id) = self.upload_id.take() else {
            return self.store.put_object(&self.key, self.pending).await;
        };
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let pending = std::mem::take(&mut self.pending);
        let sent = multipart::send_part(
            &self.store,
            &self.key,
            &self.full,
            &upload_id,
            number,
            pending,
        )
        .await;
        let parts = std::mem::take(&mut self.parts);
        let completed = match sent {
            Ok(last) => {
                let mut parts = parts;
                parts.push(last);
                multipart::complete(&self.store, &self.key, &self.full, &upload_id, parts).await
            }
            Err(e) => Err(e),
        };
        if completed.is_err() {
            multipart::abort(&self.store, &self.key, &self.full, &upload_id).await;
        }
        completed
    }

    /// Gives the upload up: nothing takes the key (its parts are deleted).
    pub(crate) async fn abandon(mut self) {
        if let Some(upload_id) = self.upload_id.take() {
            multipart::abort(&self.store, &self.key, &self.full, &upload_id).await;
        }
    }
}
