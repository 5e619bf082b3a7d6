//! The canonical claim: every field the adjudication rules or the partitioner read.

use super::money::Cents;

/// A short ASCII code (procedure, diagnosis, place of service, other payer), stored inline
/// (8 bytes, zero-padded) so a claim is a fixed-size value with no heap allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Code(pub [u8; 8]);

impl Code {
    pub const MAX: usize = 8;

    /// A code of 1–8 printable ASCII characters (no comma, no quote).
    pub fn new(text: &str) -> Result<Code, String> {
        let b = text.as_bytes();
        if b.is_empty() {
            return Err("empty code".into());
        }
        if b.len() > Self::MAX {
            return Err(format!("`{text}` is longer than {} characters", Self::MAX));
        }
        if !b
            .iter()
            .all(|c| c.is_ascii_graphic() && *c != b',' && *c != b'"')
        {
            return Err(format!(
                "`{}` has characters a code cannot have",
                text.escape_debug()
            ));
        }
        let mut a = [0u8; 8];
        a[..b.len()].copy_from_slice(b);
        Ok(Code(a))
    }

    pub fn as_str(&self) -> &str {
        let n = self.0.iter().position(|&c| c == 0).unwrap_or(8);
        std::str::from_utf8(&self.0[..n]).unwrap_or("")
    }

    pub fn bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

/// The line of business (the cycle's streams A–E).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    Commercial,
    MedicareAdvantage,
    Medicaid,
    DentalVision,
    Pharmacy,
}

impl Stream {
    pub const ALL: [Stream; 5] = [
        Stream::Commercial,
        Stream::MedicareAdvantage,
        Stream::Medicaid,
        Stream::DentalVision,
        Stream::Pharmacy,
    ];

    /// The one-letter stream name used in files and workflows.
    pub fn letter(self) -> char {
        ['A', 'B', 'C', 'D', 'E'][self as usize]
    }

    pub fn from_letter(text: &str) -> Option<Stream> {
        Self::ALL
            .into_iter()
            .find(|s| text.len() == 1 && text.starts_with(s.letter()))
    }

    pub fn from_index(i: u8) -> Option<Stream> {
        Self::ALL.get(usize::from(i)).copied()
    }
}

/// Coordination of benefits: the member has other coverage that pays first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cob {
    /// The other payer's code.
    pub other_payer: Code,
    /// What the primary paid, as reported on the claim (used when the primary is outside
    /// Warden).
    pub primary_paid: Cents,
    /// The primary's claim when the primary coverage is also adjudicated here (an employer
    /// group covering both spouses): its payment, not `primary_paid`, is used.
    pub partner: Option<u64>,
}

/// One claim line as adjudicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub id: u64,
    pub member: u32,
    /// The subscriber's family (deductibles and out-of-pocket maximums aggregate over it).
    pub family: u32,
    /// The member's primary-care-physician group on this claim: the partition key.
    pub pcp_group: u16,
    pub provider: u32,
    pub stream: Stream,
    /// Days since 1970-01-01.
    pub service_date: i32,
    /// Seconds since the epoch, UTC. Serial order is received order.
    pub received: i64,
    pub procedure: Code,
    pub diagnosis: Code,
    pub place_of_service: Code,
    pub billed: Cents,
    /// The earlier claim of the same member that authorises this one.
    pub prior_auth: Option<u64>,
    pub cob: Option<Cob>,
    /// Index into the loaded [`crate::plans::Plans`].
    pub plan: u16,
}

impl Claim {
    /// Claims this one's adjudication reads the result of (all received earlier).
    pub fn references(&self) -> impl Iterator<Item = u64> {
        self.prior_auth
            .into_iter()
            .chain(self.cob.and_then(|c| c.partner))
    }
}
