//! What a caller can set beyond the URL. Everything defaults to the AWS environment and
//! profile chain, so `ObjectStore::open(url)` needs nothing else in production.

use std::fmt;
use std::time::Duration;

/// Files above this go up as multipart uploads; it is also the part size.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;

/// S3's smallest part (every part but the last must be at least this big).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// How an S3 store is reached. Ignored for a local store.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// An S3-compatible server (MinIO, moto, Ceph); path-style addressing is used with it.
    /// `None`: `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`, else AWS itself.
    pub endpoint: Option<String>,
    /// `None`: `AWS_REGION` or the profile's region, else `us-east-1`.
    pub region: Option<String>,
    /// `None`: the standard chain (environment, `AWS_PROFILE` and the shared files, web
    /// identity, ECS and EC2 instance roles). Never from the URL.
    pub credentials: Option<StaticCredentials>,
    /// Files larger than this are uploaded in parts of this size (at least 5 MiB).
    pub multipart_threshold: u64,
    /// Keys per listing request (`None`: the server's default, 1,000 on S3).
    pub list_page_size: Option<i32>,
    /// Attempts per request, the first included, with exponential backoff between them.
    pub max_attempts: u32,
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// The bound on `open`'s check of the bucket, retries included, so a wrong endpoint
    /// is reported in seconds rather than after a full retry schedule.
    pub check_timeout: Duration,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            region: None,
            credentials: None,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            list_page_size: None,
            max_attempts: 5,
            connect_timeout: Duration::from_secs(5),
            check_timeout: Duration::from_secs(15),
        }
    }
}

/// An access key given in code (tests, or a secret store the caller reads). Its `Debug`
/// shows the key id only.
#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl StaticCredentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        StaticCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let mut c = StaticCredentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI");
        c.session_token = Some("FwoGZXIvYXdzEXAMPLE".into());
        let shown = format!(
            "{:?}",
            S3Settings {
                credentials: Some(c),
                ..S3Settings::default()
            }
        );
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
        assert!(
            !shown.contains("wJalrXUtnFEMI") && !shown.contains("FwoGZXIv"),
            "{shown}"
        );
    }
}
