//! Test helpers: the shipped plans and generated inputs in temporary directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use warden_workers::generate::{self, Config};
use warden_workers::pipeline::NoProgress;
use warden_workers::plans::{self, Plans};

pub fn plans_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/plans")
}

pub fn plans() -> Plans {
    plans::load_dir(&plans_dir()).expect("the shipped plans load")
}

/// Writes members.csv and claims.csv for `cfg` into `dir`.
pub fn generate_into(dir: &Path, cfg: &Config, plans: &Plans) -> generate::Stats {
    std::fs::create_dir_all(dir).expect("input dir");
    let mut m = std::fs::File::create(dir.join("members.csv")).expect("members.csv");
    let mut c = std::fs::File::create(dir.join("claims.csv")).expect("claims.csv");
    generate::generate(cfg, plans, &mut m, &mut c, &NoProgress).expect("generate")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
