//! Whole directories through a store: `upload_dir` puts every file (compressed, above a
//! few KiB: `encoding.rs`), then the manifest (last, so its presence means the files are
//! complete); `download_dir` trusts nothing but the manifest, and checks every file
//! against it, decoded.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use tokio::task::JoinSet;

use crate::encoding::{self, Encoding};
use crate::error::{Error, Result};
use crate::follow::Follow;
use crate::key;
use crate::local::{blocking, relative_key};
use crate::manifest::{Entry, MANIFEST_NAME, Manifest};
use crate::store::{ObjectInfo, ObjectStore};

/// Files transferred at once by `upload_dir` and `download_dir`.
const FILES_IN_FLIGHT: usize = 4;

/// Uploads every file below `local_dir` to `prefix/RELATIVE/PATH`, then writes
/// `prefix/.warden-manifest.json` listing them. A file at `local_dir/.warden-manifest.json` is refused
/// (it would be overwritten by the manifest). Symbolic links to files are uploaded as
/// the file; links to directories are refused (they can loop).
pub async fn upload_dir(store: &ObjectStore, local_dir: &Path, prefix: &str) -> Result<Manifest> {
    upload_dir_following(store, local_dir, prefix, HashMap::new()).await
}

/// [`upload_dir`], finishing the uploads `follows` started while the files were written
/// (by relative key, each following `prefix/RELATIVE`): a file whose follow does not match
/// it any more is uploaded whole, and follows of files that are not there are given up.
pub async fn upload_dir_following(
    store: &ObjectStore,
    local_dir: &Path,
    prefix: &str,
    mut follows: HashMap<String, Follow>,
) -> Result<Manifest> {
    let prefix = key::check_prefix(prefix)?.to_string();
    let root = local_dir.to_path_buf();
    let files = blocking(move || collect_files(&root)).await?;
    // Collected before the first await: a lazy iterator's closure held across it would make
    // the future Send for one lifetime only, and callers spawn it.
    let uploads: Vec<_> = files
        .into_iter()
        .map(|(relative, path, size)| {
            let (store, key) = (store.clone(), key::join(&prefix, &relative));
            let follow = follows.remove(&relative).filter(|f| f.key() == key);
            let encoding = encoding::for_size(size);
            async move {
                let began = std::time::Instant::now();
                if let Some(follow) = follow {
                    let taken = follow.taken();
                    if let Some(info) = follow.finish(&path).await? {
                        let seconds = began.elapsed().as_secs_f64();
                        tracing::debug!(%key, size, taken, seconds, "finished a followed upload");
                        return Ok((relative, info, Some(Encoding::Zstd)));
                    }
                    tracing::debug!(%key, size, taken, "the followed file changed: uploaded whole");
                }
                let info = store.put_file_encoded(&key, &path, encoding).await?;
                let seconds = began.elapsed().as_secs_f64();
                tracing::debug!(%key, size, seconds, "uploaded");
                Ok((relative, info, encoding))
            }
        })
        .collect();
    for (_, unused) in follows {
        unused.abandon().await;
    }
    let mut manifest = Manifest::default();
    for (relative, ObjectInfo { size, sha256, .. }, encoding) in run_limited(uploads).await? {
        let entry = Entry {
            size,
            sha256,
            encoding,
        };
        manifest.files.insert(relative, entry);
    }
    store
        .put_bytes(&key::join(&prefix, MANIFEST_NAME), manifest.to_json())
        .await?;
    tracing::debug!(url = store.url(), %prefix, files = manifest.files.len(), bytes = manifest.total_size(), "uploaded a directory");
    Ok(manifest)
}

/// Reads `prefix/.warden-manifest.json` and downloads each file it lists to
/// `local_dir/RELATIVE/PATH`, checking its size and SHA-256 before it takes its name.
/// Objects below the prefix that the manifest does not list are ignored: a late writer
/// (an attempt declared lost that kept going) changes nothing a reader sees.
pub async fn download_dir(store: &ObjectStore, prefix: &str, local_dir: &Path) -> Result<Manifest> {
    download_dir_where(store, prefix, local_dir, |_| true).await
}

/// [`download_dir`] for the files of the manifest that `wanted` keeps (by relative key); the
/// whole manifest is returned, with what was downloaded and what was left.
pub async fn download_dir_where(
    store: &ObjectStore,
    prefix: &str,
    local_dir: &Path,
    wanted: impl Fn(&str) -> bool,
) -> Result<Manifest> {
    let prefix = key::check_prefix(prefix)?.to_string();
    let manifest_key = key::join(&prefix, MANIFEST_NAME);
    let bytes = match store.get_bytes(&manifest_key).await {
        Ok(bytes) => bytes,
        Err(Error::NotFound { url, key }) => return Err(Error::NoManifest { url, key }),
        Err(e) => return Err(e),
    };
    let manifest = Manifest::from_json(&bytes).map_err(|detail| Error::BadManifest {
        url: store.url().to_string(),
        key: manifest_key,
        detail,
    })?;
    let downloads: Vec<_> = manifest
        .files
        .iter()
        .filter(|(relative, _)| wanted(relative))
        .map(|(relative, entry)| {
            let store = store.clone();
            let key = key::join(&prefix, relative);
            let dest = local_dir.join(relative);
            let entry = entry.clone();
            async move {
                match store.get_file_checked(&key, &dest, Some(&entry)).await {
                    Err(Error::NotFound { url, key }) => Err(Error::MissingObject { url, key }),
                    other => other.map(|_| ()),
                }
            }
        })
        .collect();
    run_limited(downloads).await?;
    Ok(manifest)
}

/// `(relative key, path, size)` of every file below `root`, sorted.
fn collect_files(root: &Path) -> Result<Vec<(String, PathBuf, u64)>> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io("read directory", root, e))?;
    if !meta.is_dir() {
        let not_dir = std::io::Error::other("not a directory");
        return Err(Error::io("upload directory", root, not_dir));
    }
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("read directory", &dir, e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| Error::io("read directory", &dir, e))?
                .path();
            let link = std::fs::symlink_metadata(&path)
                .map_err(|e| Error::io("inspect", &path, e))?
                .file_type()
                .is_symlink();
            let meta = std::fs::metadata(&path).map_err(|e| Error::io("inspect", &path, e))?;
            if meta.is_dir() && link {
                let refused = std::io::Error::other("a link to a directory is not uploaded");
                return Err(Error::io("upload", &path, refused));
            } else if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                let relative = relative_key(root, &path).ok_or_else(|| {
                    let bad = std::io::Error::other("its path is not a valid object key");
                    Error::io("upload", &path, bad)
                })?;
                if relative == MANIFEST_NAME {
                    let clash = std::io::Error::other(
                        ".warden-manifest.json at the top of an uploaded directory is the manifest's own key",
                    );
                    return Err(Error::io("upload", &path, clash));
                }
                out.push((relative, path, meta.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs the futures with at most `FILES_IN_FLIGHT` at once, in order of the iterator; the
/// first error is returned and the rest are cancelled.
async fn run_limited<T, F>(futures: impl IntoIterator<Item = F>) -> Result<Vec<T>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut set = JoinSet::new();
    let mut out = Vec::new();
    for future in futures {
        if set.len() >= FILES_IN_FLIGHT {
            out.push(joined(set.join_next().await)?);
        }
        set.spawn(future);
    }
    while let Some(next) = set.join_next().await {
        out.push(joined(Some(next))?);
    }
    Ok(out)
}

fn joined<T>(next: Option<std::result::Result<Result<T>, tokio::task::JoinError>>) -> Result<T> {
    match next {
        Some(Ok(result)) => result,
        Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
        None => unreachable!("joined is called only on a non-empty set"),
    }
}
