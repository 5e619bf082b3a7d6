//! What can go wrong with an object store, each error naming the store (its URL, never a
//! credential) and what to do about it.

use std::path::PathBuf;

/// An object store error. Every variant names the store's URL as the operator wrote it
/// (any `user:password@` part removed) and, where one applies, the key or local path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "malformed object store URL `{url}`: {reason}; expected s3://BUCKET/PREFIX, \
         file:///ABSOLUTE/PATH or a plain path"
    )]
    InvalidUrl { url: String, reason: String },

    #[error(
        "invalid object key `{key}`: {reason}; keys are relative paths like runs/R/jobs/J/attempts/1/out.csv"
    )]
    InvalidKey { key: String, reason: String },

    #[error(
        "cannot reach the object store {url} at {endpoint}: {detail}; check that the server \
         is running and that --objects / AWS_ENDPOINT_URL point at it"
    )]
    Unreachable {
        url: String,
        endpoint: String,
        detail: String,
    },

    #[error(
        "no AWS credentials found for {url} ({detail}): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY \
         or AWS_PROFILE; see docs/deployment.md"
    )]
    NoCredentials { url: String, detail: String },

    #[error(
        "the credentials for {url} were refused ({code}): check AWS_ACCESS_KEY_ID/\
         AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and that they are for this endpoint; see \
         docs/deployment.md"
    )]
    CredentialsRejected { url: String, code: String },

    #[error("bucket `{bucket}` does not exist ({url}): create it, or fix --objects")]
    NoSuchBucket { url: String, bucket: String },

    #[error(
        "bucket `{bucket}` is in region {region}, not the one configured ({url}): \
         set AWS_REGION={region}"
    )]
    WrongRegion {
        url: String,
        bucket: String,
        region: String,
    },

    #[error(
        "access denied to {url} ({operation}{}): the credentials' policy must allow it \
         (s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject on the bucket and prefix)",
        key_suffix(key)
    )]
    AccessDenied {
        url: String,
        operation: &'static str,
        key: Option<String>,
    },

    #[error(
        "local object store {url} is not a usable directory: {detail}; create it, or fix --objects"
    )]
    NoSuchDirectory { url: String, detail: String },

    #[error("no object `{key}` in {url}")]
    NotFound { url: String, key: String },

    #[error(
        "no manifest at `{key}` in {url}: the upload of that prefix never completed (or the \
         prefix is wrong); its files, if any, must not be used"
    )]
    NoManifest { url: String, key: String },

    #[error("manifest `{key}` in {url} is unreadable: {detail}")]
    BadManifest {
        url: String,
        key: String,
        detail: String,
    },

    #[error(
        "object `{key}` in {url} does not match its manifest: expected {expected_size} bytes \
         with SHA-256 {expected_sha256}, found {actual_size} bytes with SHA-256 {actual_sha256}; \
         it was changed after the manifest was written (a late writer?) and is not used"
    )]
    Mismatch {
        url: String,
        key: String,
        expected_size: u64,
        expected_sha256: String,
        actual_size: u64,
        actual_sha256: String,
    },

    #[error(
        "object `{key}` in {url} is not the {encoding} stream its manifest says ({detail}): it \
         was changed after the manifest was written (a late writer?) and is not used"
    )]
    Undecodable {
        url: String,
        key: String,
        encoding: &'static str,
        detail: String,
    },

    #[error(
        "object `{key}` listed in the manifest of {url} is missing: the prefix was changed \
         after its manifest was written"
    )]
    MissingObject { url: String, key: String },

    #[error("{operation} `{}`: {source}", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{operation}{} on {url} failed: {detail}", key_suffix(key))]
    S3 {
        url: String,
        operation: &'static str,
        key: Option<String>,
        detail: String,
    },
}

fn key_suffix(key: &Option<String>) -> String {
    key.as_ref()
        .map(|k| format!(" of `{k}`"))
        .unwrap_or_default()
}

impl Error {
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            operation,
            path: path.into(),
            source,
        }
    }
}

/// A result whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
