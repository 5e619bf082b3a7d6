//! `--objects URL`, `--sync-every` and `--no-follow`: job files through an object store (`engine::staging`),
//! for `warden run` and `warden worker` alike.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use crate::engine::staging::Staging;

#[derive(Debug, Args)]
pub struct ObjectArgs {
    /// Keep job files (work directories, logs, checkpoints) in this object store, so jobs
    /// run on any host: `s3://bucket/prefix` (credentials from the standard AWS chain;
    /// AWS_ENDPOINT_URL for S3-compatible servers) or a directory (`file:///srv/warden`).
    /// Every worker and orchestrator of a store gives the same one (docs/objects.md).
    #[arg(long, value_name = "URL", env = "WARDEN_OBJECTS")]
    pub objects: Option<String>,
    /// How often a running job's work directory is saved to the object store while it
    /// changes (the checkpoint another worker resumes from). 100ms to 1h.
    #[arg(long, default_value = "60s", value_parser = sync_every)]
    pub sync_every: humantime::Duration,
    /// Upload a job's large outputs only after it ends, not while it writes them
    /// (docs/objects.md, "Files uploaded while a job writes them"): for a host whose cores
    /// the job needs to itself, and to measure what following saves.
    #[arg(long)]
    pub no_follow: bool,
}

fn sync_every(s: &str) -> Result<humantime::Duration, String> {
    let d: humantime::Duration = s.parse().map_err(|e| format!("{e}"))?;
    if *d < Duration::from_millis(100) || *d > Duration::from_secs(3600) {
        return Err(format!("{s} is out of range: 100ms to 1h"));
    }
    Ok(d)
}

impl ObjectArgs {
    /// Opens the object store, checked at once (reachable, credentials found, bucket there);
    /// `Err` carries the message to print (exit 3).
    pub async fn open(&self) -> Result<Option<Staging>, String> {
        let Some(url) = &self.objects else {
            return Ok(None);
        };
        let objects = warden_objects::ObjectStore::open(url)
            .await
            .map_err(|e| format!("the object store: {e}"))?;
        Ok(Some(Staging {
            objects,
            sync_every: *self.sync_every,
            follow_outputs: !self.no_follow,
        }))
    }

    /// Says which object store is used, if one.
    pub fn describe(&self, staging: &Option<Staging>, out: &mut dyn Write) {
        if let Some(s) = staging {
            let _ = writeln!(out, "job files in {}", s.objects.url());
        }
    }
}
