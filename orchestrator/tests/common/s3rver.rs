//! An S3-compatible server that keeps its objects on disk (s3rver, from npm, installed by
//! `.ci/run` into `target/npm`), so that a test can really kill it and start it again with
//! what it held: moto, the tests' usual S3 server, keeps objects in memory only.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The access key and secret s3rver accepts (it checks signatures against them).
pub const KEY: &str = "S3RVER";

pub struct S3rver {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    pub bucket: String,
}

impl S3rver {
    /// The installed server's path, if `.ci/run` (or `npm install --prefix target/npm
    /// s3rver@3.7.1`) installed it.
    pub fn binary() -> Option<PathBuf> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/npm/node_modules/.bin/s3rver");
        path.exists().then_some(path)
    }

    /// Starts the server on a free loopback port with `bucket` made.
    pub async fn start(bucket: &str) -> Result<S3rver, String> {
        let dir = super::temp_dir("s3rver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = spawn(&dir, port, bucket)?;
        let mut server = S3rver {
            child,
            dir,
            port,
            bucket: bucket.to_string(),
        };
        server.wait_until_it_answers().await?;
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILLs the server, waits `down`, and starts it again on the same directory and port.
    pub async fn kill_and_restart(&mut self, down: Duration) -> Result<(), String> {
        self.child.kill().map_err(|e| format!("SIGKILL: {e}"))?;
        let _ = self.child.wait();
        tokio::time::sleep(down).await;
        self.child = spawn(&self.dir, self.port, &self.bucket)?;
        self.wait_until_it_answers().await
    }

    async fn wait_until_it_answers(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if reqwest::get(self.endpoint()).await.is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "s3rver ended with {status}: {}",
                    std::fs::read_to_string(self.dir.join("s3rver.log")).unwrap_or_default()
                ));
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("s3rver did not answer within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn spawn(dir: &std::path::Path, port: u16, bucket: &str) -> Result<Child, String> {
    let binary = S3rver::binary().ok_or("s3rver is not installed in target/npm")?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("s3rver.log"))
        .map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    Command::new(binary)
        .arg("-d")
        .arg(dir.join("objects"))
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "--silent"])
        .args(["--configure-bucket", bucket])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("s3rver: {e}"))
}

impl Drop for S3rver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
