//! The claims of an ANSI X12 837 interchange as named fields, one record per claim (CLM),
//! for the same mapping, transforms and rejects as CSV and fixed-width files. The envelope
//! is checked first (`x12_envelope`); each transaction set is then parsed by `x12-types`,
//! whose 837 bindings keep the HL loops as a flat list: the hierarchy (billing provider 20 →
//! subscriber 22 → patient 23) is rebuilt here from HL01/HL02. The CLM segments counted in
//! the envelope must equal the claims parsed: nothing the parser skips goes unnoticed.

use std::collections::HashMap;

use x12_types::util::Parser;
use x12_types::v005010::{_837, _837Loop2000, _837Loop2300};

use super::transform::Code;
use super::x12_envelope::{self, EnvelopeError, Interchange};

/// The names a mapping's `from:` can take in an 837 (loop, segment, element; `-2` is a
/// composite's second component). docs/intake.md lists them with their meaning.
pub const FIELDS: [&str; 20] = [
    "BHT04",
    "BHT05",
    "BHT04+BHT05",
    "2000B.SBR03",
    "2000B.SBR04",
    "2000B.SBR09",
    "2010BA.NM109",
    "2010BB.NM109",
    "2300.CLM01",
    "2300.CLM02",
    "2300.CLM05-1",
    "2300.REF*G1",
    "2300.HI01-2",
    "2310A.REF*G2",
    "2310B.REF*G2",
    "2320.AMT*D",
    "2330B.NM109",
    "2330B.REF*2U",
    "2400.SV101-2",
    "2400.DTP*472",
];

/// The names a mapping's `from:` can take in an 837 institutional (005010X223A2): the
/// professional's where the guide has the same thing, and the institutional claim's own
/// (facility type, admission type, statement dates, revenue code). In the institutional
/// guide 2310A is the attending provider (NM1*71) and 2310F the referring (NM1*DN).
pub const INSTITUTIONAL_FIELDS: [&str; 23] = [
    "BHT04",
    "BHT05",
    "BHT04+BHT05",
    "2000B.SBR03",
    "2000B.SBR04",
    "2000B.SBR09",
    "2010BA.NM109",
    "2010BB.NM109",
    "2300.CLM01",
    "2300.CLM02",
    "2300.CLM05-1",
    "2300.CL1-1",
    "2300.DTP*434",
    "2300.REF*G1",
    "2300.HI01-2",
    "2310A.REF*G2",
    "2310F.REF*G2",
    "2320.AMT*D",
    "2330B.NM109",
    "2330B.REF*2U",
    "2400.SV201",
    "2400.SV202-2",
    "2400.DTP*472",
];

/// Which 837 a mapping reads: the implementation guides differ in loops and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 005010X222A1: physicians' and suppliers' claims (CMS-1500).
    Professional,
    /// 005010X223A2: hospitals' and facilities' claims (UB-04).
    Institutional,
}

impl Kind {
    /// The field names a mapping may read.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Professional => &FIELDS,
            Kind::Institutional => &INSTITUTIONAL_FIELDS,
        }
    }

    /// The implementation guide (GS08, ST03).
    pub fn guide(self) -> &'static str {
        match self {
            Kind::Professional => "005010X222A1",
            Kind::Institutional => "005010X223A2",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Professional => "837 professional",
            Kind::Institutional => "837 institutional",
        }
    }

    /// The kind a GS08 names, if one this reader takes.
    fn of_version(version: &str) -> Option<Kind> {
        [Kind::Professional, Kind::Institutional]
            .into_iter()
            .find(|k| version.starts_with(&k.guide()[..10]))
    }
}

/// One claim: its CLM segment's position and a value per name of [`FIELDS`] (empty when the
/// file does not carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub position: u32,
    pub values: Vec<String>,
}

fn refuse(code: Code, position: u32, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError {
        code,
        position,
        reason: reason.into(),
    }
}

/// Why [`for_each_claim`] stopped: the file (its envelope, a set, the hierarchy), or what
/// was done with a claim.
#[derive(Debug)]
pub enum ReadError<E> {
    Envelope(EnvelopeError),
    Each(E),
}

/// Hands every claim of the interchange to `each`, in order, one transaction set at a time:
/// the whole envelope is checked first (nothing is handed on from a file whose envelope
/// fails), then each set is parsed, handed on and let go. The first error stops it.
pub fn for_each_claim<E>(
    bytes: &[u8],
    kind: Kind,
    mut each: impl FnMut(ClaimRecord) -> Result<(), E>,
) -> Result<(), ReadError<E>> {
    let interchange = x12_envelope::read(bytes).map_err(ReadError::Envelope)?;
    for group in &interchange.groups {
        if Kind::of_version(&group.version) != Some(kind) {
            let what = Kind::of_version(&group.version)
                .map(|k| format!(" (an {}: the partner sent another kind of claim)", k.name()))
                .unwrap_or_default();
            return Err(ReadError::Envelope(refuse(
                Code::Envelope,
                group.sets.first().map_or(0, |s| s.position),
                format!(
                    "GS08 `{}`{what}: the partner's mapping reads {} ({})",
                    group.version,
                    kind.name(),
                    kind.guide()
                ),
            )));
        }
        let mut records = Vec::new();
        for set in &group.sets {
            read_set(&interchange, set, kind, &mut records).map_err(ReadError::Envelope)?;
            for record in records.drain(..) {
                each(record).map_err(ReadError::Each)?;
            }
        }
    }
    Ok(())
}

fn read_set(
    interchange: &Interchange<'_>,
    set: &x12_envelope::TransactionSet<'_>,
    kind: Kind,
    out: &mut Vec<ClaimRecord>,
) -> Result<(), EnvelopeError> {
    let segments = set.segments();
    let st = set.position;
    if segments[0].element(1) != "837" {
        return Err(refuse(
            Code::Envelope,
            st,
            "not an 837 transaction set (ST01)",
        ));
    }
    // x12-types reads `*` between elements and `~` after segments: the set is written
    // again with those, refusing data that holds them under other delimiters.
    let d = interchange.delimiters;
    let mut text = String::new();
    let mut positions = Vec::new();
    for s in &segments {
        for (i, e) in s.elements.iter().enumerate() {
            let e = std::str::from_utf8(e).map_err(|_| {
                refuse(
                    Code::BadEncoding,
                    s.position,
                    "bytes that are not UTF-8 in the segment",
                )
            })?;
            if (d.element != b'*' && e.contains('*')) || e.contains('~') {
                return Err(refuse(
                    Code::Envelope,
                    s.position,
                    "a value holds `*` or `~`, which this reader cannot tell from delimiters",
                ));
            }
            if i > 0 {
                text.push('*');
            }
            text.push_str(e);
        }
        text.push_str("~\n");
        if s.id() == b"CLM" {
            positions.push(s.position);
        }
    }
    let parsed = match _837::parse(&text) {
        Ok((rest, parsed)) if rest.trim().is_empty() => parsed,
        Ok((rest, _)) => {
            let unread = rest.lines().next().unwrap_or("").to_string();
            let at = segments
                .iter()
                .find(|s| unread.starts_with(&String::from_utf8_lossy(s.id()).to_string()))
                .map_or(st, |s| s.position);
            return Err(refuse(
                Code::Envelope,
                at,
                format!(
                    "transaction set {} cannot be read past `{unread}`",
                    set.control
                ),
            ));
        }
        Err(e) => {
            return Err(refuse(
                Code::Envelope,
                st,
                format!(
                    "transaction set {} is not an 837 the parser can read: {e}",
                    set.control
                ),
            ));
        }
    };
    let component = char::from(d.component);
    let bht04 = parsed
        .bht
        ._04
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let bht05 = parsed
        .bht
        ._05
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let hls = hierarchy(&parsed.loop_2000, st)?;
    let mut read = 0usize;
    for (i, hl) in parsed.loop_2000.iter().enumerate() {
        for claim in &hl.loop_2300 {
            let Some(&position) = positions.get(read) else {
                return Err(refuse(
                    Code::TotalsMismatch,
                    st,
                    "more claims parsed than CLM segments",
                ));
            };
            read += 1;
            let subscriber = hls.subscriber_of(i);
            let values = match kind {
                Kind::Professional => values(claim, subscriber, &bht04, &bht05, component),
                Kind::Institutional => {
                    institutional_values(claim, subscriber, &bht04, &bht05, component)
                }
            };
            out.push(ClaimRecord { position, values });
        }
    }
    if read != positions.len() {
        return Err(refuse(
            Code::TotalsMismatch,
            st,
            format!(
                "transaction set {} has {} CLM segments, the parser read {read} claims",
                set.control,
                positions.len()
            ),
        ));
    }
    Ok(())
}

/// The HL loops by id, checked: every parent exists and comes earlier, a subscriber (22)
/// hangs from a billing provider (20), a patient (23) from a subscriber.
struct Hierarchy<'a> {
    loops: &'a [_837Loop2000],
    parent: Vec<Option<usize>>,
}

impl<'a> Hierarchy<'a> {
    /// The subscriber loop of loop `i` (itself, or a patient's parent).
    fn subscriber_of(&self, i: usize) -> Option<&'a _837Loop2000> {
        match level(&self.loops[i]).as_str() {
            "22" => Some(&self.loops[i]),
            "23" => self.parent[i].map(|p| &self.loops[p]),
            _ => None,
        }
    }
}

fn level(l: &_837Loop2000) -> String {
    l.hl._03.to_string()
}

fn hierarchy(loops: &[_837Loop2000], st: u32) -> Result<Hierarchy<'_>, EnvelopeError> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut parent = Vec::with_capacity(loops.len());
    for (i, l) in loops.iter().enumerate() {
        let id = l.hl._01.as_str();
        let up = l.hl._02.as_deref().filter(|p| !p.is_empty());
        let wanted = match level(l).as_str() {
            "20" => None,
            "22" => Some("20"),
            "23" => Some("22"),
            other => {
                return Err(refuse(
                    Code::Envelope,
                    st,
                    format!("HL {id}: level code `{other}` is not 20, 22 or 23"),
                ));
            }
        };
        let p = match (up, wanted) {
            (None, None) => None,
            (Some(p), Some(w)) => match index.get(p) {
                Some(&pi) if level(&loops[pi]) == w => Some(pi),
                Some(_) => {
                    return Err(refuse(
                        Code::Envelope,
                        st,
                        format!("HL {id} hangs from HL {p}, which is not a level-{w} loop"),
                    ));
                }
                None => {
                    return Err(refuse(
                        Code::Envelope,
                        st,
                        format!("HL {id} names parent HL {p}, which does not come before it"),
                    ));
                }
            },
            _ => {
                return Err(refuse(
                    Code::Envelope,
                    st,
                    format!("HL {id}: a level-{} loop with the wrong parent", level(l)),
                ));
            }
        };
        index.insert(id, i);
        parent.push(p);
    }
    Ok(Hierarchy { loops, parent })
}

fn component(text: &str, separator: char, n: usize) -> String {
    text.split(separator).nth(n - 1).unwrap_or("").to_string()
}

/// The REF*G2 (provider's number) of the claim's 2310 loop whose NM101 is `qualifier`.
fn provider_ref(c: &_837Loop2300, qualifier: &str) -> String {
    c.loop_2310
        .iter()
        .find(|l| l.nm1._01.to_string() == qualifier)
        .and_then(|l| l.r#ref.as_ref())
        .filter(|r| r._01.to_string() == "G2")
        .and_then(|r| r._02.clone())
        .unwrap_or_default()
}

fn values(
    c: &_837Loop2300,
    subscriber: Option<&_837Loop2000>,
    bht04: &str,
    bht05: &str,
    sep: char,
) -> Vec<String> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let sbr = subscriber.and_then(|s| s.sbr.as_ref());
    let name = |qualifier: &str| {
        subscriber
            .and_then(|s| {
                s.loop_2010
                    .iter()
                    .find(|l| l.nm1._01.to_string() == qualifier)
            })
            .and_then(|l| l.nm1._09.clone())
            .unwrap_or_default()
    };
    let other = c.loop_2320.first();
    let other_payer =
        other.and_then(|o| o.loop_2330.iter().find(|l| l.nm1._01.to_string() == "PR"));
    let line = c.loop_2400.first();
    vec![
        bht04.to_string(),
        bht05.to_string(),
        format!("{bht04}{bht05}"),
        sbr.map(|s| opt(&s._03)).unwrap_or_default(),
        sbr.map(|s| opt(&s._04)).unwrap_or_default(),
        sbr.map(|s| opt(&s._09)).unwrap_or_default(),
        name("IL"),
        name("PR"),
        c.clm._01.clone(),
        opt(&c.clm._02),
        component(&opt(&c.clm._05), sep, 1),
        c.r#ref
            .iter()
            .find(|r| r._01.to_string() == "G1")
            .and_then(|r| r._02.clone())
            .unwrap_or_default(),
        c.hi.first()
            .map(|h| component(&h._01, sep, 2))
            .unwrap_or_default(),
        provider_ref(c, "DN"),
        provider_ref(c, "82"),
        other
            .and_then(|o| o.amt.iter().find(|a| a._01.to_string() == "D"))
            .map(|a| a._02.clone())
            .unwrap_or_default(),
        other_payer
            .and_then(|p| p.nm1._09.clone())
            .unwrap_or_default(),
        other_payer
            .and_then(|p| p.r#ref.as_ref())
            .filter(|r| r._01.to_string() == "2U")
            .and_then(|r| r._02.clone())
            .unwrap_or_default(),
        line.and_then(|l| l.sv1.as_ref())
            .map(|s| component(&s._01, sep, 2))
            .unwrap_or_default(),
        line.and_then(|l| l.dtp.iter().find(|d| d._01.to_string() == "472"))
            .map(|d| d._03.clone())
            .unwrap_or_default(),
    ]
}

/// The claim's values in [`INSTITUTIONAL_FIELDS`] order.
fn institutional_values(
    c: &_837Loop2300,
    subscriber: Option<&_837Loop2000>,
    bht04: &str,
    bht05: &str,
    sep: char,
) -> Vec<String> {
    let shared = values(c, subscriber, bht04, bht05, sep);
    // The professional's values by name, where the two guides read the same thing.
    let same = |name: &str| {
        FIELDS
            .iter()
            .position(|n| *n == name)
            .map(|i| shared[i].clone())
            .unwrap_or_default()
    };
    let line = c.loop_2400.first();
    let statement = c
        .dtp
        .iter()
        .find(|d| d._01.to_string() == "434")
        .map(|d| d._03.clone())
        .unwrap_or_default();
    INSTITUTIONAL_FIELDS
        .iter()
        .map(|name| match *name {
            "2300.CL1-1" => c
                .cl1
                .as_ref()
                .and_then(|x| x._01.clone())
                .unwrap_or_default(),
            // RD8 `CCYYMMDD-CCYYMMDD`: the statement's first day.
            "2300.DTP*434" => statement.split('-').next().unwrap_or("").to_string(),
            "2310A.REF*G2" => provider_ref(c, "71"),
            "2310F.REF*G2" => provider_ref(c, "DN"),
            "2400.SV201" => line
                .and_then(|l| l.sv2.as_ref())
                .map(|s| s._01.clone())
                .unwrap_or_default(),
            "2400.SV202-2" => line
                .and_then(|l| l.sv2.as_ref())
                .and_then(|s| s._02.as_ref())
                .map(|p| component(p, sep, 2))
                .unwrap_or_default(),
            other => same(other),
        })
        .collect()
}
