//! The edges: claim and member CSV files (interchange), fixed-width binary records
//! (partition files, checkpoints' logs), result lines and reject rows.

pub mod binary;
pub mod claims_csv;
pub mod csv_rows;
pub mod members_csv;
pub mod merge_claims;
pub mod parallel_csv;
pub mod reject;
pub mod results;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, synced,
/// renamed over the target, and the directory synced. A crash leaves the old file or the
/// new one, never a torn one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(Ok(d)) = path.parent().map(std::fs::File::open) {
        let _ = d.sync_all();
    }
    Ok(())
}
