//! Fuzzes the workflow compiler: any bytes in, diagnostics or a workflow out, never a panic;
//! whatever compiles is planned and simulated too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::diagnostics::{SourceMap, render_text};
use warden_core::plan::PlanOptions;
use warden_core::sched::simulate;
use warden_core::workflow::{NoFiles, compile_bytes};

fuzz_target!(|data: &[u8]| {
    // Bytes, not text: a file that is not UTF-8 must be a located error, never a panic.
    let mut sources = SourceMap::new();
    let compilation = compile_bytes(&mut sources, "fuzz.yaml", data.to_vec(), &NoFiles);
    let _ = render_text(&sources, &compilation.diagnostics);
    if let Some(w) = compilation.workflow {
        for date in ["2025-02", "2025-03-04"] {
            if let Ok(plan) =
                w.instantiate(date.parse().expect("a valid date"), &PlanOptions::default())
            {
                let _ = simulate(&plan);
            }
        }
    }
});
