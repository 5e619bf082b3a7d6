//! A running attempt's large outputs uploaded while the job writes them, so that its
//! stage-out after the job only takes what was appended last (issue #14: setup's and
//! reconcile's hundreds of megabytes were compressed and uploaded after the job, on the
//! run's critical path, while the host's other core had nothing to do).
//!
//! Every [`FOLLOW_EVERY`] the run's `work/` tree is looked at; a file this attempt wrote
//! (as `Staging::stage_out` decides: not what it was given) of at least [`FOLLOW_FROM`] is
//! followed ([`warden_objects::Follow`]), under the key stage-out gives it. Following is
//! an optimisation and nothing else: a follow that fails, or a file that turns out not to
//! have been appended to, is simply uploaded whole by stage-out, which checks every
//! followed file's bytes again before its manifest names them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use warden_objects::{Follow, ObjectStore};

use super::staging::{Fingerprint, Given, fingerprint};

/// How often the work tree is looked at.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// Files smaller than this are left to stage-out: following them saves nothing worth it.
pub const FOLLOW_FROM: u64 = 4 * 1024 * 1024;

/// The follows of one running attempt. Stop it with [`OutputFollower::stop`] once the
/// job ended; dropped without that (the attempt was fenced or abandoned), its follows are
/// given up in the background.
#[derive(Debug)]
pub struct OutputFollower {
    stop: watch::Sender<bool>,
    /// Also seen by a catch-up in progress, so a stop need not wait for it.
    stopping: Arc<AtomicBool>,
    task: Option<JoinHandle<HashMap<String, Follow>>>,
}

impl OutputFollower {
    /// Starts following what the attempt writes below `work_root` (relative to
    /// `baseline`, the tree as it was given to it) under `out_prefix`.
    pub fn start(
        objects: ObjectStore,
        out_prefix: String,
        work_root: PathBuf,
        baseline: &Fingerprint,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let stopping = Arc::new(AtomicBool::new(false));
        let given = Given::of(baseline);
        let task = tokio::spawn(follow(
            objects,
            out_prefix,
            work_root,
            given,
            stopped,
            Arc::clone(&stopping),
        ));
        OutputFollower {
            stop,
            stopping,
            task: Some(task),
        }
    }

    /// Stops looking; the follows, by the file's path relative to the work tree.
    pub async fn stop(mut self) -> HashMap<String, Follow> {
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        match self.task.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => HashMap::new(),
        }
    }
}

impl Drop for OutputFollower {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else {
            return;
        };
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        tokio::spawn(async move {
            for (_, follow) in task.await.unwrap_or_default() {
                follow.abandon().await;
            }
        });
    }
}

async fn follow(
    objects: ObjectStore,
    out_prefix: String,
    work_root: PathBuf,
    given: Given,
    mut stopped: watch::Receiver<bool>,
    stopping: Arc<AtomicBool>,
) -> HashMap<String, Follow> {
    let mut follows: HashMap<String, Follow> = HashMap::new();
    // Files whose follow failed once: left to stage-out.
    let mut given_up: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => return follows,
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        let root = work_root.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || fingerprint(&root)).await else {
            return follows;
        };
        for (name, size, modified) in now {
            if !given.written(&name, size, modified)
                || size < FOLLOW_FROM
                || temporary(&name)
                || follows.contains_key(&name)
                || given_up.contains(&name)
            {
                continue;
            }
            let key = format!("{out_prefix}/{name}");
            match objects.follow(&key, &work_root.join(&name)).await {
                Ok(follow) => {
                    follows.insert(name, follow);
                }
                Err(e) => {
                    tracing::debug!(file = %name, error = %e, "not followed; stage-out uploads it");
                    given_up.insert(name);
                }
            }
        }
        let names: Vec<String> = follows.keys().cloned().collect();
        for name in names {
            if stopping.load(Ordering::Relaxed) {
                return follows;
            }
            let Some(follow) = follows.get_mut(&name) else {
                continue;
            };
            if let Err(e) = follow.catch_up(&stopping).await {
                tracing::debug!(file = %name, error = %e, "follow given up; stage-out uploads the file");
                if let Some(follow) = follows.remove(&name) {
                    follow.abandon().await;
                }
                given_up.insert(name);
            }
        }
    }
}

/// A file written to be renamed (`write_atomic`'s `.tmp`, the object store's own
/// temporaries): its name will not be there at the end.
fn temporary(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.ends_with(".tmp") || file.starts_with(".warden-tmp-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A job that appends to a large output while it runs, given a small file and a large
    /// one: only what it writes, and only the large, is followed, and what the follow took
    /// becomes the stored file once stage-out's upload finishes it.
    #[tokio::test]
    async fn a_growing_output_is_followed_and_what_was_given_is_not() {
        let (store_dir, run) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let objects = ObjectStore::open(store_dir.path().to_str().unwrap())
            .await
            .unwrap();
        let work = run.path().join("work");
        std::fs::create_dir_all(work.join("SETUP")).unwrap();
        std::fs::create_dir_all(work.join("RECON/out")).unwrap();
        let given = work.join("SETUP/members.bin");
        std::fs::write(&given, vec![1u8; 6 << 20]).unwrap();
        let baseline = fingerprint(&work);
        let follower = OutputFollower::start(
            objects.clone(),
            "runs/1/jobs/RECON/attempts/1/out".into(),
            work.clone(),
            &baseline,
        );
        let output = work.join("RECON/out/adjudicated.csv");
        let mut file = std::fs::File::create(&output).unwrap();
        let row = b"C00000001,M0000001,99213,125.00,paid\n".repeat(1 << 14);
        let mut written = Vec::new();
        for _ in 0..12 {
            file.write_all(&row).unwrap();
            written.extend_from_slice(&row);
            tokio::time::sleep(FOLLOW_EVERY / 2).await;
        }
        std::fs::write(work.join("RECON/out/small.json"), b"{}").unwrap();
        // Time for a few looks, on a busy machine too.
        tokio::time::sleep(FOLLOW_EVERY * 3).await;
        let follows = follower.stop().await;
        assert_eq!(
            follows.keys().collect::<Vec<_>>(),
            ["RECON/out/adjudicated.csv"]
        );
        let taken = follows["RECON/out/adjudicated.csv"].taken();
        assert!(taken >= FOLLOW_FROM, "taken {taken}");
        file.write_all(b"last,row\n").unwrap();
        written.extend_from_slice(b"last,row\n");

        let out = run.path().join("out");
        std::fs::create_dir_all(out.join("RECON/out")).unwrap();
        std::fs::hard_link(&output, out.join("RECON/out/adjudicated.csv")).unwrap();
        let manifest = warden_objects::upload_dir_following(
            &objects,
            &out,
            "runs/1/jobs/RECON/attempts/1/out",
            follows,
        )
        .await
        .unwrap();
        assert_eq!(
            manifest.files["RECON/out/adjudicated.csv"].size,
            written.len() as u64
        );
        let back = run.path().join("back");
        warden_objects::download_dir(&objects, "runs/1/jobs/RECON/attempts/1/out", &back)
            .await
            .unwrap();
        assert!(std::fs::read(back.join("RECON/out/adjudicated.csv")).unwrap() == written);
    }

    #[test]
    fn files_written_to_be_renamed_are_not_followed() {
        assert!(temporary("CLMSETUP/manifest.tmp"));
        assert!(temporary("CLMRECONCILE/out/.warden-tmp-abc"));
        assert!(!temporary("CLMRECONCILE/out/adjudicated.csv"));
        assert!(!temporary("tmp/adjudicated.csv"));
    }
}
