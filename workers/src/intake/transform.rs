//! One field of a partner's record into the claim model's text: trimmed, cleaned, then
//! transformed (dates, amounts, code tables). Pure; every refusal carries a reason code the
//! reject file and the acknowledgement show.

use super::mapping::{FieldMap, MoneyUnit, Transform};
use crate::model::money::{format_money, parse_money};

/// Why a value (or a record, or a file) was refused: a stable code for the partner's
/// acknowledgement, and a sentence for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Missing,
    BadDate,
    BadAmount,
    TooManyDecimals,
    UnknownCode,
    BadEncoding,
    FieldCount,
    /// The claim model refused the mapped claim (a code too long, an unknown plan, ...).
    Invalid,
    DuplicateClaim,
    /// File level: a column the mapping names is not in the header.
    UnknownColumn,
    /// File level: no trailer, or records after it.
    Truncated,
    /// File level: the trailer's totals do not match the records.
    TotalsMismatch,
    /// File level: a field whose `on_error` is `reject-file` was bad.
    FieldRejectsFile,
    /// File level: the file is empty or has no claim records.
    Empty,
    /// File level: an X12 envelope that is not one (a bad ISA, control numbers that do not
    /// match, segments out of place).
    Envelope,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Missing => "MISSING",
            Code::BadDate => "BAD_DATE",
            Code::BadAmount => "BAD_AMOUNT",
            Code::TooManyDecimals => "TOO_MANY_DECIMALS",
            Code::UnknownCode => "UNKNOWN_CODE",
            Code::BadEncoding => "BAD_ENCODING",
            Code::FieldCount => "FIELD_COUNT",
            Code::Invalid => "INVALID",
            Code::DuplicateClaim => "DUPLICATE_CLAIM",
            Code::UnknownColumn => "UNKNOWN_COLUMN",
            Code::Truncated => "TRUNCATED",
            Code::TotalsMismatch => "TOTALS_MISMATCH",
            Code::FieldRejectsFile => "FIELD_REJECTS_FILE",
            Code::Empty => "EMPTY",
            Code::Envelope => "ENVELOPE",
        }
    }
}

/// A refused value: its code and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub reason: String,
}

fn problem(code: Code, reason: impl Into<String>) -> Problem {
    Problem {
        code,
        reason: reason.into(),
    }
}

/// The field's raw bytes as text: not UTF-8 is `BAD_ENCODING`, naming the first bad byte.
pub fn text(raw: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(raw).map_err(|e| {
        problem(
            Code::BadEncoding,
            format!(
                "byte {} of the field is not UTF-8 (0x{:02X}); send the file in UTF-8",
                e.valid_up_to() + 1,
                raw[e.valid_up_to()]
            ),
        )
    })
}

/// Maps the text of one field to the claim model's text; an empty optional field stays
/// empty.
pub fn apply(map: &FieldMap, raw: &str) -> Result<String, Problem> {
    let mut t: String = raw
        .trim()
        .chars()
        .filter(|c| !map.remove.contains(*c))
        .collect();
    if !map.strip_prefix.is_empty()
        && let Some(rest) = t.strip_prefix(map.strip_prefix.as_str())
    {
        t = rest.to_string();
    }
    if map.upper {
        t = t.to_uppercase();
    }
    if t.is_empty() {
        return if map.optional {
            Ok(String::new())
        } else {
            Err(problem(Code::Missing, "missing"))
        };
    }
    match &map.transform {
        Transform::Plain => Ok(t),
        Transform::Date(format) => chrono::NaiveDate::parse_from_str(&t, format)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .map_err(|_| {
                problem(
                    Code::BadDate,
                    format!("`{t}` is not a date written {format}"),
                )
            }),
        Transform::Timestamp(format) => chrono::NaiveDateTime::parse_from_str(&t, format)
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(&t, format)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .map_err(|_| {
                problem(
                    Code::BadDate,
                    format!("`{t}` is not a date or time written {format}"),
                )
            }),
        Transform::Money(unit) => amount(&t, *unit).map(|cents| {
            let mut out = String::new();
            format_money(cents, &mut out);
            out
        }),
        Transform::Table(table) => table.get(&t).cloned().ok_or_else(|| {
            problem(
                Code::UnknownCode,
                format!("`{t}` is not in the field's code table"),
            )
        }),
    }
}

/// An amount in `unit`, as cents.
pub fn amount(text: &str, unit: MoneyUnit) -> Result<i64, Problem> {
    match unit {
        MoneyUnit::Dollars => parse_money(text).map_err(|reason| {
            let code = if reason.contains("more than two decimals") {
                Code::TooManyDecimals
            } else {
                Code::BadAmount
            };
            problem(code, reason)
        }),
        MoneyUnit::Cents => {
            let t = text.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 15 {
                return Err(problem(
                    Code::BadAmount,
                    format!("`{t}` is not an amount in whole cents (digits only)"),
                ));
            }
            t.parse::<i64>()
                .map_err(|_| problem(Code::BadAmount, format!("`{t}` is too large")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::mapping::{OnError, Source};

    fn map(transform: Transform) -> FieldMap {
        FieldMap {
            target: "billed",
            source: Source::Nothing,
            remove: String::new(),
            strip_prefix: String::new(),
            upper: false,
            transform,
            optional: false,
            on_error: OnError::RejectClaim,
        }
    }

    #[test]
    fn dates_and_times_in_the_partners_format() {
        let d = map(Transform::Date("%m/%d/%Y".into()));
        assert_eq!(apply(&d, " 02/28/2025 ").unwrap(), "2025-02-28");
        let e = apply(&d, "02/30/2025").unwrap_err();
        assert_eq!(e.code, Code::BadDate);
        assert!(e.reason.contains("%m/%d/%Y"), "{}", e.reason);
        let t = map(Transform::Timestamp("%Y%m%d%H%M".into()));
        assert_eq!(apply(&t, "202502281405").unwrap(), "2025-02-28T14:05:00Z");
        let day = map(Transform::Timestamp("%Y%m%d".into()));
        assert_eq!(apply(&day, "20250228").unwrap(), "2025-02-28T00:00:00Z");
    }

    #[test]
    fn amounts_in_dollars_or_cents() {
        let dollars = map(Transform::Money(MoneyUnit::Dollars));
        assert_eq!(apply(&dollars, "125.4").unwrap(), "125.40");
        assert_eq!(
            apply(&dollars, "12.345").unwrap_err().code,
            Code::TooManyDecimals
        );
        assert_eq!(
            apply(&dollars, "1,000.00").unwrap_err().code,
            Code::BadAmount
        );
        assert_eq!(apply(&dollars, "-5.00").unwrap_err().code, Code::BadAmount);
        let cents = map(Transform::Money(MoneyUnit::Cents));
        assert_eq!(apply(&cents, "000012540").unwrap(), "125.40");
        assert_eq!(apply(&cents, "12.5").unwrap_err().code, Code::BadAmount);
    }

    #[test]
    fn code_tables_cleaning_and_missing_values() {
        let mut m = map(Transform::Table(
            [("COMM".to_string(), "A".to_string())]
                .into_iter()
                .collect(),
        ));
        m.upper = true;
        assert_eq!(apply(&m, "comm").unwrap(), "A");
        let e = apply(&m, "HMO").unwrap_err();
        assert_eq!(
            (e.code, e.reason.contains("`HMO`")),
            (Code::UnknownCode, true)
        );
        assert_eq!(apply(&m, "  ").unwrap_err().code, Code::Missing);
        let mut icd = map(Transform::Plain);
        icd.remove = ".".into();
        icd.strip_prefix = "DX".into();
        assert_eq!(apply(&icd, "DXE11.9").unwrap(), "E119");
        icd.optional = true;
        assert_eq!(apply(&icd, "").unwrap(), "");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named() {
        let e = text(b"caf\xe9").unwrap_err();
        assert_eq!(e.code, Code::BadEncoding);
        assert!(
            e.reason.contains("byte 4") && e.reason.contains("0xE9"),
            "{}",
            e.reason
        );
        assert_eq!(text("café".as_bytes()).unwrap(), "café");
    }
}
