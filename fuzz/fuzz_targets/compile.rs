//! Fuzzes the workflow compiler: any bytes in, diagnostics or a workflow out, never a panic;
//! whatever compiles is planned and simulated too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::diagnostics::render_text;
use warden_core::plan::PlanOptions;
use warden_core::sched::simulate;
use warden_core::workflow::compile_str;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (sources, compilation) = compile_str("fuzz.yaml", text);
    let _ = render_text(&sources, &compilation.diagnostics);
    if let Some(w) = compilation.workflow {
        for date in ["2025-02", "2025-03-04"] {
            if let Ok(plan) = w.instantiate(date.parse().expect("a valid date"), &PlanOptions::default()) {
                let _ = simulate(&plan);
            }
        }
    }
});
