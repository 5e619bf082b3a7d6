//! The adjudication rules, pure: a claim, its plan and the running state in; an outcome
//! out. `docs/adjudication.md` states them; `adjudicate.rs` is that text as code.

mod adjudicate;
pub mod code_sets;
mod codes;
pub mod hash;
mod outcome;
mod reason;
mod state;

pub use adjudicate::adjudicate;
pub use codes::{CodeCheck, diagnosis_check, is_standard_place_of_service, procedure_well_formed};
pub use outcome::{ClaimOutcome, Status};
pub use reason::{Reason, Reasons};
pub use state::{AccState, DupIndex, DupKey, RefResult, RefResults};
