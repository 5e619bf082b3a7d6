//! What an S3 failure means for the caller, decided from the SDK error's kind, HTTP status
//! and S3 error code, so each becomes the `Error` that says what to do.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No HTTP answer: connection refused or reset, DNS, TLS, a timeout.
    Unreachable(String),
    NoSuchBucket,
    /// A 404 without an S3 code (HEAD has no body) or `NoSuchKey`.
    NoSuchKey,
    /// The credentials were refused as credentials (unknown key, bad signature, expired).
    BadCredentials(String),
    AccessDenied,
    /// The bucket lives in another region (its name, when the server said).
    WrongRegion(Option<String>),
    Other(String),
}

impl Failure {
    pub(crate) fn of<E>(err: &SdkError<E>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                Failure::Unreachable(chain(err))
            }
            SdkError::ServiceError(ctx) => {
                let raw = ctx.raw();
                let status = raw.status().as_u16();
                let region = raw.headers().get("x-amz-bucket-region").map(str::to_string);
                let detail = format!(
                    "HTTP {status} {}: {}",
                    err.code().unwrap_or("(no error code)"),
                    err.message().unwrap_or("(no message)")
                );
                Failure::from_status(status, err.code(), region, detail)
            }
            _ => Failure::Other(chain(err)),
        }
    }

    /// The meaning of an HTTP status and S3 error code (pure, so it is tested directly:
    /// moto does not enforce permissions).
    pub(crate) fn from_status(
        status: u16,
        code: Option<&str>,
        region: Option<String>,
        detail: String,
    ) -> Failure {
        match (status, code) {
            (_, Some("NoSuchBucket")) => Failure::NoSuchBucket,
            (_, Some("NoSuchKey")) | (404, None | Some("NotFound")) => Failure::NoSuchKey,
            (
                _,
                Some(
                    c @ ("InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken"
                    | "TokenRefreshRequired"),
                ),
            ) => Failure::BadCredentials(c.to_string()),
            (403, _) | (_, Some("AccessDenied")) => Failure::AccessDenied,
            (301, _) | (_, Some("PermanentRedirect" | "AuthorizationHeaderMalformed")) => {
                Failure::WrongRegion(region)
            }
            _ => Failure::Other(detail),
        }
    }
}

/// An error and its sources, each once: `dispatch failure: io error: ...: Connection
/// refused (os error 111)`. (The SDK's `DisplayErrorContext` appends a `Debug` dump too.)
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(next) = source {
        let text = next.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = next.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(status: u16, code: Option<&str>) -> Failure {
        Failure::from_status(status, code, None, "detail".into())
    }

    #[test]
    fn statuses_and_codes_map_to_what_the_caller_can_act_on() {
        assert_eq!(of(404, Some("NoSuchBucket")), Failure::NoSuchBucket);
        assert_eq!(of(404, Some("NoSuchKey")), Failure::NoSuchKey);
        assert_eq!(of(404, None), Failure::NoSuchKey);
        assert_eq!(of(403, None), Failure::AccessDenied);
        assert_eq!(of(403, Some("AccessDenied")), Failure::AccessDenied);
        assert_eq!(
            of(403, Some("InvalidAccessKeyId")),
            Failure::BadCredentials("InvalidAccessKeyId".into())
        );
        assert_eq!(
            of(403, Some("SignatureDoesNotMatch")),
            Failure::BadCredentials("SignatureDoesNotMatch".into())
        );
        assert_eq!(
            Failure::from_status(301, None, Some("eu-west-1".into()), String::new()),
            Failure::WrongRegion(Some("eu-west-1".into()))
        );
        assert_eq!(
            of(500, Some("InternalError")),
            Failure::Other("detail".into())
        );
        assert_eq!(
            of(400, Some("InvalidArgument")),
            Failure::Other("detail".into())
        );
    }
}
