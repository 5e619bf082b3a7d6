//! The local backend: the shared contract, plus what only a directory can show (files
//! corrupted on disk, temporary files, a missing directory).

mod common;

use common::{contract, dir_contract, follow_contract, sha256, tree, write};
use warden_objects::{Error, ObjectStore, download_dir, upload_dir};

/// The store's directory and a scratch directory beside it.
fn store_dir() -> (tempfile::TempDir, tempfile::TempDir) {
    let temp = || tempfile::tempdir().expect("temporary directory");
    (temp(), temp())
}

#[tokio::test]
async fn local_store_keeps_the_contract() {
    let (root, scratch) = store_dir();
    let url = format!("file://{}", root.path().display());
    let store = ObjectStore::open(&url).await.unwrap();
    assert_eq!(store.url(), url);
    contract(&store, scratch.path()).await;
    // Objects are plain files at root/KEY; nothing else is left in the directory.
    let files: Vec<String> = tree(root.path()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(files, ["ab"]);
}

#[tokio::test]
async fn local_store_moves_directories_with_their_manifest() {
    let (root, scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    dir_contract(&store, scratch.path(), 3 * 1024 * 1024).await;
}

#[tokio::test]
async fn local_store_follows_files_as_they_grow() {
    let (root, scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    follow_contract(&store, scratch.path()).await;
    // No temporary file of a follow is left in the store.
    let left: Vec<String> = tree(root.path()).into_iter().map(|(k, _)| k).collect();
    assert!(left.iter().all(|k| !k.contains(".warden-tmp-")), "{left:?}");
}

#[tokio::test]
async fn a_file_corrupted_on_disk_is_caught_by_download_dir() {
    let (root, scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    let dir = common::job_dir(scratch.path(), 10_000);
    let manifest = upload_dir(&store, &dir, "runs/r1/jobs/J/attempts/1")
        .await
        .unwrap();

    // One byte flipped in the stored file (random bytes: zstd keeps them as they are, so
    // the stream still decodes, to the size unchanged): only the hash can tell.
    let stored = root.path().join("runs/r1/jobs/J/attempts/1/big.bin");
    let mut bytes = std::fs::read(&stored).unwrap();
    let original = std::fs::read(dir.join("big.bin")).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &original[5_000..5_064])
        .expect("the random bytes are stored as they are");
    bytes[at] ^= 0x01;
    std::fs::write(&stored, &bytes).unwrap();
    let mut decoded = original.clone();
    decoded[5_000] ^= 0x01;

    let dest = scratch.path().join("dest");
    write(&dest.join("big.bin"), b"what was there before");
    match download_dir(&store, "runs/r1/jobs/J/attempts/1", &dest).await {
        Err(Error::Mismatch {
            key,
            expected_size,
            actual_size,
            expected_sha256,
            actual_sha256,
            ..
        }) => {
            assert_eq!(key, "runs/r1/jobs/J/attempts/1/big.bin");
            assert_eq!((expected_size, actual_size), (10_000, 10_000));
            assert_eq!(expected_sha256, manifest.files["big.bin"].sha256);
            assert_eq!(actual_sha256, sha256(&decoded));
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
    // The corrupt copy never replaced the file at the destination.
    assert_eq!(
        std::fs::read(dest.join("big.bin")).unwrap(),
        b"what was there before"
    );
}

#[tokio::test]
async fn a_compressed_file_cut_short_is_refused_and_not_written() {
    let (root, scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    let dir = common::job_dir(scratch.path(), 10_000);
    upload_dir(&store, &dir, "runs/r1/jobs/J/attempts/1")
        .await
        .unwrap();
    let stored = root
        .path()
        .join("runs/r1/jobs/J/attempts/1/out/results.csv");
    let bytes = std::fs::read(&stored).unwrap();
    std::fs::write(&stored, &bytes[..bytes.len() / 2]).unwrap();

    let dest = scratch.path().join("dest");
    match download_dir(&store, "runs/r1/jobs/J/attempts/1", &dest).await {
        Err(e @ Error::Undecodable { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("out/results.csv") && text.contains("zstd"),
                "{text}"
            );
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
    assert!(!dest.join("out/results.csv").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dest.join("out"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().contains("results")),
        "{leftovers:?}"
    );
}

#[tokio::test]
async fn temporary_files_are_not_objects() {
    let (root, _scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    store.put_bytes("d/real", b"1".to_vec()).await.unwrap();
    // What a writer that died mid-file leaves behind.
    write(&root.path().join("d/.warden-tmp-abc123"), b"half");
    let listed: Vec<String> = store
        .list("d")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(listed, ["d/real"]);
    assert!(matches!(
        store.exists("d/.warden-tmp-abc123").await,
        Err(Error::InvalidKey { .. })
    ));
}

#[tokio::test]
async fn opening_a_missing_directory_says_so_and_creates_nothing() {
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("no/such/dir");
    let err = ObjectStore::open(missing.to_str().unwrap())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::NoSuchDirectory { .. }), "{err:?}");
    assert!(
        text.contains(&format!("file://{}", missing.display())),
        "{text}"
    );
    assert!(text.contains("create it, or fix --objects"), "{text}");
    assert!(!missing.exists());

    let file = scratch.path().join("a-file");
    write(&file, b"x");
    let err = ObjectStore::open(&format!("file://{}", file.display()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[tokio::test]
async fn malformed_urls_are_refused_by_open() {
    for url in ["s3:/x", "s3://", "ftp://host/x", "file://relative/x"] {
        match ObjectStore::open(url).await {
            Err(Error::InvalidUrl { url: shown, .. }) => assert_eq!(shown, url),
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn upload_dir_of_a_missing_directory_is_an_error_naming_it() {
    let (root, scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    let missing = scratch.path().join("not-there");
    let err = upload_dir(&store, &missing, "p").await.unwrap_err();
    assert!(err.to_string().contains("not-there"), "{err}");
    assert!(
        store.list("").await.unwrap().is_empty(),
        "no manifest written"
    );
}

#[tokio::test]
async fn download_dir_where_brings_only_the_files_it_is_asked_for() {
    let (root, scratch) = store_dir();
    let store = ObjectStore::open(root.path().to_str().unwrap())
        .await
        .unwrap();
    let src = scratch.path().join("src");
    write(&src.join("SETUP/members.bin"), b"members");
    write(&src.join("P01/claims.bin"), b"claims of p01");
    write(&src.join("P02/claims.bin"), b"claims of p02");
    upload_dir(&store, &src, "runs/1/jobs/SETUP/attempts/1/out")
        .await
        .unwrap();
    let dest = scratch.path().join("dest");
    let manifest = warden_objects::download_dir_where(
        &store,
        "runs/1/jobs/SETUP/attempts/1/out",
        &dest,
        |relative| !relative.starts_with("P02/"),
    )
    .await
    .unwrap();
    // The whole manifest comes back; only the kept files are on disk.
    assert_eq!(manifest.files.len(), 3);
    let got: Vec<String> = tree(&dest).into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, ["P01/claims.bin", "SETUP/members.bin"]);
}
