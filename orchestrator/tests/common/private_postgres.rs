//! A PostgreSQL server of a test's own: a new cluster (`initdb`) in a temporary directory on
//! a free loopback port, so the test can really restart it (crash recovery included) without
//! disturbing the machine's server that other tests share.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    /// Makes and starts the cluster, or says why it cannot (no PostgreSQL binaries, initdb
    /// refused...).
    pub fn start() -> Result<PrivatePostgres, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL binaries in /usr/lib/postgresql ({e})"))?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("pg_ctl").exists())
            .max()
            .ok_or("no pg_ctl under /usr/lib/postgresql/*/bin")?;
        let dir = super::temp_dir("private-postgres");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let pg = PrivatePostgres { bin, dir, port };
        // initdb refuses to run as root: the cluster belongs to the postgres user then.
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&pg.dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
        }
        pg.as_owner(&format!(
            "{} -D {} -A trust -U postgres --no-sync >/dev/null",
            pg.bin.join("initdb").display(),
            pg.data().display()
        ))?;
        pg.start_server()?;
        pg.as_owner(&format!(
            "{} -h 127.0.0.1 -p {} -U postgres test",
            pg.bin.join("createdb").display(),
            pg.port
        ))?;
        Ok(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/test", self.port)
    }

    /// Stops the server as a crash would (`immediate`: no checkpoint, every connection
    /// dropped, open transactions lost to recovery), waits `down`, and starts it again.
    pub fn restart_after_crash(&self, down: std::time::Duration) -> Result<(), String> {
        self.stop("immediate")?;
        std::thread::sleep(down);
        self.start_server()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("db")
    }

    fn start_server(&self) -> Result<(), String> {
        self.as_owner(&format!(
            "{} -D {} -o '-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off' -l {} -w start >/dev/null",
            self.bin.join("pg_ctl").display(),
            self.data().display(),
            self.port,
            self.dir.display(),
            self.dir.join("log").display()
        ))
    }

    fn stop(&self, mode: &str) -> Result<(), String> {
        self.as_owner(&format!(
            "{} -D {} -m {mode} -w stop >/dev/null",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        ))
    }

    fn as_owner(&self, command: &str) -> Result<(), String> {
        let out = if is_root() {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", command])
                .output()
        } else {
            Command::new("sh").args(["-c", command]).output()
        }
        .map_err(|e| format!("{command}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{command}: {}{}",
                String::from_utf8_lossy(&out.stderr),
                log_tail(&self.dir.join("log"))
            ))
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(10).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}
