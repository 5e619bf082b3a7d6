//! Who this orchestrator is on its host, and what a dead one left behind.
//!
//! An orchestrator is named `host-pid`; its in-process workers `host-pid-wN`. When a run's
//! owner is found on this host with its pid gone, it died (SIGKILL, OOM, power cut of the
//! process): its run can be taken over at once, and the shell jobs it had started, which live
//! on in their own process groups, are found by the run directory in their environment
//! (`WARDEN_RUN_DIR`) and killed, so an attempt never runs twice at the same time.

use std::path::Path;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgid};

/// This process as a run owner: `host-pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerTag(String);

impl OwnerTag {
    pub fn this_process() -> Self {
        Self(format!("{}-{}", host_name(), std::process::id()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// This host's name (`/etc/hostname`), `localhost` where there is none.
pub fn host_name() -> String {
    let name = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name.to_string()
    }
}

/// Whether `owner` (`host-pid`) is an orchestrator of this host whose process is gone.
/// Another host's owner is never known dead: its lease must run out.
pub fn owner_is_dead(owner: &str) -> bool {
    let Some((host, pid)) = owner.rsplit_once('-') else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    host == host_name()
        && pid != std::process::id() as i32
        && kill(Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
}

/// Whether an in-process worker (`host-pid-wN`) belonged to an orchestrator of this host
/// that is gone.
pub fn worker_is_dead(worker: &str) -> bool {
    worker
        .rsplit_once("-w")
        .is_some_and(|(owner, n)| n.parse::<u32>().is_ok() && owner_is_dead(owner))
}

/// Process groups still running jobs of `run_dir` (their `WARDEN_RUN_DIR`) for workers
/// `orphaned` says are gone (their `WARDEN_WORKER`; `None` for a job started before workers
/// were named in it), other than this process's own.
pub fn orphan_groups(run_dir: &Path, orphaned: &dyn Fn(Option<&str>) -> bool) -> Vec<i32> {
    let needle = format!("WARDEN_RUN_DIR={}", run_dir.display());
    let own = getpgid(None).map(Pid::as_raw).unwrap_or(0);
    let mut groups = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return groups;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let mut vars = environ.split(|b| *b == 0);
        if !vars.clone().any(|var| var == needle.as_bytes()) {
            continue;
        }
        let worker = vars
            .find_map(|var| var.strip_prefix(b"WARDEN_WORKER="))
            .map(|w| String::from_utf8_lossy(w).into_owned());
        if !orphaned(worker.as_deref()) {
            continue;
        }
        if let Ok(pgid) = getpgid(Some(Pid::from_raw(pid))) {
            let pgid = pgid.as_raw();
            if pgid != own && pgid > 1 && !groups.contains(&pgid) {
                groups.push(pgid);
            }
        }
    }
    groups
}

/// Kills what dead workers left running for `run_dir` (see [`orphan_groups`]), except the
/// groups in `keep` (supervised attempts adopted and followed); returns the groups killed.
pub fn kill_orphans(
    run_dir: &Path,
    orphaned: &dyn Fn(Option<&str>) -> bool,
    keep: &[i32],
) -> Vec<i32> {
    let mut groups = orphan_groups(run_dir, orphaned);
    groups.retain(|g| !keep.contains(g));
    for pgid in &groups {
        let _ = killpg(Pid::from_raw(*pgid), Signal::SIGKILL);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_owner_is_not_dead_and_a_vanished_one_is() {
        let me = OwnerTag::this_process();
        assert!(!owner_is_dead(me.as_str()));
        // A pid far above the kernel's default limit cannot be alive.
        assert!(owner_is_dead(&format!("{}-{}", host_name(), 999_999_999)));
        assert!(!owner_is_dead("another-host-12"));
        assert!(!owner_is_dead("garbage"));
        assert!(worker_is_dead(&format!(
            "{}-{}-w3",
            host_name(),
            999_999_999
        )));
        assert!(!worker_is_dead(&format!("{}-w3", me.as_str())));
        assert!(!worker_is_dead("remote-host-77-w0"));
    }
}
