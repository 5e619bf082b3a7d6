//! Code validation: the shapes of CPT/HCPCS procedure codes, ICD-10-CM diagnosis codes and
//! CMS place-of-service codes, against the code-set versions of the claim's service date
//! (`code_sets.rs`). A diagnosis is non-standard when it is a dotted or lower-case spelling
//! of a valid code, invalid otherwise; a procedure of the wrong shape is invalid; a place of
//! service not in the set on the service date is non-standard, whatever its shape. All pend
//! the claim for review.

use super::code_sets::{ICD10CM_U_CODES, PLACES_OF_SERVICE, Ymd, valid_on};

/// CPT (`99213`, Category II/III `0001F`/`0042T`) or HCPCS level II (`J3490`).
pub fn procedure_well_formed(code: &[u8]) -> bool {
    match code {
        [a, b, c, d, e] => {
            let digits4 = [a, b, c, d].iter().all(|x| x.is_ascii_digit());
            (digits4 && (e.is_ascii_digit() || matches!(e, b'F' | b'T' | b'U')))
                || ((b'A'..=b'V').contains(a) && [b, c, d, e].iter().all(|x| x.is_ascii_digit()))
        }
        _ => false,
    }
}

/// What a diagnosis code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Standard,
    NonStandard,
    Invalid,
}

/// ICD-10-CM as transmitted (no dot): an upper-case letter, a digit, then 1–5 upper-case
/// letters or digits; with the letter `U`, only the codes of the `U` table valid on the
/// service date `date`.
pub fn diagnosis_check(code: &[u8], date: Ymd) -> CodeCheck {
    let canonical = |c: &[u8]| {
        (3..=7).contains(&c.len())
            && c[0].is_ascii_uppercase()
            && c[1].is_ascii_digit()
            && c[2..]
                .iter()
                .all(|x| x.is_ascii_digit() || x.is_ascii_uppercase())
            && (c[0] != b'U' || valid_on(ICD10CM_U_CODES, c, date))
    };
    if canonical(code) {
        return CodeCheck::Standard;
    }
    // A dotted or lower-case spelling of a valid code: a mapping variation.
    let fixed: Vec<u8> = code
        .iter()
        .filter(|&&b| b != b'.')
        .map(u8::to_ascii_uppercase)
        .collect();
    if canonical(&fixed) {
        CodeCheck::NonStandard
    } else {
        CodeCheck::Invalid
    }
}

/// A code of the CMS place-of-service set on the service date `date`.
pub fn is_standard_place_of_service(code: &[u8], date: Ymd) -> bool {
    valid_on(PLACES_OF_SERVICE, code, date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shapes() {
        for ok in ["99213", "0001F", "J3490", "27447"] {
            assert!(procedure_well_formed(ok.as_bytes()), "{ok}");
        }
        for bad in ["9921", "992134", "W1234", "ab123"] {
            assert!(!procedure_well_formed(bad.as_bytes()), "{bad}");
        }
        let d2025 = (2025, 3, 1);
        assert_eq!(diagnosis_check(b"E119", d2025), CodeCheck::Standard);
        assert_eq!(diagnosis_check(b"E11.9", d2025), CodeCheck::NonStandard);
        assert_eq!(diagnosis_check(b"e119", d2025), CodeCheck::NonStandard);
        assert_eq!(diagnosis_check(b"1234", d2025), CodeCheck::Invalid);
        assert!(is_standard_place_of_service(b"11", d2025));
        assert!(!is_standard_place_of_service(b"35", d2025));
        assert!(!is_standard_place_of_service(b"1", d2025));
    }

    /// Issue #11: U071 (COVID-19) is ICD-10-CM from 2020-04-01; POS 27 and 66 are CMS codes
    /// for 2025 service dates.
    #[test]
    fn current_codes_are_standard_on_current_service_dates() {
        let d2025 = (2025, 3, 1);
        assert_eq!(diagnosis_check(b"U071", d2025), CodeCheck::Standard);
        assert_eq!(diagnosis_check(b"U07.1", d2025), CodeCheck::NonStandard);
        assert_eq!(diagnosis_check(b"U071", (2019, 12, 1)), CodeCheck::Invalid);
        assert_eq!(diagnosis_check(b"U999", d2025), CodeCheck::Invalid);
        assert!(is_standard_place_of_service(b"27", d2025));
        assert!(is_standard_place_of_service(b"66", d2025));
        assert!(!is_standard_place_of_service(b"66", (2024, 7, 31)));
    }
}
