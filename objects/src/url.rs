//! The store's URL: `s3://BUCKET/PREFIX`, `file:///ABSOLUTE/PATH` or a plain path.
//!
//! Parsed by hand (three forms, no percent-encoding) rather than with a URL crate: the
//! rules that matter here are ours, such as refusing credentials in the URL.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::key;

/// Where a store keeps its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A bucket and a key prefix inside it (`""` for the whole bucket; no leading or
    /// trailing `/`).
    S3 { bucket: String, prefix: String },
    /// A directory; keys are paths below it.
    Local { root: PathBuf },
}

impl Location {
    /// The canonical URL, as errors and logs show it: `s3://bucket/prefix` or
    /// `file:///abs/path`.
    pub fn url(&self) -> String {
        match self {
            Location::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            Location::Local { root } => format!("file://{}", root.display()),
        }
    }
}

/// Parses a store URL. A relative plain path is made absolute against the current
/// directory, so the store stays where it was opened if the process changes directory.
pub fn parse(url: &str) -> Result<Location> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: redact(url),
        reason: reason.to_string(),
    };
    if url.trim().is_empty() {
        return Err(invalid("it is empty"));
    }
    if url.chars().any(char::is_control) {
        return Err(invalid("it contains a control character"));
    }
    let Some((scheme, rest)) = split_scheme(url) else {
        let root = std::path::absolute(url)
            .map_err(|e| invalid(&format!("the path cannot be made absolute: {e}")))?;
        return Ok(Location::Local { root });
    };
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(invalid(&format!("`{scheme}:` must be followed by `//`")));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "s3" => parse_s3(rest).map_err(|r| invalid(&r)),
        "file" => parse_file(rest).map_err(|r| invalid(&r)),
        other => Err(invalid(&format!(
            "unknown scheme `{other}` (use s3:// or file://; for a relative path containing \
             a colon, write ./PATH)"
        ))),
    }
}

/// `("s3", "//bucket")` from `s3://bucket`, when the string starts with an RFC 3986 scheme.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

fn parse_s3(rest: &str) -> std::result::Result<Location, String> {
    if rest.contains(['?', '#']) {
        return Err("query strings and fragments are not part of an object store URL".into());
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.contains('@') {
        return Err(
            "credentials never go in the URL: use the AWS environment or profile (docs/deployment.md)"
                .into(),
        );
    }
    check_bucket(bucket)?;
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        key::check(prefix).map_err(|e| match e {
            Error::InvalidKey { reason, .. } => format!("prefix `{prefix}`: {reason}"),
            other => other.to_string(),
        })?;
    }
    Ok(Location::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

/// S3's bucket naming rules (the ones a typo breaks): 3 to 63 characters, lower-case
/// letters, digits, `.` and `-`, starting and ending with a letter or digit.
fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    if bucket.is_empty() {
        return Err("the bucket is missing".into());
    }
    let ok_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ok_ends = bucket
        .chars()
        .next()
        .zip(bucket.chars().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !ok_chars || !ok_ends {
        return Err(format!(
            "`{bucket}` is not a bucket name (3 to 63 lower-case letters, digits, `.` or `-`, \
             starting and ending with a letter or digit)"
        ));
    }
    Ok(())
}

fn parse_file(rest: &str) -> std::result::Result<Location, String> {
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
        return Err(format!(
            "a file URL names no host (`{host}`); write file:///ABSOLUTE/PATH with three slashes"
        ));
    }
    if path.is_empty() {
        return Err("the path is missing: write file:///ABSOLUTE/PATH".into());
    }
    if rest.contains(['?', '#']) {
        return Err("query strings and fragments are not part of an object store URL".into());
    }
    Ok(Location::Local {
        root: PathBuf::from(path),
    })
}

/// The URL with any `user:password@` part replaced, so a credential someone put in a URL
/// is never echoed into an error or a log.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str) -> Location {
        Location::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    fn reason(url: &str) -> String {
        match parse(url) {
            Err(Error::InvalidUrl { reason, .. }) => reason,
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        assert_eq!(parse("s3://claims").unwrap(), s3("claims", ""));
        assert_eq!(parse("s3://claims/").unwrap(), s3("claims", ""));
        assert_eq!(parse("s3://claims/warden").unwrap(), s3("claims", "warden"));
        assert_eq!(
            parse("s3://claims.prod-1/warden/data/").unwrap(),
            s3("claims.prod-1", "warden/data")
        );
        assert_eq!(parse("S3://claims/x").unwrap(), s3("claims", "x"));
    }

    #[test]
    fn file_urls_and_plain_paths_are_local() {
        let local = |p: &str| Location::Local { root: p.into() };
        assert_eq!(parse("file:///srv/warden").unwrap(), local("/srv/warden"));
        assert_eq!(
            parse("file://localhost/srv/warden").unwrap(),
            local("/srv/warden")
        );
        assert_eq!(parse("/srv/warden").unwrap(), local("/srv/warden"));
        let relative = parse("data/objects").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            relative,
            Location::Local {
                root: cwd.join("data/objects")
            }
        );
        assert_eq!(
            parse("./data:2024").unwrap(),
            Location::Local {
                root: cwd.join("./data:2024")
            }
        );
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        assert!(reason("s3:/x").contains("`s3:` must be followed by `//`"));
        assert!(reason("s3:bucket").contains("must be followed by `//`"));
        assert!(reason("s3://").contains("bucket is missing"));
        assert!(reason("s3:///prefix").contains("bucket is missing"));
        assert!(reason("s3://Claims/x").contains("not a bucket name"));
        assert!(reason("s3://ab").contains("not a bucket name"));
        assert!(reason("s3://-claims").contains("not a bucket name"));
        assert!(reason("s3://claims/a//b").contains("prefix `a//b`"));
        assert!(reason("s3://claims/a/../b").contains("prefix"));
        assert!(reason("s3://claims/x?versionId=1").contains("query strings"));
        assert!(reason("gs://claims/x").contains("unknown scheme `gs`"));
        assert!(reason("https://s3.amazonaws.com/claims").contains("unknown scheme `https`"));
        assert!(reason("file://srv/warden").contains("three slashes"));
        assert!(reason("file://").contains("path is missing"));
        assert!(reason("").contains("empty"));
        assert!(reason("  ").contains("empty"));
    }

    #[test]
    fn credentials_in_a_url_are_refused_and_never_echoed() {
        let err = parse("s3://AKIAEXAMPLE:sEcReT@claims/warden").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("credentials never go in the URL"), "{text}");
        assert!(
            !text.contains("sEcReT") && !text.contains("AKIAEXAMPLE"),
            "{text}"
        );
        assert!(text.contains("s3://***@claims/warden"), "{text}");
    }

    #[test]
    fn canonical_urls_round_trip() {
        for url in [
            "s3://claims",
            "s3://claims/warden/data",
            "file:///srv/warden",
        ] {
            assert_eq!(parse(url).unwrap().url(), url);
        }
    }
}
