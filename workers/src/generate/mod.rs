//! Deterministic synthetic claims: the same configuration and seed always write the same
//! bytes (ChaCha8, seeded; no clock, no thread). The structure follows the case studies:
//! families of 1–6 and a few large employer families spread over several PCP groups; most
//! of a family's claims in its home group; claims per member skewed (a few members have
//! many); duplicates; prior authorisations; dual coverage (COB), some with the primary
//! claim adjudicated here too; a tunable share of non-standard codes.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::io::{claims_csv, members_csv};
use crate::model::{Claim, Cob, Code, MemberRow, Stream};
use crate::plans::Plans;

#[derive(Debug, Clone)]
pub struct Config {
    pub members: u64,
    pub claims: u64,
    pub pcp_groups: u16,
    pub seed: u64,
    /// Share of claims with a non-standard code (pended as exceptions).
    pub exception_rate: f64,
    /// Share of rows written malformed (to exercise the reject path).
    pub bad_row_rate: f64,
    /// The first received timestamp (seconds since the epoch); claims span the next 24 h.
    pub received_from: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            members: 10_000,
            claims: 20_000,
            pcp_groups: 48,
            seed: 1,
            exception_rate: 0.02,
            bad_row_rate: 0.0,
            // 2025-03-03T20:00:00Z: the nightly window before case study 004's run date.
            received_from: 1_741_032_000,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub members: u64,
    pub families: u64,
    pub claims: u64,
    pub duplicates: u64,
    pub prior_auths: u64,
    pub cob: u64,
    pub cob_partners: u64,
    pub nonstandard: u64,
    pub bad_rows: u64,
}

#[derive(Debug, Clone, Copy)]
struct GenMember {
    id: u32,
    family: u32,
    group: u16,
    plan: u16,
    stream: Stream,
}

const DIAGNOSES: [&str; 12] = [
    "E119", "I10", "J069", "M545", "Z0000", "K219", "F329", "J45909", "N390", "R51", "E785", "M170",
];
const PLACES: [&str; 6] = ["11", "11", "11", "22", "21", "23"];
const PAYERS: [&str; 4] = ["MEDICARE", "AETNA", "BCBS", "UHC"];

fn pick<'a, T>(rng: &mut ChaCha8Rng, v: &'a [T]) -> &'a T {
    &v[rng.gen_range(0..v.len())]
}

/// A family size: mostly 1–6, sometimes more, rarely a large employer family.
fn family_size(rng: &mut ChaCha8Rng) -> (usize, bool) {
    let u: f64 = rng.r#gen();
    match u {
        u if u < 0.34 => (1, false),
        u if u < 0.60 => (2, false),
        u if u < 0.75 => (3, false),
        u if u < 0.88 => (4, false),
        u if u < 0.95 => (5, false),
        u if u < 0.985 => (6, false),
        u if u < 0.997 => (rng.gen_range(7..=9), false),
        _ => (rng.gen_range(10..=60), true),
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Writes `members.csv` and `claims.csv` rows (headers included).
pub fn generate(
    cfg: &Config,
    plans: &Plans,
    members_out: &mut dyn Write,
    claims_out: &mut dyn Write,
    progress: &dyn crate::pipeline::Progress,
) -> std::io::Result<Stats> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut stats = Stats::default();
    let groups = cfg.pcp_groups.max(1);
    let weights: Vec<f64> = (0..groups)
        .map(|_| 0.6 + 0.8 * rng.r#gen::<f64>())
        .collect();
    let total_w: f64 = weights.iter().sum();
    let home_group = |rng: &mut ChaCha8Rng| -> u16 {
        let mut x = rng.r#gen::<f64>() * total_w;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return u16::try_from(i + 1).unwrap_or(groups);
            }
            x -= w;
        }
        groups
    };
    let n_plans = u16::try_from(plans.all().len()).unwrap_or(1).max(1);

    // Members and families.
    let mut members: Vec<GenMember> = Vec::with_capacity(usize::try_from(cfg.members).unwrap_or(0));
    let mut text = String::with_capacity(1 << 20);
    members_out.write_all(members_csv::header().as_bytes())?;
    let mut next_id: u32 = 100_001;
    while (members.len() as u64) < cfg.members {
        let (size, employer) = family_size(&mut rng);
        let size = size.min(usize::try_from(cfg.members - members.len() as u64).unwrap_or(1));
        let family = next_id;
        let home = home_group(&mut rng);
        let spread: Vec<u16> = if employer {
            (0..rng.gen_range(2..=4))
                .map(|_| home_group(&mut rng))
                .collect()
        } else {
            vec![home]
        };
        let plan = rng.gen_range(0..n_plans);
        let stream = *pick(
            &mut rng,
            &[
                Stream::Commercial,
                Stream::Commercial,
                Stream::MedicareAdvantage,
                Stream::Medicaid,
                Stream::DentalVision,
                Stream::Pharmacy,
            ],
        );
        let p = plans.get(plan);
        stats.families += 1;
        for _ in 0..size {
            let group = if employer {
                *pick(&mut rng, &spread)
            } else if rng.gen_bool(0.012) {
                rng.gen_range(1..=groups)
            } else {
                home
            };
            let (ded, oop) = match p {
                Some(p) if rng.gen_bool(0.6) => {
                    let d = (p.deductible_individual as f64 * rng.r#gen::<f64>()) as i64;
                    let o = d
                        + ((p.oop_max_individual - p.deductible_individual) as f64
                            * 0.3
                            * rng.r#gen::<f64>()) as i64;
                    (d, o)
                }
                _ => (0, 0),
            };
            let row = MemberRow {
                member: next_id,
                family,
                plan,
                deductible_ytd: ded,
                oop_ytd: oop,
            };
            text.clear();
            members_csv::write_row(&row, plans, &mut text);
            members_out.write_all(text.as_bytes())?;
            members.push(GenMember {
                id: next_id,
                family,
                group,
                plan,
                stream,
            });
            next_id += 1;
        }
    }
    stats.members = members.len() as u64;
    if members.is_empty() {
        claims_out.write_all(claims_csv::header().as_bytes())?;
        return Ok(stats);
    }

    // Claims, in received order. A member is drawn with a skew (u³ concentrates draws on a
    // few members) through a fixed bijection so the busy members are scattered.
    let n = members.len() as u64;
    let mut mult = 2_654_435_761u64 % n.max(2);
    while gcd(mult.max(1), n) != 1 {
        mult += 1;
    }
    // Fee schedules are hash maps: draw from each plan's codes in code order, so the
    // output does not depend on hash order.
    let mut plan_codes: Vec<Vec<Code>> = plans
        .all()
        .iter()
        .map(|p| {
            let mut v: Vec<Code> = p.fee_schedule.keys().copied().collect();
            v.sort();
            v
        })
        .collect();
    if plan_codes.is_empty() {
        plan_codes.push(Vec::new());
    }
    let mut last_claim: Vec<u64> = vec![0; members.len()];
    let mut recent: Vec<Claim> = Vec::with_capacity(4096);
    let mut by_group: Vec<Vec<Claim>> = vec![Vec::new(); usize::from(groups)];
    let mut buf = String::with_capacity(1 << 20);
    claims_out.write_all(claims_csv::header().as_bytes())?;
    let span = 86_400i64;
    let claims = cfg.claims.max(1);
    for i in 0..cfg.claims {
        if i % 65_536 == 0 && i > 0 {
            progress.advance(65_536);
        }
        let id = 1_000_000_000 + i;
        let received = cfg.received_from
            + i64::try_from(u128::from(i) * span as u128 / u128::from(claims)).unwrap_or(0);
        let duplicate = !recent.is_empty() && rng.gen_bool(0.01);
        let mut c = if duplicate {
            stats.duplicates += 1;
            let mut d = *pick(&mut rng, &recent);
            d.id = id;
            d.received = received;
            d
        } else {
            let raw = ((rng.r#gen::<f64>().powi(2)) * n as f64) as u64 % n;
            let idx = usize::try_from((raw * mult + 7) % n).unwrap_or(0);
            let m = members[idx];
            let plan = plans.get(m.plan);
            let codes = &plan_codes[usize::from(m.plan).min(plan_codes.len() - 1)];
            let procedure = if codes.is_empty() {
                Code::default()
            } else {
                codes[rng.gen_range(0..codes.len())]
            };
            let fee = plan
                .and_then(|p| p.fee_schedule.get(&procedure))
                .copied()
                .unwrap_or(10_000);
            let factor = if rng.gen_bool(0.05) {
                0.8
            } else {
                1.0 + 1.5 * rng.r#gen::<f64>()
            };
            let group = if rng.gen_bool(0.0015) {
                rng.gen_range(1..=groups)
            } else {
                m.group
            };
            let provider = if rng.gen_bool(0.85) {
                u32::from(group) * 1000 + rng.gen_range(0..200)
            } else {
                rng.gen_range(1..=u32::from(groups) * 1000 + 999)
            };
            let mut c = Claim {
                id,
                member: m.id,
                family: m.family,
                pcp_group: group,
                provider,
                stream: m.stream,
                service_date: i32::try_from(received.div_euclid(86_400)).unwrap_or(0)
                    - rng.gen_range(0..45),
                received,
                procedure,
                diagnosis: Code::new(pick::<&str>(&mut rng, &DIAGNOSES[..])).unwrap_or_default(),
                place_of_service: Code::new(pick::<&str>(&mut rng, &PLACES[..]))
                    .unwrap_or_default(),
                billed: (fee as f64 * factor).round() as i64,
                prior_auth: None,
                cob: None,
                plan: m.plan,
            };
            if plan.is_some_and(|p| p.prior_auth.contains(&procedure)) {
                let u: f64 = rng.r#gen();
                let last = last_claim[idx];
                c.prior_auth = if u < 0.92 && last != 0 {
                    Some(last)
                } else if u < 0.96 && i > 0 {
                    // An authorisation number that is no claim of this cycle.
                    Some(rng.gen_range(1..1_000_000))
                } else {
                    None
                };
                if c.prior_auth.is_some() {
                    stats.prior_auths += 1;
                }
            }
            let u: f64 = rng.r#gen();
            if u < 0.025 {
                stats.cob += 1;
                c.cob = Some(Cob {
                    other_payer: Code::new(pick::<&str>(&mut rng, &PAYERS[..])).unwrap_or_default(),
                    primary_paid: (c.billed as f64 * 0.7 * rng.r#gen::<f64>()) as i64,
                    partner: None,
                });
            } else if u < 0.03 {
                // The same service billed to this member's second coverage, whose primary
                // claim is also ours: usually a family in the same PCP group (employer
                // groups cluster), sometimes anywhere.
                let pool = &by_group[usize::from(group) - 1];
                let primary = if !pool.is_empty() && rng.gen_bool(0.8) {
                    *pick(&mut rng, pool)
                } else if !recent.is_empty() {
                    *pick(&mut rng, &recent)
                } else {
                    c
                };
                if primary.member != c.member && primary.plan == c.plan {
                    stats.cob += 1;
                    stats.cob_partners += 1;
                    c.provider = primary.provider;
                    c.service_date = primary.service_date;
                    c.procedure = primary.procedure;
                    c.billed = primary.billed;
                    c.prior_auth = None;
                    c.cob = Some(Cob {
                        other_payer: Code::new("WARDEN").unwrap_or_default(),
                        primary_paid: 0,
                        partner: Some(primary.id),
                    });
                }
            }
            if rng.gen_bool(cfg.exception_rate.clamp(0.0, 1.0)) {
                stats.nonstandard += 1;
                match rng.gen_range(0..3) {
                    0 => c.procedure = Code::new("99499").unwrap_or_default(),
                    1 => {
                        let d = c.diagnosis.as_str();
                        let dotted = if d.len() > 3 {
                            format!("{}.{}", &d[..3], &d[3..])
                        } else {
                            d.to_lowercase()
                        };
                        c.diagnosis = Code::new(&dotted).unwrap_or(c.diagnosis);
                    }
                    _ => c.place_of_service = Code::new("35").unwrap_or_default(),
                }
            }
            last_claim[idx] = id;
            c
        };
        c.id = id;
        buf.clear();
        claims_csv::write_row(&c, plans, &mut buf);
        if cfg.bad_row_rate > 0.0 && rng.gen_bool(cfg.bad_row_rate.clamp(0.0, 1.0)) {
            stats.bad_rows += 1;
            buf = corrupt(&buf, &mut rng);
        } else {
            stats.claims += 1;
        }
        claims_out.write_all(buf.as_bytes())?;
        let gi = usize::from(c.pcp_group).clamp(1, by_group.len()) - 1;
        let g = &mut by_group[gi];
        if g.len() < 64 {
            g.push(c);
        } else {
            let k = rng.gen_range(0..g.len());
            g[k] = c;
        }
        if recent.len() < 4096 {
            recent.push(c);
        } else {
            let k = rng.gen_range(0..recent.len());
            recent[k] = c;
        }
    }
    Ok(stats)
}

/// A malformed copy of a row: one field broken the ways real extracts break.
fn corrupt(row: &str, rng: &mut ChaCha8Rng) -> String {
    let mut f: Vec<String> = row.trim_end().split(',').map(str::to_string).collect();
    match rng.gen_range(0..5) {
        0 => f[11] = format!("-{}", f[11]),
        1 => f[16] = "PLATINUM-X".into(),
        2 => f[1] = String::new(),
        3 => f[6] = "2025-02-30".into(),
        _ => f[11] = "12,50".into(),
    }
    let mut s = f.join(",");
    s.push('\n');
    s
}
