//! The code-set versions claims are checked against, by service date: the one table (the
//! same as docs/adjudication.md, "Code sets"). A code set changes on a date: a claim is
//! checked against the codes valid on its service date, so a claim for 2019 with a code
//! created in 2023 is pended and one for 2025 is not, whenever either is adjudicated.
//!
//! Keeping it current: when CMS adds a place of service or ICD-10-CM adds a `U` code, add a
//! row with its first service date here and in the document (the test below pins the rows).

/// A service date as (year, month, day).
pub type Ymd = (i64, u32, u32);

/// A code valid for service dates on or after `from` (`None`: for every service date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    pub code: &'static str,
    pub from: Option<Ymd>,
    pub name: &'static str,
}

const fn always(code: &'static str, name: &'static str) -> Dated {
    Dated {
        code,
        from: None,
        name,
    }
}

const fn from(code: &'static str, from: Ymd, name: &'static str) -> Dated {
    Dated {
        code,
        from: Some(from),
        name,
    }
}

/// The CMS Place of Service code set. Codes absent here (35–40, 43–48, 59, 63, 64, 67–70,
/// 73–80, 82–98) are unassigned.
pub const PLACES_OF_SERVICE: &[Dated] = &[
    always("01", "Pharmacy"),
    always("02", "Telehealth provided other than in patient's home"),
    always("03", "School"),
    always("04", "Homeless shelter"),
    always("05", "Indian Health Service free-standing facility"),
    always("06", "Indian Health Service provider-based facility"),
    always("07", "Tribal 638 free-standing facility"),
    always("08", "Tribal 638 provider-based facility"),
    always("09", "Prison/correctional facility"),
    from("10", (2022, 1, 1), "Telehealth provided in patient's home"),
    always("11", "Office"),
    always("12", "Home"),
    always("13", "Assisted living facility"),
    always("14", "Group home"),
    always("15", "Mobile unit"),
    always("16", "Temporary lodging"),
    always("17", "Walk-in retail health clinic"),
    always("18", "Place of employment/worksite"),
    always("19", "Off campus-outpatient hospital"),
    always("20", "Urgent care facility"),
    always("21", "Inpatient hospital"),
    always("22", "On campus-outpatient hospital"),
    always("23", "Emergency room - hospital"),
    always("24", "Ambulatory surgical center"),
    always("25", "Birthing center"),
    always("26", "Military treatment facility"),
    from("27", (2023, 10, 1), "Outreach site/street"),
    always("31", "Skilled nursing facility"),
    always("32", "Nursing facility"),
    always("33", "Custodial care facility"),
    always("34", "Hospice"),
    always("41", "Ambulance - land"),
    always("42", "Ambulance - air or water"),
    always("49", "Independent clinic"),
    always("50", "Federally qualified health center"),
    always("51", "Inpatient psychiatric facility"),
    always("52", "Psychiatric facility - partial hospitalization"),
    always("53", "Community mental health center"),
    always(
        "54",
        "Intermediate care facility/individuals with intellectual disabilities",
    ),
    always("55", "Residential substance abuse treatment facility"),
    always("56", "Psychiatric residential treatment center"),
    always("57", "Non-residential substance abuse treatment facility"),
    from(
        "58",
        (2020, 1, 1),
        "Non-residential opioid treatment facility",
    ),
    always("60", "Mass immunization center"),
    always("61", "Comprehensive inpatient rehabilitation facility"),
    always("62", "Comprehensive outpatient rehabilitation facility"),
    always("65", "End-stage renal disease treatment facility"),
    from(
        "66",
        (2024, 8, 1),
        "Programs of All-Inclusive Care for the Elderly (PACE) center",
    ),
    always("71", "Public health clinic"),
    always("72", "Rural health clinic"),
    always("81", "Independent laboratory"),
    always("99", "Other place of service"),
];

/// ICD-10-CM codes of category U ("codes for special purposes"): unlike the other letters,
/// only these are ICD-10-CM codes, each from the update that created it.
pub const ICD10CM_U_CODES: &[Dated] = &[
    from("U071", (2020, 4, 1), "COVID-19"),
    from("U070", (2020, 10, 1), "Vaping-related disorder"),
    from(
        "U099",
        (2021, 10, 1),
        "Post COVID-19 condition, unspecified",
    ),
];

/// Whether `code` is in `table` for a service on `date`.
pub fn valid_on(table: &[Dated], code: &[u8], date: Ymd) -> bool {
    table
        .iter()
        .any(|d| d.code.as_bytes() == code && d.from.is_none_or(|f| f <= date))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_valid_from_their_first_service_date() {
        for (code, before, on) in [
            ("27", (2023, 9, 30), (2023, 10, 1)),
            ("66", (2024, 7, 31), (2024, 8, 1)),
            ("10", (2021, 12, 31), (2022, 1, 1)),
            ("58", (2019, 12, 31), (2020, 1, 1)),
        ] {
            assert!(
                !valid_on(PLACES_OF_SERVICE, code.as_bytes(), before),
                "{code}"
            );
            assert!(valid_on(PLACES_OF_SERVICE, code.as_bytes(), on), "{code}");
        }
        assert!(valid_on(PLACES_OF_SERVICE, b"11", (1999, 1, 1)));
        assert!(!valid_on(PLACES_OF_SERVICE, b"35", (2025, 6, 1)));
        assert!(valid_on(ICD10CM_U_CODES, b"U071", (2020, 4, 1)));
        assert!(!valid_on(ICD10CM_U_CODES, b"U071", (2020, 3, 31)));
        assert!(!valid_on(ICD10CM_U_CODES, b"U072", (2025, 1, 1)));
    }

    /// The tables as documented in docs/adjudication.md ("Code sets"): a change to either
    /// must change both.
    #[test]
    fn the_tables_are_the_documents() {
        let doc = include_str!("../../../docs/adjudication.md");
        for d in PLACES_OF_SERVICE.iter().chain(ICD10CM_U_CODES) {
            let row = match d.from {
                None => format!("| `{}` | any | {} |", d.code, d.name),
                Some((y, m, day)) => {
                    format!("| `{}` | {y:04}-{m:02}-{day:02} | {} |", d.code, d.name)
                }
            };
            assert!(doc.contains(&row), "docs/adjudication.md lacks `{row}`");
        }
    }
}
