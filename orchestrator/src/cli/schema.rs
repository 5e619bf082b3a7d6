//! `warden schema`: the JSON Schema of the workflow format, generated from the raw types.

use std::io::Write;

use warden_core::workflow::raw::RawWorkflow;

use super::CliResult;

/// The schema as pretty JSON (what `workflows/workflow.schema.json` holds).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(RawWorkflow);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

pub(super) fn run(out: &mut dyn Write) -> CliResult {
    out.write_all(schema_json().as_bytes())?;
    Ok(())
}
