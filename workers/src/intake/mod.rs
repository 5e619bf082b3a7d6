//! Claims intake from trading partners' files (issue #15, case study 003): a partner's
//! mapping (YAML, [`mapping`]) turns its CSV or fixed-width claim file into the claim
//! model, field by field ([`transform`]); every record becomes a claim in the engine's
//! `claims.csv` form or a reject naming its line, field and reason code; the file's control
//! totals are reconciled against its trailer, and a file whose envelope or totals fail is
//! refused whole ([`file`]). [`ack`] writes what goes back to the partner; [`partner_file`]
//! writes claims in a partner's layout (what `warden claims generate --partner` uses, so
//! every path is testable). Pure: bytes in, bytes out; the CLI does the I/O.

pub mod ack;
pub mod file;
pub mod mapping;
pub mod partner_file;
pub mod transform;
pub mod x12_837_read;
pub mod x12_837_write;
pub mod x12_envelope;

pub use file::{FileIntake, Reject, Status, Totals, intake};
pub use mapping::{Mapping, MappingError};

/// ` (did you mean `x`?)` when a candidate is close to `name`.
pub(crate) fn nearest(name: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| {
            // A name that is the start of a field (`billed` for `billed_cents`) is as near.
            let prefix = name.len() >= 3 && c.starts_with(name);
            (
                if prefix {
                    1
                } else {
                    strsim::levenshtein(name, c)
                },
                c,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}
