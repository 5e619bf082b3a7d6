//! Building the S3 client from the AWS environment and our settings, and `open`'s check:
//! credentials resolve, then the bucket answers a HEAD.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    Credentials, ProvideCredentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::S3Store;
use super::failure::{Failure, chain};
use crate::error::{Error, Result};
use crate::settings::{MIN_PART_SIZE, S3Settings};
use crate::url::redact;

/// One attempt of one request, a part upload included (16 MiB in 5 minutes is 55 KB/s).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(300);
/// One request, its retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(900);
/// `open`'s HEAD of the bucket: a few quick attempts, bounded by `check_timeout`.
const CHECK_ATTEMPTS: u32 = 3;

/// The region when neither the settings nor the environment name one: S3-compatible
/// servers ignore it, and AWS answers a wrong one with the bucket's region.
const FALLBACK_REGION: &str = "us-east-1";

impl S3Store {
    pub(crate) async fn connect(
        url: String,
        bucket: String,
        prefix: String,
        settings: &S3Settings,
    ) -> Result<Self> {
        let endpoint = settings
            .endpoint
            .clone()
            .filter(|e| !e.trim().is_empty())
            .or_else(|| env_nonempty("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env_nonempty("AWS_ENDPOINT_URL"));

        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(settings.connect_timeout)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            // S3-compatible servers reject or mis-handle the CRC checksums the SDK adds to
            // every request by default; ask for them only where S3 requires one.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(c) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.clone(),
                c.session_token.clone(),
                None,
                "warden-settings",
            ));
        }
        if let Some(endpoint) = &endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        let sdk = loader.load().await;

        let region = sdk
            .region()
            .cloned()
            .unwrap_or_else(|| Region::new(FALLBACK_REGION));
        let shown_endpoint = match &endpoint {
            Some(e) => redact(e),
            None => format!("AWS S3 in {region}"),
        };
        tracing::debug!(%url, endpoint = %shown_endpoint, %region, "opening S3 object store");

        check_credentials(&sdk, &url, settings.check_timeout).await?;

        let mut conf = aws_sdk_s3::config::Builder::from(&sdk)
            .region(region)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if endpoint.is_some() {
            // MinIO, moto and most S3-compatible servers have no per-bucket host names.
            conf = conf.force_path_style(true);
        }
        let store = S3Store {
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            bucket,
            prefix,
            url,
            endpoint: shown_endpoint,
            multipart_threshold: settings.multipart_threshold,
            part_size: settings.multipart_threshold.max(MIN_PART_SIZE),
            list_page_size: settings.list_page_size,
        };
        store.check_bucket(settings).await?;
        Ok(store)
    }

    /// HEAD the bucket with a short retry schedule, so a wrong endpoint, a missing bucket
    /// or a denied policy is reported by `open` rather than by the first job.
    async fn check_bucket(&self, settings: &S3Settings) -> Result<()> {
        let quick = aws_sdk_s3::config::Builder::new()
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(CHECK_ATTEMPTS.min(settings.max_attempts.max(1)))
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(settings.connect_timeout)
                    .operation_timeout(settings.check_timeout)
                    .build(),
            );
        let result = self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .customize()
            .config_override(quick)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match Failure::of(&e) {
                // HEAD has no body, so a missing bucket is a bare 404.
                Failure::NoSuchKey => self.failure_error(Failure::NoSuchBucket, "HeadBucket", None),
                other => self.failure_error(other, "HeadBucket", None),
            }),
        }
    }
}

/// Resolves the credentials once, now: "none found" then names the variables to set,
/// instead of surfacing later as a signing failure inside some job's upload.
async fn check_credentials(sdk: &aws_config::SdkConfig, url: &str, limit: Duration) -> Result<()> {
    let no_credentials = |detail: String| Error::NoCredentials {
        url: url.to_string(),
        detail,
    };
    let Some(provider) = sdk.credentials_provider() else {
        return Err(no_credentials(
            "no credential provider is configured".into(),
        ));
    };
    match tokio::time::timeout(limit, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(no_credentials(chain(&e))),
        Err(_) => Err(no_credentials(format!(
            "the credential providers did not answer within {} s",
            limit.as_secs()
        ))),
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
