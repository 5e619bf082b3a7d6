//! Deferred merge (CLMDEFMERGE): the partitions' deferred files merged into one, in claim
//! (received) order; the results pass 2 needs of pass-1 claims; the accumulators refreshed
//! with every change pass 1 committed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use super::defer::reason_text;
use super::error::{At, Result};
use super::layout::{self, Layout};
use super::member_index::MemberIndex;
use super::runner::DEFERRED_SIZE;
use super::setup::{read_members_bin, write_members};
use crate::io::binary::{self, CHANGE_SIZE, CLAIM_SIZE, RecordReader};
use crate::io::results;
use crate::model::MemberRow;
use crate::rules::hash::FxHashSet;

/// What the merge produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeSummary {
    pub deferred: u64,
    pub references: u64,
    /// Pass-1 changes that touched a deferred family's member (0 by construction).
    pub changes_applied: u64,
}

pub fn run(layout: &Layout, partitions: usize) -> Result<MergeSummary> {
    let dir = layout.merge();
    std::fs::create_dir_all(&dir).at(&dir)?;
    let mut summary = MergeSummary::default();

    // 1. Deferred claims, k-way merged by claim id.
    let mut readers = Vec::new();
    for p in 0..partitions {
        let path = layout.partition(p).join(layout::DEFERRED);
        readers.push((
            RecordReader::<DEFERRED_SIZE>::open(&path, 0).at(&path)?,
            path,
        ));
    }
    let mut heap = BinaryHeap::new();
    let mut heads: Vec<Option<[u8; DEFERRED_SIZE]>> = Vec::new();
    for (i, (r, path)) in readers.iter_mut().enumerate() {
        let h = r.next_record().at(path)?;
        if let Some(b) = &h {
            heap.push(Reverse((
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                i,
            )));
        }
        heads.push(h);
    }
    let out_path = dir.join(layout::DEFERRED);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&out_path).at(&out_path)?);
    let list_path = dir.join(layout::DEFERRED_LIST);
    let mut list = BufWriter::new(File::create(&list_path).at(&list_path)?);
    list.write_all(b"claim_id,partition,reasons\n")
        .at(&list_path)?;
    let mut wanted = FxHashSet::default();
    while let Some(Reverse((id, i))) = heap.pop() {
        let Some(b) = heads[i].take() else { continue };
        let mut claim = [0u8; CLAIM_SIZE];
        claim.copy_from_slice(&b[..CLAIM_SIZE]);
        let c = binary::decode_claim(&claim);
        wanted.extend(c.references());
        let reasons = u32::from_le_bytes([
            b[CLAIM_SIZE],
            b[CLAIM_SIZE + 1],
            b[CLAIM_SIZE + 2],
            b[CLAIM_SIZE + 3],
        ]);
        out.write_all(&claim).at(&out_path)?;
        writeln!(list, "{id},P{:02},{}", i + 1, reason_text(reasons)).at(&list_path)?;
        summary.deferred += 1;
        let (r, path) = &mut readers[i];
        let h = r.next_record().at(path)?;
        if let Some(nb) = &h {
            heap.push(Reverse((
                u64::from_le_bytes([nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7]]),
                i,
            )));
        }
        heads[i] = h;
    }
    out.flush().at(&out_path)?;
    out.get_ref().sync_all().at(&out_path)?;
    list.flush().at(&list_path)?;

    // 2. Pass-1 results the deferred claims reference.
    let refs_path = dir.join(layout::REFS);
    let mut refs = BufWriter::new(File::create(&refs_path).at(&refs_path)?);
    if !wanted.is_empty() {
        for p in 0..partitions {
            let path = layout.partition(p).join(layout::RESULTS);
            for line in BufReader::new(File::open(&path).at(&path)?).lines() {
                let line = line.at(&path)?;
                if results::claim_id(&line).is_some_and(|id| wanted.contains(&id)) {
                    writeln!(refs, "{line}").at(&refs_path)?;
                    summary.references += 1;
                }
            }
        }
    }
    refs.flush().at(&refs_path)?;

    // 3. Accumulator refresh for pass 2: the pre-load of the deferred families' members plus
    // pass 1's committed changes to them. (Deferral is per family, so pass 1 changes none of
    // these rows: `changes_applied` is 0 unless that design is broken. The full table, start
    // + every change, is what reconciliation writes.)
    let deferred_families =
        super::setup::read_deferred_families(&layout.setup().join(layout::DEFERRED_FAMILIES))?;
    let mut members = read_members_bin(&layout.setup().join(layout::MEMBERS), |m| {
        deferred_families.contains_key(&m.family)
    })?;
    let index = MemberIndex::new(&members);
    for p in 0..partitions {
        summary.changes_applied += apply_changes(
            &layout.partition(p).join(layout::CHANGES),
            &mut members,
            &index,
        )?;
    }
    write_members(&dir.join(layout::MEMBERS), &members)?;
    Ok(summary)
}

/// Adds a change log to member rows sorted by member id; returns the changes applied.
pub fn apply_changes(path: &Path, members: &mut [MemberRow], index: &MemberIndex) -> Result<u64> {
    let mut r = RecordReader::<CHANGE_SIZE>::open(path, 0).at(path)?;
    let mut n = 0;
    while let Some(b) = r.next_record().at(path)? {
        let ch = binary::decode_change(&b);
        if let Some(i) = index.get(ch.member) {
            members[i].deductible_ytd += ch.deductible;
            members[i].oop_ytd += ch.oop;
            n += 1;
        }
    }
    Ok(n)
}
