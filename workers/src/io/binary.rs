//! Fixed-width little-endian records for partition files. Fixed width because a
//! checkpoint's position is then a record number: restart seeks to `position × SIZE`
//! without an index, and a record is decoded with no parsing and no allocation. No
//! serialisation crate: the layout is written down here and in docs/adjudication.md.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::model::{Claim, Cob, Code, MemberRow, Stream};

pub const CLAIM_SIZE: usize = 104;
pub const MEMBER_SIZE: usize = 28;
pub const CHANGE_SIZE: usize = 24;

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.b[self.at..self.at + N]);
        self.at += N;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
    fn code(&mut self) -> Code {
        Code(self.take())
    }
}

/// Layout: id u64, member u32, family u32, pcp u16, stream u8, flags u8 (1 prior auth,
/// 2 COB, 4 COB partner), provider u32, service date i32, received i64, procedure,
/// diagnosis, place of service (8 bytes each), billed i64, prior auth u64, other payer
/// (8), primary paid i64, partner u64, plan u16, 2 bytes zero: 104 bytes.
pub fn encode_claim(c: &Claim, out: &mut [u8; CLAIM_SIZE]) {
    let flags = u8::from(c.prior_auth.is_some())
        | (u8::from(c.cob.is_some()) << 1)
        | (u8::from(c.cob.is_some_and(|x| x.partner.is_some())) << 2);
    let cob = c.cob.unwrap_or(Cob {
        other_payer: Code::default(),
        primary_paid: 0,
        partner: None,
    });
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&c.id.to_le_bytes());
    put(&c.member.to_le_bytes());
    put(&c.family.to_le_bytes());
    put(&c.pcp_group.to_le_bytes());
    put(&[c.stream as u8, flags]);
    put(&c.provider.to_le_bytes());
    put(&c.service_date.to_le_bytes());
    put(&c.received.to_le_bytes());
    put(&c.procedure.0);
    put(&c.diagnosis.0);
    put(&c.place_of_service.0);
    put(&c.billed.to_le_bytes());
    put(&c.prior_auth.unwrap_or(0).to_le_bytes());
    put(&cob.other_payer.0);
    put(&cob.primary_paid.to_le_bytes());
    put(&cob.partner.unwrap_or(0).to_le_bytes());
    put(&c.plan.to_le_bytes());
    put(&[0, 0]);
}

pub fn decode_claim(b: &[u8; CLAIM_SIZE]) -> Claim {
    let mut r = Cursor { b, at: 0 };
    let id = r.u64();
    let member = r.u32();
    let family = r.u32();
    let pcp_group = r.u16();
    let stream = Stream::from_index(r.u8()).unwrap_or(Stream::Commercial);
    let flags = r.u8();
    let provider = r.u32();
    let service_date = r.i32();
    let received = r.i64();
    let procedure = r.code();
    let diagnosis = r.code();
    let place_of_service = r.code();
    let billed = r.i64();
    let auth = r.u64();
    let other_payer = r.code();
    let primary_paid = r.i64();
    let partner = r.u64();
    let plan = r.u16();
    Claim {
        id,
        member,
        family,
        pcp_group,
        provider,
        stream,
        service_date,
        received,
        procedure,
        diagnosis,
        place_of_service,
        billed,
        prior_auth: (flags & 1 != 0).then_some(auth),
        cob: (flags & 2 != 0).then_some(Cob {
            other_payer,
            primary_paid,
            partner: (flags & 4 != 0).then_some(partner),
        }),
        plan,
    }
}

pub fn encode_member(m: &MemberRow) -> [u8; MEMBER_SIZE] {
    let mut a = [0u8; MEMBER_SIZE];
    a[0..4].copy_from_slice(&m.member.to_le_bytes());
    a[4..8].copy_from_slice(&m.family.to_le_bytes());
    a[8..10].copy_from_slice(&m.plan.to_le_bytes());
    a[12..20].copy_from_slice(&m.deductible_ytd.to_le_bytes());
    a[20..28].copy_from_slice(&m.oop_ytd.to_le_bytes());
    a
}

pub fn decode_member(b: &[u8; MEMBER_SIZE]) -> MemberRow {
    let mut r = Cursor { b, at: 0 };
    let member = r.u32();
    let family = r.u32();
    let plan = r.u16();
    let _ = r.u16();
    MemberRow {
        member,
        family,
        plan,
        deductible_ytd: r.i64(),
        oop_ytd: r.i64(),
    }
}

/// One accumulator change: member, family, deductible added, out-of-pocket added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub member: u32,
    pub family: u32,
    pub deductible: i64,
    pub oop: i64,
}

pub fn encode_change(c: &Change) -> [u8; CHANGE_SIZE] {
    let mut a = [0u8; CHANGE_SIZE];
    a[0..4].copy_from_slice(&c.member.to_le_bytes());
    a[4..8].copy_from_slice(&c.family.to_le_bytes());
    a[8..16].copy_from_slice(&c.deductible.to_le_bytes());
    a[16..24].copy_from_slice(&c.oop.to_le_bytes());
    a
}

pub fn decode_change(b: &[u8; CHANGE_SIZE]) -> Change {
    let mut r = Cursor { b, at: 0 };
    Change {
        member: r.u32(),
        family: r.u32(),
        deductible: r.i64(),
        oop: r.i64(),
    }
}

/// Reads fixed-size records from a file, optionally from record `start`.
#[derive(Debug)]
pub struct RecordReader<const N: usize> {
    r: BufReader<File>,
    remaining: u64,
}

impl<const N: usize> RecordReader<N> {
    pub fn open(path: &Path, start: u64) -> std::io::Result<Self> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        if len % N as u64 != 0 {
            return Err(std::io::Error::other(format!(
                "{}: {len} bytes is not a whole number of {N}-byte records (a torn file)",
                path.display()
            )));
        }
        let total = len / N as u64;
        let start = start.min(total);
        f.seek(SeekFrom::Start(start * N as u64))?;
        Ok(RecordReader {
            r: BufReader::with_capacity(1 << 20, f),
            remaining: total - start,
        })
    }

    /// Records in the file from the starting one.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    pub fn next_record(&mut self) -> std::io::Result<Option<[u8; N]>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let mut a = [0u8; N];
        self.r.read_exact(&mut a)?;
        self.remaining -= 1;
        Ok(Some(a))
    }
}

/// Reads all claims of a claim file (tests and small files).
pub fn read_claims(path: &Path) -> std::io::Result<Vec<Claim>> {
    let mut r = RecordReader::<CLAIM_SIZE>::open(path, 0)?;
    let mut v = Vec::new();
    while let Some(b) = r.next_record()? {
        v.push(decode_claim(&b));
    }
    Ok(v)
}

/// Writes claims as fixed records.
#[derive(Debug)]
pub struct ClaimWriter {
    w: BufWriter<File>,
    pub count: u64,
}

impl ClaimWriter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(ClaimWriter {
            w: BufWriter::with_capacity(1 << 20, File::create(path)?),
            count: 0,
        })
    }
    pub fn write(&mut self, c: &Claim) -> std::io::Result<()> {
        let mut b = [0u8; CLAIM_SIZE];
        encode_claim(c, &mut b);
        self.count += 1;
        self.w.write_all(&b)
    }
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.w.flush()?;
        self.w.get_ref().sync_all()?;
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_round_trips_through_its_record() {
        let c = Claim {
            id: u64::MAX - 3,
            member: 7,
            family: 5,
            pcp_group: 48,
            provider: 48_123,
            stream: Stream::Medicaid,
            service_date: -3,
            received: 1_741_032_000,
            procedure: Code::new("99213").expect("code"),
            diagnosis: Code::new("J45909").expect("code"),
            place_of_service: Code::new("11").expect("code"),
            billed: 12_345,
            prior_auth: Some(9),
            cob: Some(Cob {
                other_payer: Code::new("AETNA").expect("code"),
                primary_paid: 77,
                partner: None,
            }),
            plan: 2,
        };
        let mut b = [0u8; CLAIM_SIZE];
        encode_claim(&c, &mut b);
        assert_eq!(decode_claim(&b), c);
        let bare = Claim {
            prior_auth: None,
            cob: None,
            ..c
        };
        encode_claim(&bare, &mut b);
        assert_eq!(decode_claim(&b), bare);
    }
}
