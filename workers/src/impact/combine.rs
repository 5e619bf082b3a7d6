//! The baseline plus the new volume as one intake (pure). The new claims come from another
//! source (an acquisition's extract), so their member, family and claim numbers may be the
//! baseline's too. Combined, the new members and families are renumbered above the
//! baseline's, the two claim files are merged in received order (the baseline's first at
//! equal times) and every claim is renumbered in that order, its prior authorisation and
//! COB partner with it. Renumbering keeps each file's order, so every baseline claim sees
//! what it sees without the new volume: the families are disjoint.

use std::collections::HashMap;

use crate::model::{Claim, MemberRow};

/// One claims population, as read.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub claims: &'a [Claim],
    pub members: &'a [MemberRow],
}

/// The combined intake, and which of its claims are new.
#[derive(Debug, Clone)]
pub struct Combined {
    pub claims: Vec<Claim>,
    pub members: Vec<MemberRow>,
    /// Per combined claim: from the new volume?
    pub new: Vec<bool>,
}

/// A reference to no claim of its file (adjudicated as one, whatever number it has).
const NO_CLAIM: u64 = u64::MAX;

fn highest(part: Part<'_>) -> (u32, u32) {
    let m = part.members.iter().map(|m| (m.member, m.family));
    let c = part.claims.iter().map(|c| (c.member, c.family));
    m.chain(c)
        .fold((0, 0), |(a, b), (x, y)| (a.max(x), b.max(y)))
}

/// Combines `baseline` and `new`; an error if the new numbers do not fit above the
/// baseline's.
pub fn combine(baseline: Part<'_>, new: Part<'_>) -> Result<Combined, String> {
    let (top_member, top_family) = highest(baseline);
    let (new_member, new_family) = highest(new);
    if u64::from(top_member) + u64::from(new_member) > u64::from(u32::MAX)
        || u64::from(top_family) + u64::from(new_family) > u64::from(u32::MAX)
    {
        return Err(format!(
            "the new members cannot be numbered above the baseline's (member {top_member}, family {top_family}): ids would pass {}",
            u32::MAX
        ));
    }
    let shift = |m: u32, f: u32| (m + top_member, f + top_family);

    // (received, origin, index): a stable merge of two files each in received order.
    let mut order: Vec<(i64, bool, usize)> = baseline
        .claims
        .iter()
        .enumerate()
        .map(|(i, c)| (c.received, false, i))
        .chain(
            new.claims
                .iter()
                .enumerate()
                .map(|(i, c)| (c.received, true, i)),
        )
        .collect();
    order.sort_unstable();
    let mut renumber: [HashMap<u64, u64>; 2] = [HashMap::new(), HashMap::new()];
    for (n, (_, from_new, i)) in order.iter().enumerate() {
        let part = if *from_new { new } else { baseline };
        renumber[usize::from(*from_new)].insert(part.claims[*i].id, n as u64 + 1);
    }
    let mut claims = Vec::with_capacity(order.len());
    let mut is_new = Vec::with_capacity(order.len());
    for (n, (_, from_new, i)) in order.iter().enumerate() {
        let ids = &renumber[usize::from(*from_new)];
        let mut c = if *from_new {
            new.claims[*i]
        } else {
            baseline.claims[*i]
        };
        let to = |id: u64| *ids.get(&id).unwrap_or(&NO_CLAIM);
        c.id = n as u64 + 1;
        c.prior_auth = c.prior_auth.map(to);
        if let Some(cob) = c.cob.as_mut() {
            cob.partner = cob.partner.map(to);
        }
        if *from_new {
            (c.member, c.family) = shift(c.member, c.family);
        }
        claims.push(c);
        is_new.push(*from_new);
    }
    let mut members = baseline.members.to_vec();
    members.extend(new.members.iter().map(|m| {
        let mut m = *m;
        (m.member, m.family) = shift(m.member, m.family);
        m
    }));
    Ok(Combined {
        claims,
        members,
        new: is_new,
    })
}
