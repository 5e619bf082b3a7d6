//! Reason codes: why a claim was pended, denied, or paid the way it was. Written to the
//! output in this declaration order, joined by `;`.

/// One reason. `E-` pends the claim as an exception for manual review, `D-` denies it,
/// `I-` explains a paid amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reason {
    ProcedureInvalid,
    ProcedureNonStandard,
    DiagnosisInvalid,
    DiagnosisNonStandard,
    PlaceOfServiceNonStandard,
    Duplicate,
    PriorAuthMissing,
    PriorAuthInvalid,
    Repriced,
    DeductibleIndividual,
    DeductibleFamily,
    Copay,
    Coinsurance,
    OopIndividual,
    OopFamily,
    CobSecondary,
    CobPrimaryMissing,
}

impl Reason {
    pub const ALL: [Reason; 17] = [
        Reason::ProcedureInvalid,
        Reason::ProcedureNonStandard,
        Reason::DiagnosisInvalid,
        Reason::DiagnosisNonStandard,
        Reason::PlaceOfServiceNonStandard,
        Reason::Duplicate,
        Reason::PriorAuthMissing,
        Reason::PriorAuthInvalid,
        Reason::Repriced,
        Reason::DeductibleIndividual,
        Reason::DeductibleFamily,
        Reason::Copay,
        Reason::Coinsurance,
        Reason::OopIndividual,
        Reason::OopFamily,
        Reason::CobSecondary,
        Reason::CobPrimaryMissing,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::ProcedureInvalid => "E-PROC-INVALID",
            Reason::ProcedureNonStandard => "E-PROC-NONSTD",
            Reason::DiagnosisInvalid => "E-DIAG-INVALID",
            Reason::DiagnosisNonStandard => "E-DIAG-NONSTD",
            Reason::PlaceOfServiceNonStandard => "E-POS-NONSTD",
            Reason::Duplicate => "D-DUPLICATE",
            Reason::PriorAuthMissing => "D-PA-MISSING",
            Reason::PriorAuthInvalid => "D-PA-INVALID",
            Reason::Repriced => "I-REPRICED",
            Reason::DeductibleIndividual => "I-DED-IND",
            Reason::DeductibleFamily => "I-DED-FAM",
            Reason::Copay => "I-COPAY",
            Reason::Coinsurance => "I-COINS",
            Reason::OopIndividual => "I-OOP-IND",
            Reason::OopFamily => "I-OOP-FAM",
            Reason::CobSecondary => "I-COB-SECONDARY",
            Reason::CobPrimaryMissing => "E-COB-PRIMARY",
        }
    }

    pub fn from_code(code: &str) -> Option<Reason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// A set of reasons (a bit per [`Reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reasons(pub u32);

impl Reasons {
    pub fn add(&mut self, r: Reason) {
        self.0 |= 1 << (r as u8);
    }
    pub fn has(self, r: Reason) -> bool {
        self.0 & (1 << (r as u8)) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Reason> {
        Reason::ALL.into_iter().filter(move |r| self.has(*r))
    }
    /// `E-PROC-NONSTD;E-POS-NONSTD` (empty for none).
    pub fn write(self, out: &mut String) {
        for (i, r) in self.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(r.code());
        }
    }
    pub fn parse(text: &str) -> Option<Reasons> {
        let mut rs = Reasons::default();
        for part in text.split(';').filter(|p| !p.is_empty()) {
            rs.add(Reason::from_code(part)?);
        }
        Some(rs)
    }
}
