//! The envelope of an ANSI X12 interchange, read and checked before any transaction set is
//! parsed: the delimiters from the fixed-width ISA segment, then ISA/IEA, GS/GE and ST/SE
//! with their counts and control numbers. An interchange whose envelope fails is refused
//! whole (`TRUNCATED`, `ENVELOPE`, `TOTALS_MISMATCH`), naming the segment's position (1 is
//! the ISA). Pure; the transaction sets' contents are the 837 reader's.
//!
//! The envelope is walked segment by segment without keeping them: a checked interchange
//! holds each transaction set as its bytes and the position of its ST, and
//! [`TransactionSet::segments`] splits one set at a time. An interchange of a million claims
//! (about 700 MB) then costs its bytes and one set's segments, not every segment at once.

use super::transform::Code;

/// The delimiters an interchange declares in its ISA segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub element: u8,
    pub component: u8,
    pub segment: u8,
}

/// One segment: its position in the interchange (the ISA is 1) and its elements (the first
/// is the segment id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub position: u32,
    pub elements: Vec<&'a [u8]>,
    /// The segment's bytes in the interchange, without its terminator.
    raw: &'a [u8],
}

impl Segment<'_> {
    pub fn id(&self) -> &[u8] {
        self.elements.first().copied().unwrap_or(b"")
    }

    /// Element `n` (1-based, as X12 numbers them) as text; empty when absent.
    pub fn element(&self, n: usize) -> String {
        self.elements
            .get(n)
            .map(|e| String::from_utf8_lossy(e).trim().to_string())
            .unwrap_or_default()
    }
}

/// A transaction set, ST to SE inclusive: where it is, its segments split on demand.
#[derive(Debug, Clone)]
pub struct TransactionSet<'a> {
    pub control: String,
    /// The ST segment's position.
    pub position: u32,
    /// From the ST's first byte to the end of the SE.
    bytes: &'a [u8],
    delimiters: Delimiters,
}

impl<'a> TransactionSet<'a> {
    /// The set's segments, ST first, numbered as in the interchange.
    pub fn segments(&self) -> Vec<Segment<'a>> {
        split(self.bytes, self.delimiters, self.position).collect()
    }
}

/// A functional group, GS to GE.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// GS08: the version and implementation guide (`005010X222A1`).
    pub version: String,
    pub sets: Vec<TransactionSet<'a>>,
}

/// A checked interchange.
#[derive(Debug, Clone)]
pub struct Interchange<'a> {
    pub delimiters: Delimiters,
    pub control: String,
    pub groups: Vec<Group<'a>>,
}

/// Why an interchange was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    pub code: Code,
    /// The segment's position (1 is the ISA); 0 for the file as a whole.
    pub position: u32,
    pub reason: String,
}

fn fail(code: Code, position: u32, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError {
        code,
        position,
        reason: reason.into(),
    }
}

/// The ISA segment's fixed length, its terminator included.
const ISA_LENGTH: usize = 106;

/// Reads the envelope of `bytes` (a UTF-8 byte-order mark and blanks before the ISA are
/// allowed, as are line breaks after each segment terminator).
pub fn read(bytes: &[u8]) -> Result<Interchange<'_>, EnvelopeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    if !bytes.starts_with(b"ISA") {
        return Err(fail(
            Code::Envelope,
            1,
            "the file does not start with an ISA segment: it is not an X12 interchange",
        ));
    }
    if bytes.len() < ISA_LENGTH {
        return Err(fail(
            Code::Truncated,
            1,
            "the file ends inside its ISA segment",
        ));
    }
    let delimiters = Delimiters {
        element: bytes[3],
        component: bytes[104],
        segment: bytes[105],
    };
    let d = delimiters;
    if d.element.is_ascii_alphanumeric()
        || d.segment.is_ascii_alphanumeric()
        || d.element == d.segment
        || d.component == d.element
        || d.component == d.segment
    {
        return Err(fail(
            Code::Envelope,
            1,
            "the ISA's delimiters (bytes 4, 105 and 106) are not three distinct separators: \
             the ISA is not 106 characters long",
        ));
    }
    let total = split(bytes, d, 1).count() as u32;
    // A file cut short usually ends inside a segment: its last one has no terminator (unless
    // the terminator is a line break, which trailing blanks hide).
    if !d.segment.is_ascii_whitespace() && bytes.trim_ascii_end().last() != Some(&d.segment) {
        return Err(fail(
            Code::Truncated,
            total,
            "the file ends inside a segment (no terminator after the last one): it is cut short",
        ));
    }
    let mut walk = split(bytes, d, 1).peekable();
    let Some(isa) = walk.next() else {
        return Err(fail(Code::Truncated, 1, "the file holds no segment"));
    };
    if isa.elements.len() != 17 {
        return Err(fail(
            Code::Envelope,
            1,
            format!("the ISA has {} elements, not 16", isa.elements.len() - 1),
        ));
    }
    let control = isa.element(13);
    let mut groups = Vec::new();
    loop {
        let Some(segment) = walk.next() else {
            return Err(fail(
                Code::Truncated,
                total,
                "the interchange ends without its IEA segment: the file is cut short",
            ));
        };
        match segment.id() {
            b"GS" => groups.push(group(bytes, d, &segment, &mut walk, total)?),
            b"IEA" => {
                closes(
                    &segment,
                    groups.len(),
                    "functional groups",
                    "the interchange",
                    &control,
                    "ISA13",
                )?;
                if let Some(extra) = walk.next() {
                    return Err(fail(
                        Code::Envelope,
                        extra.position,
                        "segments after the IEA: the file holds more than one interchange, \
                         or was joined wrongly",
                    ));
                }
                return Ok(Interchange {
                    delimiters,
                    control,
                    groups,
                });
            }
            other => {
                return Err(fail(
                    Code::Envelope,
                    segment.position,
                    format!(
                        "expected GS or IEA, found `{}`",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        }
    }
}

fn group<'a>(
    bytes: &'a [u8],
    d: Delimiters,
    gs: &Segment<'a>,
    walk: &mut impl Iterator<Item = Segment<'a>>,
    end: u32,
) -> Result<Group<'a>, EnvelopeError> {
    let mut sets = Vec::new();
    loop {
        let Some(segment) = walk.next() else {
            return Err(fail(
                Code::Truncated,
                end,
                format!(
                    "the functional group opened at segment {} has no GE: the file is cut short",
                    gs.position
                ),
            ));
        };
        match segment.id() {
            b"ST" => sets.push(transaction_set(bytes, d, &segment, walk, end)?),
            b"GE" => {
                closes(
                    &segment,
                    sets.len(),
                    "transaction sets",
                    "the group",
                    &gs.element(6),
                    "GS06",
                )?;
                return Ok(Group {
                    version: gs.element(8),
                    sets,
                });
            }
            other => {
                return Err(fail(
                    Code::Envelope,
                    segment.position,
                    format!(
                        "expected ST or GE, found `{}`",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        }
    }
}

fn transaction_set<'a>(
    bytes: &'a [u8],
    d: Delimiters,
    st: &Segment<'a>,
    walk: &mut impl Iterator<Item = Segment<'a>>,
    end: u32,
) -> Result<TransactionSet<'a>, EnvelopeError> {
    let control = st.element(2);
    let mut count = 1;
    loop {
        let Some(segment) = walk.next() else {
            return Err(fail(
                Code::Truncated,
                end,
                format!(
                    "transaction set {control} (segment {}) has no SE: the file is cut short",
                    st.position
                ),
            ));
        };
        count += 1;
        match segment.id() {
            b"SE" => {
                let set = format!("transaction set {control}");
                closes(&segment, count, "segments", &set, &control, "ST02")?;
                let offset = |s: &[u8]| s.as_ptr() as usize - bytes.as_ptr() as usize;
                let (from, to) = (offset(st.raw), offset(segment.raw) + segment.raw.len());
                return Ok(TransactionSet {
                    control,
                    position: st.position,
                    bytes: &bytes[from..to],
                    delimiters: d,
                });
            }
            b"ST" | b"GE" | b"GS" | b"IEA" => {
                return Err(fail(
                    Code::Truncated,
                    segment.position,
                    format!(
                        "transaction set {control} (segment {}) ends without its SE",
                        st.position
                    ),
                ));
            }
            _ => {}
        }
    }
}

/// A closing segment (IEA, GE, SE) against what it closes: its element 1 counts what it
/// closes (`counted` `what`, held by `of`), its element 2 repeats the control number of the
/// opening segment (`opener`).
fn closes(
    segment: &Segment<'_>,
    counted: usize,
    what: &str,
    of: &str,
    control: &str,
    opener: &str,
) -> Result<(), EnvelopeError> {
    let id = String::from_utf8_lossy(segment.id());
    let (says, repeats) = (segment.element(1), segment.element(2));
    if says != counted.to_string() {
        return Err(fail(
            Code::TotalsMismatch,
            segment.position,
            format!("{id}01 says {says} {what}, {of} has {counted}"),
        ));
    }
    if repeats != control {
        return Err(fail(
            Code::Envelope,
            segment.position,
            format!("{id}02 `{repeats}` is not the {opener} control number `{control}`"),
        ));
    }
    Ok(())
}

/// The segments of `bytes`, numbered from `first`, without the line breaks many senders put
/// after each terminator; split as they are taken.
fn split(bytes: &[u8], d: Delimiters, first: u32) -> impl Iterator<Item = Segment<'_>> {
    bytes
        .split(move |b| *b == d.segment)
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty())
        .zip(first..)
        .map(move |(s, position)| Segment {
            position,
            elements: s.split(|b| *b == d.element).collect(),
            raw: s,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An interchange of one group with two transaction sets, each of `lines` CLM lines.
    fn sample() -> String {
        let isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250304*1200*^*00501*000000905*0*T*:~";
        assert_eq!(isa.len(), ISA_LENGTH);
        let set = |n: u32| {
            format!(
                "ST*837*{n:04}*005010X222A1~\nBHT*0019*00*B{n}*20250304*1200*CH~\nCLM*C{n}*10***11:B:1*Y*A*Y*Y~\nSE*4*{n:04}~\n"
            )
        };
        format!(
            "{isa}\nGS*HC*SENDER*RECEIVER*20250304*1200*7*X*005010X222A1~\n{}{}GE*2*7~\nIEA*1*000000905~\n",
            set(1),
            set(2)
        )
    }

    fn error(text: &str) -> EnvelopeError {
        read(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_whole_interchange_is_read_with_its_delimiters() {
        let text = sample();
        let i = read(text.as_bytes()).unwrap();
        assert_eq!(
            i.delimiters,
            Delimiters {
                element: b'*',
                component: b':',
                segment: b'~'
            }
        );
        assert_eq!(i.control, "000000905");
        assert_eq!(i.groups.len(), 1);
        assert_eq!(i.groups[0].version, "005010X222A1");
        let sets = &i.groups[0].sets;
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[1].control, "0002");
        assert_eq!(sets[1].segments().len(), 4);
        // ISA 1, GS 2, the first set 3–6, the second's CLM is 9.
        assert_eq!(sets[1].position, 7);
        assert_eq!(sets[1].segments()[2].position, 9);
        assert_eq!(sets[1].segments()[2].element(1), "C2");
    }

    #[test]
    fn other_delimiters_and_a_bom_are_read_from_the_isa() {
        let text = sample()
            .replace('*', "|")
            .replace('~', "\r\n")
            .replace("|:\r\n", "|>\r\n");
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        // With CRLF as the terminator, the line breaks are the terminators.
        let i = read(&bytes).unwrap();
        assert_eq!(i.delimiters.element, b'|');
        assert_eq!(i.delimiters.component, b'>');
        assert_eq!(i.groups[0].sets.len(), 2);
    }

    #[test]
    fn counts_and_control_numbers_that_disagree_are_named() {
        let e = error(&sample().replacen("SE*4*0001", "SE*5*0001", 1));
        assert_eq!((e.code, e.position), (Code::TotalsMismatch, 6));
        assert!(
            e.reason.contains("SE01 says 5") && e.reason.contains("has 4"),
            "{}",
            e.reason
        );
        let e = error(&sample().replacen("SE*4*0002", "SE*4*0003", 1));
        assert_eq!(e.code, Code::Envelope);
        let e = error(&sample().replacen("GE*2*7", "GE*3*7", 1));
        assert_eq!(e.code, Code::TotalsMismatch);
        let e = error(&sample().replacen("GE*2*7", "GE*2*8", 1));
        assert!(e.reason.contains("GS06"), "{}", e.reason);
        let e = error(&sample().replacen("IEA*1*000000905", "IEA*1*000000906", 1));
        assert_eq!((e.code, e.position), (Code::Envelope, 12));
        let e = error(&sample().replacen("IEA*1*", "IEA*2*", 1));
        assert_eq!(e.code, Code::TotalsMismatch);
    }

    #[test]
    fn a_cut_file_is_truncated_wherever_it_is_cut() {
        let text = sample();
        for cut in [50, 120, 200, 260, text.len() - 20] {
            let e = error(&text[..cut]);
            assert_eq!(e.code, Code::Truncated, "cut at {cut}: {e:?}");
        }
        let e = error(&(sample() + "GS*HC*X~"));
        assert_eq!(e.code, Code::Envelope);
        let e = error("CLM*1*2~");
        assert_eq!(e.code, Code::Envelope);
        let e = error(&sample().replacen("ISA*00*          *", "ISA*00*   *", 1));
        assert_eq!(e.code, Code::Envelope, "{}", e.reason);
    }
}
