//! Claims written as an ANSI X12 837 interchange, professional (005010X222A1) or
//! institutional (005010X223A2), so the 837 intake paths can be tested on files written the
//! way a clearinghouse writes them, and checked by an independent validator (pyx12, in the
//! tests). Pure.
//!
//! Where the claim model's fields go:
//!
//! | field | 837P |
//! |---|---|
//! | claim_id, billed, place_of_service | 2300 CLM01, CLM02, CLM05-1 |
//! | member | 2010BA NM109 (the subscriber is the patient, SBR02 = 18) |
//! | family | 2000B SBR03 (the policy number: one per family) |
//! | plan | 2000B SBR04 (the group name) |
//! | stream | 2000B SBR09 (claim filing indicator: A CI, B 16, C MC, D 17, E ZZ) |
//! | pcp_group | 2310A referring provider REF*G2 |
//! | provider | 2310B rendering provider REF*G2 |
//! | diagnosis | 2300 HI01-2 (ABK) |
//! | procedure, service_date | 2400 SV101-2, DTP*472 |
//! | prior_auth | 2300 REF*G1 |
//! | cob_other_payer, cob_primary_paid, cob_partner | 2330B NM109, 2320 AMT*D, 2330B REF*2U |
//! | received | BHT04/BHT05 of its transaction set (claims are grouped by it) |
//!
//! The institutional claim differs where its guide does: the claim model's place of service
//! becomes a facility type code in CLM05-1 ([`facility_type`]: a fixed convention of this
//! generator, which the hospital partner's mapping reads back with a code table); the
//! provider is the attending (2310A NM1*71), the PCP group the referring (2310F NM1*DN);
//! the service line is SV2 (revenue code 0510, the procedure as SV202-2); the statement
//! dates (DTP*434) and the institutional claim code (CL1) are written as the guide requires.

use std::fmt::Write;

use crate::model::money::format_money;
use crate::model::time::{format_date, format_timestamp};
use crate::model::{Claim, Stream};
use crate::plans::Plans;

pub use super::x12_837_read::Kind;

/// The facility type code (CLM05-1 of an 837I) this generator writes for a place of service;
/// any other place is written as it is.
pub fn facility_type(place_of_service: &str) -> &str {
    match place_of_service {
        "11" => "71",
        "21" => "11",
        "22" => "13",
        "23" => "14",
        "35" => "89",
        other => other,
    }
}

/// Claims per transaction set at most (the implementation guide's recommended limit).
pub const CLAIMS_PER_SET: usize = 5_000;

/// The sender and receiver of an interchange.
#[derive(Debug, Clone)]
pub struct Parties {
    pub sender: String,
    pub receiver: String,
    /// ISA13 and GS06.
    pub control: u32,
}

/// The claim filing indicator (SBR09) of a stream.
pub fn filing_indicator(stream: Stream) -> &'static str {
    match stream {
        Stream::Commercial => "CI",
        Stream::MedicareAdvantage => "16",
        Stream::Medicaid => "MC",
        Stream::DentalVision => "17",
        Stream::Pharmacy => "ZZ",
    }
}

/// An NPI with a valid check digit (Luhn over `80840` and the nine digits), from any number.
pub fn npi(n: u64) -> String {
    let base = format!("{:09}", n % 1_000_000_000);
    let digits: Vec<u32> = format!("80840{base}")
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    // Luhn: double every second digit from the right of the number without its check digit.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                *d
            }
        })
        .sum();
    format!("{base}{}", (10 - sum % 10) % 10)
}

fn date_ccyymmdd(days: i32) -> String {
    let mut s = String::new();
    format_date(days, &mut s);
    s.replace('-', "")
}

/// `(CCYYMMDD, HHMMSS)` of a received timestamp.
fn stamp(secs: i64) -> (String, String) {
    let mut s = String::new();
    format_timestamp(secs, &mut s);
    (s[..10].replace('-', ""), s[11..19].replace(':', ""))
}

fn money(cents: i64) -> String {
    let mut s = String::new();
    format_money(cents, &mut s);
    s
}

/// `claims` as one interchange: one functional group, transaction sets of claims received at
/// the same second (at most [`CLAIMS_PER_SET`] each).
pub fn write(claims: &[Claim], plans: &Plans, parties: &Parties, kind: Kind) -> Vec<u8> {
    let mut out = String::new();
    let pad = |s: &str| format!("{:<15}", &s[..s.len().min(15)]);
    let (first_date, first_time) = claims.first().map_or_else(
        || ("20250101".to_string(), "000000".to_string()),
        |c| stamp(c.received),
    );
    let _ = writeln!(
        out,
        "ISA*00*          *00*          *ZZ*{}*ZZ*{}*{}*{}*^*00501*{:09}*0*T*:~",
        pad(&parties.sender),
        pad(&parties.receiver),
        &first_date[2..],
        &first_time[..4],
        parties.control
    );
    let _ = writeln!(
        out,
        "GS*HC*{}*{}*{first_date}*{}*{}*X*{}~",
        parties.sender,
        parties.receiver,
        &first_time[..4],
        parties.control,
        kind.guide()
    );
    let mut sets = 0u32;
    let mut start = 0;
    while start < claims.len() {
        let received = claims[start].received;
        let end = (start..claims.len())
            .take(CLAIMS_PER_SET)
            .find(|&i| claims[i].received != received)
            .unwrap_or_else(|| (start + CLAIMS_PER_SET).min(claims.len()));
        sets += 1;
        transaction_set(&claims[start..end], plans, parties, sets, kind, &mut out);
        start = end;
    }
    let _ = write!(
        out,
        "GE*{sets}*{}~\nIEA*1*{:09}~\n",
        parties.control, parties.control
    );
    out.into_bytes()
}

fn transaction_set(
    claims: &[Claim],
    plans: &Plans,
    parties: &Parties,
    n: u32,
    kind: Kind,
    out: &mut String,
) {
    let mut segments: Vec<String> = Vec::new();
    let (date, time) = stamp(claims[0].received);
    segments.push(format!("ST*837*{n:04}*{}", kind.guide()));
    segments.push(format!(
        "BHT*0019*00*{}{n:05}*{date}*{time}*CH",
        parties.control
    ));
    segments.push(format!(
        "NM1*41*2*{}*****46*{}",
        parties.sender, parties.sender
    ));
    segments.push("PER*IC*BATCH OPERATIONS*TE*8005550100".into());
    segments.push(format!(
        "NM1*40*2*{}*****46*{}",
        parties.receiver, parties.receiver
    ));
    segments.push("HL*1**20*1".into());
    segments.push(format!(
        "NM1*85*2*WARDEN GENERATED CLINIC*****XX*{}",
        npi(1)
    ));
    segments.push("N3*100 MARKET STREET".into());
    segments.push("N4*HARRISBURG*PA*171010000".into());
    segments.push("REF*EI*251234567".into());
    for (i, c) in claims.iter().enumerate() {
        let plan = plans.get(c.plan).map_or("", |p| p.id.as_str());
        segments.push(format!("HL*{}*1*22*0", i + 2));
        segments.push(format!(
            "SBR*P*18*{}*{plan}*****{}",
            c.family,
            filing_indicator(c.stream)
        ));
        segments.push(format!("NM1*IL*1*MEMBER*M{}****MI*{}", c.member, c.member));
        segments.push("N3*1 MEMBER WAY".into());
        segments.push("N4*HARRISBURG*PA*17101".into());
        segments.push("DMG*D8*19800101*U".into());
        segments.push(format!(
            "NM1*PR*2*{}*****PI*{}",
            parties.receiver, parties.receiver
        ));
        if kind == Kind::Institutional {
            institutional_claim(c, &mut segments);
        } else {
            segments.push(format!(
                "CLM*{}*{}***{}:B:1*Y*A*Y*Y",
                c.id,
                money(c.billed),
                c.place_of_service.as_str()
            ));
            if let Some(pa) = c.prior_auth {
                segments.push(format!("REF*G1*{pa}"));
            }
            segments.push(format!("HI*ABK:{}", c.diagnosis.as_str()));
            segments.push(format!(
                "NM1*DN*1*PCP*GROUP{}****XX*{}",
                c.pcp_group,
                npi(u64::from(c.pcp_group) + 1_000)
            ));
            segments.push(format!("REF*G2*{}", c.pcp_group));
            segments.push(format!(
                "NM1*82*1*PROVIDER*P{}****XX*{}",
                c.provider,
                npi(u64::from(c.provider) + 2_000_000)
            ));
            segments.push(format!("REF*G2*{}", c.provider));
        }
        if let Some(cob) = c.cob {
            segments.push(format!("SBR*S*18*******{}", "CI"));
            segments.push(format!("AMT*D*{}", money(cob.primary_paid)));
            // OI04 (patient signature source) is the professional guide's alone.
            segments.push(match kind {
                Kind::Professional => "OI***Y*P**Y".into(),
                Kind::Institutional => "OI***Y***Y".into(),
            });
            segments.push(format!("NM1*IL*1*MEMBER*M{}****MI*{}", c.member, c.member));
            segments.push(format!(
                "NM1*PR*2*OTHER PAYER*****PI*{}",
                cob.other_payer.as_str()
            ));
            if let Some(partner) = cob.partner {
                segments.push(format!("REF*2U*{partner}"));
            }
        }
        segments.push("LX*1".into());
        segments.push(match kind {
            Kind::Professional => format!(
                "SV1*HC:{}*{}*UN*1***1",
                c.procedure.as_str(),
                money(c.billed)
            ),
            Kind::Institutional => format!(
                "SV2*0510*HC:{}*{}*UN*1",
                c.procedure.as_str(),
                money(c.billed)
            ),
        });
        segments.push(format!("DTP*472*D8*{}", date_ccyymmdd(c.service_date)));
    }
    segments.push(format!("SE*{}*{n:04}", segments.len() + 1));
    for s in segments {
        out.push_str(&s);
        out.push_str("~\n");
    }
}

/// An institutional claim's 2300 and 2310 segments, up to its other payers (2320).
fn institutional_claim(c: &Claim, segments: &mut Vec<String>) {
    let day = date_ccyymmdd(c.service_date);
    segments.push(format!(
        "CLM*{}*{}***{}:A:1**A*Y*Y",
        c.id,
        money(c.billed),
        facility_type(c.place_of_service.as_str())
    ));
    segments.push(format!("DTP*434*RD8*{day}-{day}"));
    segments.push("CL1*3*1*01".into());
    if let Some(pa) = c.prior_auth {
        segments.push(format!("REF*G1*{pa}"));
    }
    segments.push(format!("HI*ABK:{}", c.diagnosis.as_str()));
    segments.push(format!(
        "NM1*71*1*ATTENDING*P{}****XX*{}",
        c.provider,
        npi(u64::from(c.provider) + 2_000_000)
    ));
    segments.push(format!("REF*G2*{}", c.provider));
    segments.push(format!(
        "NM1*DN*1*PCP*GROUP{}****XX*{}",
        c.pcp_group,
        npi(u64::from(c.pcp_group) + 1_000)
    ));
    segments.push(format!("REF*G2*{}", c.pcp_group));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npis_carry_a_valid_check_digit() {
        // The CMS example: 123456789 → 1234567893.
        assert_eq!(npi(123_456_789), "1234567893");
        assert_eq!(npi(1).len(), 10);
    }
}
