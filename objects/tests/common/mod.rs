//! What the object store tests share: unique names, files of known content, the moto
//! server of the S3 tests, and the contract both backends must keep.

#![allow(dead_code)]
// Test bodies shared by tests/local.rs and tests/s3.rs: an unwrap here is a test's
// assertion (clippy's allow-unwrap-in-tests does not see these as tests).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use warden_objects::{Error, Listed, ObjectStore, S3Settings, StaticCredentials};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test of this process (nor of an earlier run) uses: lower-case, so it
/// is also a valid bucket name.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// `len` bytes that differ from one offset to the next and from one `seed` to another.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// SHA-256 in the store's form, computed independently of the crate.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn write(path: &Path, bytes: &[u8]) {
    let parent = path.parent().expect("a file path has a parent");
    std::fs::create_dir_all(parent).expect("create parent directories");
    std::fs::write(path, bytes).expect("write test file");
}

/// Every file below `dir`, relative, with its bytes, sorted.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read directory") {
            let path = entry.expect("read directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("below the root")
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// `rows` lines of adjudication results: text that compresses, as job outputs do.
pub fn csv_rows(rows: usize) -> Vec<u8> {
    (0..rows)
        .map(|i| {
            format!(
                "C{i:08},M{:07},99213,PAID,{}.{:02}\n",
                i % 977,
                i % 300,
                i % 100
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// A small job directory: nested files, an empty one, a CSV that compresses, one of `big`
/// bytes that does not.
pub fn job_dir(root: &Path, big: usize) -> PathBuf {
    let dir = root.join("job");
    write(
        &dir.join("out/claims.csv"),
        b"claim,amount\nC1,10.00\nC2,22.50\n",
    );
    write(
        &dir.join("out/partitions/p01/pass1.bin"),
        &content(70_000, 1),
    );
    write(&dir.join("out/results.csv"), &csv_rows(2_000));
    write(&dir.join("checkpoint.json"), br#"{"pass":2,"offset":1200}"#);
    write(&dir.join("logs/empty.log"), b"");
    write(&dir.join("big.bin"), &content(big, 2));
    dir
}

pub fn endpoint() -> String {
    std::env::var("WARDEN_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5055".into())
}

/// Settings for moto: its endpoint, dummy credentials given to the client (not through the
/// process environment), quick failure.
pub fn moto_settings() -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint()),
        region: Some("us-east-1".into()),
        credentials: Some(StaticCredentials::new("testing", "warden-test-secret-key")),
        max_attempts: 3,
        connect_timeout: Duration::from_secs(2),
        check_timeout: Duration::from_secs(10),
        ..S3Settings::default()
    }
}

/// The moto settings when moto answers, or `None` (with the reason printed) outside CI.
/// Under `CI=true` it must answer: `bash .ci/moto.sh` starts it.
pub fn moto() -> Option<S3Settings> {
    let endpoint = endpoint();
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let answers = std::net::ToSocketAddrs::to_socket_addrs(&authority)
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)));
    match answers {
        Some(Ok(_)) => Some(moto_settings()),
        _ if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!(
                "skipping S3 test: nothing answers at {endpoint} (start moto with `bash .ci/moto.sh`)"
            );
            None
        }
        _ => panic!("CI=true but no S3 server answers at {endpoint}: run `bash .ci/moto.sh`"),
    }
}

/// An S3 client of the tests' own, for what the store does not do: creating buckets and
/// looking at how an object was stored.
pub fn raw_client(settings: &S3Settings) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let creds = settings.credentials.clone().unwrap();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(settings.endpoint.clone().unwrap())
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            None,
            None,
            "tests",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A new, empty bucket on moto.
pub async fn new_bucket(settings: &S3Settings) -> String {
    let bucket = unique("warden-it");
    raw_client(settings)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
    bucket
}

fn keys(listed: &[Listed]) -> Vec<&str> {
    listed.iter().map(|l| l.key.as_str()).collect()
}

/// What every backend must do alike. `scratch` is a local directory for files.
pub async fn contract(store: &ObjectStore, scratch: &Path) {
    // Bytes in, same bytes out, with the size and hash of what was written.
    let info = store
        .put_bytes("a/b/one.txt", b"one".to_vec())
        .await
        .unwrap();
    assert_eq!(
        (info.key.as_str(), info.size, info.sha256.as_str()),
        ("a/b/one.txt", 3, sha256(b"one").as_str())
    );
    assert_eq!(store.get_bytes("a/b/one.txt").await.unwrap(), b"one");
    assert!(store.exists("a/b/one.txt").await.unwrap());
    assert!(!store.exists("a/b/two.txt").await.unwrap());
    assert!(
        !store.exists("a/b").await.unwrap(),
        "a prefix is not an object"
    );

    // A rewrite replaces the object whole.
    store
        .put_bytes("a/b/one.txt", b"uno!".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get_bytes("a/b/one.txt").await.unwrap(), b"uno!");

    // Files: streamed up, streamed down into directories that do not exist yet.
    let src = scratch.join("src.bin");
    let bytes = content(300_000, 7);
    write(&src, &bytes);
    let up = store.put_file("a/c/file.bin", &src).await.unwrap();
    assert_eq!((up.size, up.sha256.clone()), (300_000, sha256(&bytes)));
    let dest = scratch.join("down/deeper/file.bin");
    let down = store.get_file("a/c/file.bin", &dest).await.unwrap();
    assert_eq!(down, up);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["file.bin"], "no temporary file left beside it");

    // A missing object is NotFound, naming the key, and creates no file.
    let missing = scratch.join("missing/x");
    match store.get_file("a/nope", &missing).await {
        Err(Error::NotFound { key, url }) => {
            assert_eq!(key, "a/nope");
            assert_eq!(url, store.url());
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(!missing.exists());
    assert!(matches!(
        store.get_bytes("a/nope").await,
        Err(Error::NotFound { .. })
    ));

    // Listing is by whole path segments and sorted; sizes are the objects'.
    store
        .put_bytes("a/bb/other", b"12345".to_vec())
        .await
        .unwrap();
    store.put_bytes("ab", b"x".to_vec()).await.unwrap();
    let listed = store.list("a/b").await.unwrap();
    assert_eq!(keys(&listed), ["a/b/one.txt"]);
    assert_eq!(listed[0].size, 4);
    assert_eq!(
        keys(&store.list("a").await.unwrap()),
        ["a/b/one.txt", "a/bb/other", "a/c/file.bin"]
    );
    assert_eq!(keys(&store.list("a/").await.unwrap()).len(), 3);
    assert_eq!(
        keys(&store.list("").await.unwrap()),
        ["a/b/one.txt", "a/bb/other", "a/c/file.bin", "ab"]
    );
    assert!(store.list("nothing/here").await.unwrap().is_empty());

    // Deleting a prefix deletes exactly what is below it.
    assert_eq!(store.delete_prefix("a/b").await.unwrap(), 1);
    assert_eq!(
        keys(&store.list("").await.unwrap()),
        ["a/bb/other", "a/c/file.bin", "ab"]
    );
    assert_eq!(store.delete_prefix("a").await.unwrap(), 2);
    assert_eq!(keys(&store.list("").await.unwrap()), ["ab"]);
    assert_eq!(store.delete_prefix("a").await.unwrap(), 0);

    // Bad keys are errors before any I/O, never panics.
    for bad in ["../escape", "/abs", "a//b", "a/./b", "", "trailing/"] {
        assert!(
            matches!(
                store.put_bytes(bad, b"x".to_vec()).await,
                Err(Error::InvalidKey { .. })
            ),
            "{bad:?}"
        );
        assert!(matches!(
            store.get_bytes(bad).await,
            Err(Error::InvalidKey { .. })
        ));
    }
    assert!(matches!(
        store.list("../x").await,
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.delete_prefix("").await,
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        store.delete_prefix("/").await,
        Err(Error::InvalidKey { .. })
    ));
}

/// `upload_dir` and `download_dir` on any backend: the round trip, then what a reader
/// must refuse (a changed file, a missing one, no manifest) and ignore (a late file).
pub async fn dir_contract(store: &ObjectStore, scratch: &Path, big: usize) {
    use warden_objects::{MANIFEST_NAME, download_dir, upload_dir};

    let dir = job_dir(scratch, big);
    let prefix = warden_objects::attempt_prefix("2025-02-28", "ADJ.A-P01", 1).unwrap();
    let manifest = upload_dir(store, &dir, &prefix).await.unwrap();
    let expected = tree(&dir);
    assert_eq!(
        manifest.files.keys().collect::<Vec<_>>(),
        expected.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    for (rel, bytes) in &expected {
        let entry = &manifest.files[rel];
        assert_eq!(
            (entry.size, entry.sha256.clone()),
            (bytes.len() as u64, sha256(bytes)),
            "{rel}"
        );
    }
    // The manifest is stored beside the files and is the one returned.
    let stored = store
        .get_bytes(&format!("{prefix}/{MANIFEST_NAME}"))
        .await
        .unwrap();
    assert_eq!(
        warden_objects::Manifest::from_json(&stored).unwrap(),
        manifest
    );
    let listed = store.list(&prefix).await.unwrap();
    assert_eq!(listed.len(), expected.len() + 1);
    // Files worth a frame are stored compressed; the manifest says so, and keeps the
    // file's own size and hash (checked above).
    for (rel, bytes) in &expected {
        let zstd = manifest.files[rel].encoding == Some(warden_objects::Encoding::Zstd);
        assert_eq!(zstd, bytes.len() >= 4096, "{rel}");
    }
    let stored_csv = listed
        .iter()
        .find(|l| l.key.ends_with("out/results.csv"))
        .unwrap();
    let csv_size = manifest.files["out/results.csv"].size;
    assert!(
        stored_csv.size * 3 < csv_size,
        "{} of {csv_size}",
        stored_csv.size
    );

    // Round trip.
    let copy = scratch.join("copy");
    let read = download_dir(store, &prefix, &copy).await.unwrap();
    assert_eq!(read, manifest);
    assert_eq!(tree(&copy), expected);

    // A late writer's extra file under the prefix changes nothing a reader sees.
    store
        .put_bytes(&format!("{prefix}/zombie.txt"), b"late".to_vec())
        .await
        .unwrap();
    let again = scratch.join("again");
    download_dir(store, &prefix, &again).await.unwrap();
    assert_eq!(tree(&again), expected);

    // A file changed after the manifest was written is refused, naming both hashes, and
    // does not take its name in the destination.
    let tampered_key = format!("{prefix}/out/claims.csv");
    let tampered = b"claim,amount\nC1,99999.00\nC2,22.50\n".to_vec();
    store
        .put_bytes(&tampered_key, tampered.clone())
        .await
        .unwrap();
    let refused = scratch.join("refused");
    match download_dir(store, &prefix, &refused).await {
        Err(e @ Error::Mismatch { .. }) => {
            let text = e.to_string();
            let Error::Mismatch {
                key,
                expected_sha256,
                actual_sha256,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(key, tampered_key);
            assert_eq!(expected_sha256, manifest.files["out/claims.csv"].sha256);
            assert_eq!(actual_sha256, sha256(&tampered));
            assert!(
                text.contains(&expected_sha256) && text.contains(&actual_sha256),
                "{text}"
            );
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
    assert!(!refused.join("out/claims.csv").exists());

    // The original back.
    let original = &expected
        .iter()
        .find(|(k, _)| k == "out/claims.csv")
        .unwrap()
        .1;
    store
        .put_bytes(&tampered_key, original.clone())
        .await
        .unwrap();

    // A compressed file replaced in the store: by bytes that are not zstd, refused as
    // undecodable; by a whole zstd stream of other bytes, refused by its hash. Neither
    // takes its name at the destination (a download decodes as it arrives).
    let results_key = format!("{prefix}/out/results.csv");
    let results_stored = store.get_bytes(&results_key).await.unwrap();
    for (replacement, what) in [
        (b"not a zstd stream at all".to_vec(), "undecodable"),
        (
            results_stored[..results_stored.len() / 2].to_vec(),
            "undecodable",
        ),
        (zstd::encode_all(&b"C1,1.00\n"[..], 1).unwrap(), "mismatch"),
    ] {
        store.put_bytes(&results_key, replacement).await.unwrap();
        let refused = scratch.join(format!("refused-{what}"));
        match (download_dir(store, &prefix, &refused).await, what) {
            (Err(Error::Undecodable { key, .. }), "undecodable")
            | (Err(Error::Mismatch { key, .. }), "mismatch") => assert_eq!(key, results_key),
            (other, _) => panic!("expected {what}, got {other:?}"),
        }
        assert!(!refused.join("out/results.csv").exists(), "{what}");
    }
    store.put_bytes(&results_key, results_stored).await.unwrap();

    // A listed file that is gone is an error naming it.
    store
        .delete_prefix(&format!("{prefix}/out/partitions/p01"))
        .await
        .unwrap();
    match download_dir(store, &prefix, &scratch.join("gone")).await {
        Err(Error::MissingObject { key, .. }) => {
            assert_eq!(key, format!("{prefix}/out/partitions/p01/pass1.bin"));
        }
        other => panic!("expected MissingObject, got {other:?}"),
    }

    // Files without a manifest were never completed: nothing is downloaded.
    let unfinished = warden_objects::attempt_prefix("2025-02-28", "ADJ.A-P01", 2).unwrap();
    store
        .put_bytes(&format!("{unfinished}/out/claims.csv"), b"partial".to_vec())
        .await
        .unwrap();
    let nothing = scratch.join("nothing");
    match download_dir(store, &unfinished, &nothing).await {
        Err(e @ Error::NoManifest { .. }) => {
            assert!(
                e.to_string()
                    .contains(&format!("{unfinished}/{MANIFEST_NAME}")),
                "{e}"
            );
        }
        other => panic!("expected NoManifest, got {other:?}"),
    }
    assert!(tree(&nothing).is_empty());

    // A manifest that would write outside the destination is refused before any download.
    let evil = "runs/evil";
    let sha = sha256(b"x");
    let json =
        format!(r#"{{"version":1,"files":{{"../../outside":{{"size":1,"sha256":"{sha}"}}}}}}"#);
    store
        .put_bytes(&format!("{evil}/{MANIFEST_NAME}"), json.into_bytes())
        .await
        .unwrap();
    let inside = scratch.join("inside/deeper");
    assert!(matches!(
        download_dir(store, evil, &inside).await,
        Err(Error::BadManifest { .. })
    ));
    assert!(!scratch.join("outside").exists());

    // The directory's own manifest.json would be overwritten: refused.
    write(&dir.join(MANIFEST_NAME), b"{}");
    let err = upload_dir(store, &dir, "runs/clash").await.unwrap_err();
    assert!(err.to_string().contains("manifest's own key"), "{err}");
}

/// What a follow must do on every backend: a file uploaded while it grows ends up the same
/// as one uploaded after; a file that changed other than by appending, or was replaced, or
/// is gone, is uploaded whole (or not at all), never from what the follow took.
pub async fn follow_contract(store: &ObjectStore, scratch: &Path) {
    use std::io::Write as _;
    use warden_objects::{download_dir, upload_dir_following};

    let job = scratch.join("job");
    std::fs::create_dir_all(job.join("out")).unwrap();
    let prefix = warden_objects::attempt_prefix("2025-02-28", "RECON", 1).unwrap();
    let key = |relative: &str| format!("{prefix}/{relative}");
    // Appended to in steps, as a job writes: random bytes (they do not compress, so the
    // follow sends parts before the end) and CSV.
    let grown = job.join("out/grown.bin");
    let appended = job.join("out/appended.csv");
    let rewritten = job.join("out/rewritten.csv");
    let replaced = job.join("out/replaced.csv");
    let vanished = job.join("out/vanished.csv");
    for path in [&grown, &appended, &rewritten, &replaced, &vanished] {
        std::fs::File::create(path).unwrap();
    }
    let mut follows = std::collections::HashMap::new();
    for name in [
        "grown.bin",
        "appended.csv",
        "rewritten.csv",
        "replaced.csv",
        "vanished.csv",
    ] {
        let relative = format!("out/{name}");
        let follow = store
            .follow(&key(&relative), &job.join(&relative))
            .await
            .unwrap();
        follows.insert(relative, follow);
    }
    let rows = csv_rows(40_000);
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut grown_bytes = Vec::new();
    for step in 0..3u64 {
        let chunk = content(3 * 1024 * 1024 + 17, 100 + step);
        grown_bytes.extend_from_slice(&chunk);
        let open = |p: &Path| std::fs::OpenOptions::new().append(true).open(p).unwrap();
        open(&grown).write_all(&chunk).unwrap();
        for path in [&appended, &rewritten, &replaced, &vanished] {
            open(path).write_all(&rows).unwrap();
        }
        for (relative, follow) in follows.iter_mut() {
            let taken = follow.catch_up(&running).await.unwrap();
            let expected = if relative.ends_with("grown.bin") {
                grown_bytes.len()
            } else {
                rows.len() * (step as usize + 1)
            };
            assert_eq!(taken, expected as u64, "{relative} after step {step}");
        }
    }
    // After the last look: more appended (taken by finish), one byte changed at the start
    // of a file (same length, same inode), another written anew under its name, and one
    // removed.
    let tail = content(123, 7);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&grown)
        .unwrap()
        .write_all(&tail)
        .unwrap();
    grown_bytes.extend_from_slice(&tail);
    let mut changed = std::fs::read(&rewritten).unwrap();
    changed[0] ^= 1;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&rewritten)
        .unwrap()
        .write_all(&changed[..1])
        .unwrap();
    let new_file = job.join("out/replaced.csv.new");
    std::fs::write(&new_file, b"claim,amount\nC9,9.00\n").unwrap();
    std::fs::rename(&new_file, &replaced).unwrap();
    std::fs::remove_file(&vanished).unwrap();

    let manifest = upload_dir_following(store, &job, &prefix, follows)
        .await
        .unwrap();
    let expected = tree(&job);
    assert_eq!(
        manifest.files.keys().collect::<Vec<_>>(),
        expected.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    let back = scratch.join("back");
    download_dir(store, &prefix, &back).await.unwrap();
    assert_eq!(tree(&back), expected);
    assert!(
        std::fs::read(back.join("out/grown.bin")).unwrap() == grown_bytes,
        "the grown file came back different"
    );
    assert_eq!(
        std::fs::read(back.join("out/rewritten.csv")).unwrap(),
        changed
    );
    // The gone file's follow took no key.
    assert!(!store.exists(&key("out/vanished.csv")).await.unwrap());
}
