//! Code validation: the shapes of CPT/HCPCS procedure codes, ICD-10-CM diagnosis codes and
//! CMS place-of-service codes. A code of the wrong shape is invalid; a code of a legal shape
//! written a non-standard way (a dotted ICD-10 code, lower case, an unassigned
//! place-of-service code) is non-standard. Both pend the claim for review.

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

/// ICD-10-CM as transmitted (no dot): a letter, a digit, then 1–5 letters or digits.
pub fn diagnosis_check(code: &[u8]) -> CodeCheck {
    let canonical = |c: &[u8]| {
        (3..=7).contains(&c.len())
            && c[0].is_ascii_uppercase()
            && c[0] != b'U'
            && c[1].is_ascii_digit()
            && c[2..]
                .iter()
                .all(|x| x.is_ascii_digit() || x.is_ascii_uppercase())
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

/// The CMS place-of-service code set in use (two digits).
pub fn is_standard_place_of_service(code: &[u8]) -> bool {
    const STANDARD: &[u8] = &[
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
        26, 31, 32, 33, 34, 41, 42, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 65, 71, 72,
        81, 99,
    ];
    match code {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            STANDARD.contains(&((a - b'0') * 10 + (b - b'0')))
        }
        _ => false,
    }
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
        assert_eq!(diagnosis_check(b"E119"), CodeCheck::Standard);
        assert_eq!(diagnosis_check(b"E11.9"), CodeCheck::NonStandard);
        assert_eq!(diagnosis_check(b"e119"), CodeCheck::NonStandard);
        assert_eq!(diagnosis_check(b"1234"), CodeCheck::Invalid);
        assert!(is_standard_place_of_service(b"11"));
        assert!(!is_standard_place_of_service(b"35"));
        assert!(!is_standard_place_of_service(b"1"));
    }
}
