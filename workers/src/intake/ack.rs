//! What intake writes besides the claims: the reject file (one row per refused claim, or
//! per refused file) and, per file, the acknowledgement that goes back to the partner
//! (999-style: accepted, accepted with errors, or rejected, with every error's position).

use serde_json::{Value, json};

use super::file::{FileIntake, Reject, Status, dollars};

/// The reject file's header.
pub const REJECTS_HEADER: &str = "file,line,claim_id,field,source,code,reason\n";

/// Appends `rejects` of `file` as CSV rows (quoted where they need it).
pub fn write_rejects(file: &str, rejects: &[Reject], out: &mut Vec<u8>) {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    for r in rejects {
        let line = r.line.to_string();
        // Writing to a Vec cannot fail.
        let _ = w.write_record([
            file,
            line.as_str(),
            r.claim_id.as_str(),
            r.field.as_str(),
            r.source.as_str(),
            r.code.as_str(),
            r.reason.as_str(),
        ]);
    }
    let _ = w.flush();
}

fn error(r: &Reject) -> Value {
    json!({
        "line": r.line,
        "claim_id": r.claim_id,
        "field": r.field,
        "source": r.source,
        "code": r.code.as_str(),
        "reason": r.reason,
    })
}

/// The acknowledgement of one file.
pub fn acknowledgement(partner: &str, file: &str, intake: &FileIntake) -> Value {
    let t = &intake.totals;
    let (status, refused) = match &intake.status {
        Status::Refused(r) => ("rejected", Some(error(r))),
        Status::Accepted if t.rejected > 0 => ("accepted-with-errors", None),
        Status::Accepted => ("accepted", None),
    };
    json!({
        "partner": partner,
        "file": file,
        "status": status,
        "refused": refused,
        "records": {
            "received": t.received,
            "accepted": t.accepted,
            "rejected": t.rejected,
        },
        "billed": {
            "received": dollars(t.billed_received),
            "accepted": dollars(t.billed_accepted),
            "rejected": dollars(t.billed_rejected),
            "unreadable_records": t.billed_unreadable,
        },
        "trailer": {
            "count": t.trailer_count,
            "billed_total": t.trailer_billed.map(dollars),
        },
        "defaults_applied": t.defaults_applied,
        "errors": intake.rejects.iter().map(error).collect::<Vec<_>>(),
    })
}
