//! The S3 backend against a real S3 server: moto on loopback (`bash .ci/moto.sh`), each
//! test in a bucket of its own. Outside CI a missing moto skips these tests with a
//! message; under `CI=true` it fails them. The error tests that need no server (an
//! unreachable endpoint, no credentials) always run.

mod common;

use std::time::{Duration, Instant};

use common::{
    content, contract, dir_contract, follow_contract, moto, new_bucket, raw_client, sha256, unique,
    write,
};
use warden_objects::{Error, ObjectStore, S3Settings, StaticCredentials};

#[tokio::test]
async fn s3_store_keeps_the_contract() {
    let Some(settings) = moto() else { return };
    let bucket = new_bucket(&settings).await;
    let scratch = tempfile::tempdir().unwrap();
    let store = ObjectStore::open_with(&format!("s3://{bucket}/warden/data/"), &settings)
        .await
        .unwrap();
    assert_eq!(store.url(), format!("s3://{bucket}/warden/data"));
    contract(&store, scratch.path()).await;

    // Keys are relative to the URL's prefix: the whole bucket shows them below it.
    let whole = ObjectStore::open_with(&format!("s3://{bucket}"), &settings)
        .await
        .unwrap();
    let listed: Vec<String> = whole
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(listed, ["warden/data/ab"]);
}

#[tokio::test]
async fn s3_store_moves_directories_with_their_manifest() {
    let Some(mut settings) = moto() else { return };
    // The 6 MiB file goes up in two parts inside upload_dir.
    settings.multipart_threshold = 5 * 1024 * 1024;
    let bucket = new_bucket(&settings).await;
    let scratch = tempfile::tempdir().unwrap();
    let store = ObjectStore::open_with(&format!("s3://{bucket}/p"), &settings)
        .await
        .unwrap();
    dir_contract(&store, scratch.path(), 6 * 1024 * 1024).await;
    // The 6 MiB of random bytes do not compress: compressed as it went up, it still took
    // two parts (S3 marks a multipart object's ETag with its part count).
    let big = raw_client(&settings)
        .head_object()
        .bucket(&bucket)
        .key("p/runs/2025-02-28/jobs/ADJ.A-P01/attempts/1/big.bin")
        .send()
        .await
        .unwrap();
    let etag = big.e_tag().unwrap_or_default();
    assert!(etag.trim_matches('"').ends_with("-2"), "ETag {etag}");
}

#[tokio::test]
async fn s3_store_follows_files_as_they_grow() {
    let Some(settings) = moto() else { return };
    let bucket = new_bucket(&settings).await;
    let scratch = tempfile::tempdir().unwrap();
    let store = ObjectStore::open_with(&format!("s3://{bucket}/p"), &settings)
        .await
        .unwrap();
    follow_contract(&store, scratch.path()).await;
    let client = raw_client(&settings);
    // The grown file's 9 MiB of random bytes went up as parts while it grew.
    let grown = client
        .head_object()
        .bucket(&bucket)
        .key("p/runs/2025-02-28/jobs/RECON/attempts/1/out/grown.bin")
        .send()
        .await
        .unwrap();
    let etag = grown.e_tag().unwrap_or_default();
    assert!(
        etag.trim_matches('"').contains('-'),
        "ETag {etag}: not multipart"
    );
    // The follows given up (a file rewritten, replaced, gone) left no upload behind.
    assert_no_upload_left(&client, &bucket).await;
}

#[tokio::test]
async fn large_files_go_up_in_parts_and_come_back_whole() {
    let Some(mut settings) = moto() else { return };
    settings.multipart_threshold = 5 * 1024 * 1024;
    let bucket = new_bucket(&settings).await;
    let store = ObjectStore::open_with(&format!("s3://{bucket}"), &settings)
        .await
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    // 5 MiB + 5 MiB + 123 bytes: three parts, the last one small.
    let bytes = content(10 * 1024 * 1024 + 123, 42);
    let src = scratch.path().join("checkpoint.bin");
    write(&src, &bytes);

    let info = store.put_file("runs/r/checkpoint.bin", &src).await.unwrap();
    assert_eq!(
        (info.size, info.sha256.clone()),
        (bytes.len() as u64, sha256(&bytes))
    );

    // S3 marks a multipart object's ETag with its part count.
    let client = raw_client(&settings);
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("runs/r/checkpoint.bin")
        .send()
        .await
        .unwrap();
    let etag = head.e_tag().unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "ETag {etag} is not of a 3-part upload"
    );
    assert_eq!(head.content_length(), Some(bytes.len() as i64));
    // Nothing half-done left in the bucket.
    assert_no_upload_left(&client, &bucket).await;

    let dest = scratch.path().join("back/checkpoint.bin");
    let back = store
        .get_file("runs/r/checkpoint.bin", &dest)
        .await
        .unwrap();
    assert_eq!(back, info);
    assert!(
        std::fs::read(&dest).unwrap() == bytes,
        "downloaded bytes differ"
    );

    // Below the threshold: one PUT (an ETag without a part count).
    let small = scratch.path().join("small.bin");
    write(&small, &content(5 * 1024 * 1024, 43));
    store.put_file("runs/r/small.bin", &small).await.unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("runs/r/small.bin")
        .send()
        .await
        .unwrap();
    assert!(
        !head.e_tag().unwrap_or_default().contains('-'),
        "{:?}",
        head.e_tag()
    );
}

#[tokio::test]
async fn listing_follows_pages_to_the_end() {
    let Some(mut settings) = moto() else { return };
    settings.list_page_size = Some(40);
    let bucket = new_bucket(&settings).await;
    let store = ObjectStore::open_with(&format!("s3://{bucket}/tenant"), &settings)
        .await
        .unwrap();

    let mut puts = tokio::task::JoinSet::new();
    for i in 0..230 {
        let store = store.clone();
        puts.spawn(async move {
            store
                .put_bytes(&format!("many/{i:04}.part"), vec![b'x'; i % 7])
                .await
        });
    }
    while let Some(put) = puts.join_next().await {
        put.unwrap().unwrap();
    }
    store.put_bytes("many-more/x", b"x".to_vec()).await.unwrap();

    // 230 keys at 40 a page: six pages, every key once, in order.
    let listed = store.list("many").await.unwrap();
    assert_eq!(listed.len(), 230);
    for (i, l) in listed.iter().enumerate() {
        assert_eq!(l.key, format!("many/{i:04}.part"));
        assert_eq!(l.size, (i % 7) as u64);
    }
    assert_eq!(store.list("").await.unwrap().len(), 231);

    assert_eq!(store.delete_prefix("many").await.unwrap(), 230);
    let left: Vec<String> = store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(left, ["many-more/x"]);
}

#[tokio::test]
async fn a_missing_bucket_is_reported_by_open_without_the_secret() {
    let Some(settings) = moto() else { return };
    let bucket = unique("warden-absent");
    let err = ObjectStore::open_with(&format!("s3://{bucket}/x"), &settings)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NoSuchBucket { .. }), "{err:?}");
    assert!(
        text.contains(&format!("bucket `{bucket}` does not exist")),
        "{text}"
    );
    assert!(text.contains(&format!("s3://{bucket}/x")), "{text}");
    assert!(text.contains("create it, or fix --objects"), "{text}");
    assert!(!format!("{text} {err:?}").contains("warden-test-secret-key"));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_reported_quickly() {
    let settings = S3Settings {
        endpoint: Some("http://127.0.0.1:1".into()),
        ..common::moto_settings()
    };
    let started = Instant::now();
    let err = ObjectStore::open_with("s3://warden-nowhere/x", &settings)
        .await
        .unwrap_err();
    let took = started.elapsed();
    let text = err.to_string();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(text.contains("http://127.0.0.1:1"), "{text}");
    assert!(text.contains("s3://warden-nowhere/x"), "{text}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_is_bounded_by_the_check_timeout() {
    // A listener that accepts connections and never says anything.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = S3Settings {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        check_timeout: Duration::from_secs(2),
        ..common::moto_settings()
    };
    let started = Instant::now();
    let err = ObjectStore::open_with("s3://warden-silent", &settings)
        .await
        .unwrap_err();
    let took = started.elapsed();
    drop(listener);
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

/// Runs [`missing_credentials_child`] in a process of its own whose environment has no
/// credentials, no AWS files and no instance metadata: the real default chain, finding
/// nothing. (A test cannot clear its own process's environment safely.)
#[test]
fn missing_credentials_are_reported_with_what_to_set() {
    let home = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "missing_credentials_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("WARDEN_OBJECTS_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

#[tokio::test]
#[ignore = "run by missing_credentials_are_reported_with_what_to_set, in an empty environment"]
async fn missing_credentials_child() {
    assert_eq!(std::env::var("WARDEN_OBJECTS_CHILD").as_deref(), Ok("1"));
    assert!(std::env::var("AWS_ACCESS_KEY_ID").is_err());
    let settings = S3Settings {
        credentials: None,
        // Nothing listens here: the check must stop before any request.
        endpoint: Some("http://127.0.0.1:1".into()),
        ..common::moto_settings()
    };
    let err = ObjectStore::open_with("s3://warden-no-credentials/p", &settings)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NoCredentials { .. }), "{err:?}");
    assert!(
        text.contains("set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"),
        "{text}"
    );
    assert!(text.contains("s3://warden-no-credentials/p"), "{text}");
}

#[tokio::test]
async fn credentials_in_the_url_are_refused_before_anything_else() {
    let err = ObjectStore::open_with("s3://AKIA:sekrit@claims/x", &common::moto_settings())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("sekrit"));
}

#[tokio::test]
async fn static_credentials_reach_the_server_and_are_not_shown() {
    let Some(mut settings) = moto() else { return };
    let bucket = new_bucket(&settings).await;
    settings.credentials = Some(StaticCredentials::new("AKIDWARDEN", "another-secret-value"));
    let store = ObjectStore::open_with(&format!("s3://{bucket}"), &settings)
        .await
        .unwrap();
    store.put_bytes("k", b"v".to_vec()).await.unwrap();
    let shown = format!("{store:?} {settings:?}");
    assert!(!shown.contains("another-secret-value"), "{shown}");
}

/// No multipart upload is left half-done (and billed) in the bucket.
async fn assert_no_upload_left(client: &aws_sdk_s3::Client, bucket: &str) {
    let uploads = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("multipart uploads listed");
    assert!(uploads.uploads().is_empty(), "{:?}", uploads.uploads());
}
