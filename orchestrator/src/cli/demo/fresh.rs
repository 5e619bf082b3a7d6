//! `warden demo --fresh`: deleting the demo's own store and data directory, and nothing else.

use std::path::Path;

use super::DemoArgs;

/// What `--fresh` may delete: a SQLite file (or nothing) at `--db`, and a data directory
/// holding only what a run writes there. Anything else is refused, so a mistyped `--data .`
/// or `--db README.md` deletes nothing.
pub(super) fn check_fresh(args: &DemoArgs) -> Result<(), String> {
    if args.db.contains("://") {
        return Err(format!(
            "--fresh deletes the demo's SQLite file; {} is not one (drop that database yourself)",
            warden_store::redact_url(&args.db)
        ));
    }
    let db = Path::new(&args.db);
    if db.exists() {
        let mut head = [0u8; 16];
        let is_sqlite = std::fs::File::open(db)
            .and_then(|mut f| {
                use std::io::Read;
                let n = f.read(&mut head)?;
                Ok(n == 0 || (n == 16 && &head == b"SQLite format 3\0"))
            })
            .unwrap_or(false);
        if !is_sqlite {
            return Err(format!(
                "--fresh would delete {}, which is not a SQLite store; give the demo's own --db",
                args.db
            ));
        }
    }
    if let Ok(entries) = std::fs::read_dir(&args.data) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name == "runs"
                || name == "alerts.log"
                || name == "impact-test"
                || name.starts_with(".warden-probe-"))
            {
                return Err(format!(
                    "--fresh would delete {}, which holds `{name}`, not written by a run; give the demo's own --data",
                    args.data.display()
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn remove_demo_files(args: &DemoArgs) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let f = format!("{}{suffix}", args.db);
        match std::fs::remove_file(&f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    match std::fs::remove_dir_all(&args.data) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
