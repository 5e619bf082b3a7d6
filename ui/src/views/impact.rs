//! The batch impact test's pages (issue #12): the stored tests, and one test's report as a
//! review board reads it. Built from the stored record and its report without I/O; the
//! report is the same [`ImpactReport`] `warden impact show` renders as text, so the page
//! and the CLI cannot disagree on a figure.
//!
//! Times of the cycle (deadlines, finishes) are shown in the cycle's time zone, like every
//! other page; times of the record (when the test ran, when it was approved) in UTC with the
//! year, as a review board files them. The approval's note is free text written by a person:
//! masked for viewers like every other note.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use warden_core::workflow::values::{format_duration, thousands};
use warden_deadlines::alert::format_probability;
use warden_deadlines::impact_report::ImpactReport;
use warden_deadlines::reproject::{DurationSource, Mitigation};
use warden_deadlines::verdict::Verdict;
use warden_store::{ImpactApproval, ImpactTestRecord};

use crate::auth::{AuthConfig, Role};
use crate::format::{local, signed};
use crate::mask::Masking;

/// A wall-clock time of the record, in UTC with the year.
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn margin(minutes: i64) -> String {
    signed(TimeDelta::minutes(minutes))
}

/// Where a test stands with the go-live gate's approval: a key (`approved`, `awaiting`,
/// `not_needed`, `not_approvable`) and the words.
pub fn approval_state(verdict: &str, approval: Option<&ImpactApproval>) -> (String, String) {
    let (key, words) = match (verdict, approval) {
        (_, Some(a)) => (
            "approved",
            format!("approved by {} ({}) at {}", a.approver, a.role, utc(a.at)),
        ),
        ("review", None) => (
            "awaiting",
            "awaiting an architect's approval: the tested volume may not go live until then"
                .to_string(),
        ),
        ("pass", None) => (
            "not_needed",
            "needs no approval (pass): the tested volume may go live".to_string(),
        ),
        (_, None) => (
            "not_approvable",
            "cannot be approved (fail): change the cycle and test again".to_string(),
        ),
    };
    (key.to_string(), words)
}

/// Who may approve a `review` on this server, in words (for those who may not).
pub fn who_may_approve(auth: Option<&AuthConfig>) -> String {
    match auth {
        None => "nobody on this server: it runs without an auth file, and an approval needs a \
                 user with the architect role named in one (start it with --auth FILE, or \
                 approve with `warden impact approve`)"
            .to_string(),
        Some(auth) => match auth.users_with(Role::Architect).as_slice() {
            [] => "a user with the architect role; this server's auth file names none".to_string(),
            names => format!("a user with the architect role: {}", names.join(", ")),
        },
    }
}

/// The stored report, its id set; or why it cannot be read.
pub fn report_of(t: &ImpactTestRecord) -> Result<ImpactReport, String> {
    let mut r: ImpactReport = serde_json::from_str(&t.report).map_err(|e| {
        format!(
            "impact test #{}: its stored report does not read ({e}); it was written by another \
             version of warden (`warden impact show {}` from that version shows it)",
            t.id, t.id
        )
    })?;
    r.id = Some(t.id);
    Ok(r)
}

/// A stream's tested volume, in a list row.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeCell {
    pub stream: String,
    pub tested: u64,
    pub tested_text: String,
}

/// One stored test, as the list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactTestRow {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub created: String,
    pub created_utc: DateTime<Utc>,
    /// pass | review | fail
    pub verdict: String,
    pub volumes: Vec<VolumeCell>,
    /// approved | awaiting | not_needed | not_approvable
    pub approval: String,
    pub approval_text: String,
    pub approved_by: Option<String>,
}

/// `/impact`: every stored test of the cycles the server knows, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactListView {
    pub cycles: Vec<String>,
    pub tests: Vec<ImpactTestRow>,
}

pub fn impact_row(t: &ImpactTestRecord) -> ImpactTestRow {
    let (approval, approval_text) = approval_state(&t.verdict, t.approval.as_ref());
    ImpactTestRow {
        id: t.id,
        cycle: t.cycle.clone(),
        business_date: t.business_date.clone(),
        created: utc(t.created_at),
        created_utc: t.created_at,
        verdict: t.verdict.clone(),
        volumes: t
            .volumes
            .iter()
            .map(|(stream, n)| VolumeCell {
                stream: stream.clone(),
                tested: *n,
                tested_text: thousands(*n),
            })
            .collect(),
        approval,
        approval_text,
        approved_by: t.approval.as_ref().map(|a| a.approver.clone()),
    }
}

/// The list of `tests` (any order in; newest first out, by when made, then id).
pub fn impact_list(cycles: Vec<String>, tests: &[ImpactTestRecord]) -> ImpactListView {
    let mut rows: Vec<ImpactTestRow> = tests.iter().map(impact_row).collect();
    rows.sort_by(|a, b| {
        b.created_utc
            .cmp(&a.created_utc)
            .then_with(|| b.id.cmp(&a.id))
    });
    rows.dedup_by_key(|r| r.id);
    ImpactListView {
        cycles,
        tests: rows,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeRow {
    pub stream: String,
    pub declared: String,
    pub added: String,
    /// The added share of the declared volume, and the trigger it is held to.
    pub share_added: String,
    pub trigger: String,
    pub over_trigger: bool,
    pub tested: String,
    pub tested_claims: u64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageRow {
    pub stage: String,
    pub sample_before_s: String,
    pub sample_after_s: String,
    pub full_before_s: String,
    pub full_after_s: String,
    pub growth: String,
}

/// A measured number and where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct FigureRow {
    pub name: String,
    pub value: String,
    pub raw: f64,
    pub unit: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasuredView {
    pub baseline_dir: String,
    pub new_dir: String,
    pub sample: String,
    pub seed: u64,
    pub partitions: usize,
    pub repeat: usize,
    pub stages: Vec<StageRow>,
    pub figures: Vec<FigureRow>,
}

/// A measured growth beside the declared one.
#[derive(Debug, Clone, Serialize)]
pub struct DisagreementRow {
    pub job: String,
    pub stages: String,
    pub declared_growth: String,
    pub declared_elasticity: String,
    pub measured_growth: String,
    pub measured_elasticity: String,
    /// underestimates | overestimates
    pub direction: String,
    pub difference: String,
}

/// One deadline before and after the new volume.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineRow {
    pub id: String,
    pub regulatory: bool,
    pub due: String,
    pub due_utc: DateTime<Utc>,
    pub p50_before: String,
    pub p50_after: String,
    pub p90_before: String,
    pub p90_after: String,
    /// Margin at the p50 finish, before and after, and the change.
    pub margin_before: String,
    pub margin_after: String,
    pub margin_change: String,
    pub margin_before_minutes: i64,
    pub margin_after_minutes: i64,
    pub late_after: bool,
    pub p_miss_before: String,
    pub p_miss_after: String,
    /// This deadline's verdict (pass | review | fail).
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MovedRow {
    pub job: String,
    pub duration_before: String,
    pub duration_after: String,
    pub later: String,
    /// measured | declared
    pub source: String,
}

/// One reason of the verdict: a deadline's, or the test's (the exception rate).
#[derive(Debug, Clone, Serialize)]
pub struct ReasonRow {
    pub deadline: Option<String>,
    pub text: String,
}

/// A deadline's margin with a mitigation.
#[derive(Debug, Clone, Serialize)]
pub struct MarginCell {
    pub deadline: String,
    pub margin: String,
    pub minutes: Option<i64>,
    pub late: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MitigationRow {
    pub name: String,
    pub what: String,
    pub applies: bool,
    /// Every deadline back within the review lines.
    pub restores: bool,
    pub restored: Vec<String>,
    pub verdict: Option<String>,
    pub outcome: String,
    /// In the order of the deadlines table.
    pub margins: Vec<MarginCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdsView {
    pub trigger: String,
    pub sample: String,
    pub review_margin: String,
    pub p_miss_review: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestsView {
    pub workflow_sha256: String,
    pub sample_sha256: String,
    pub thresholds_sha256: String,
    pub binary_version: String,
}

/// An architect's approval, as a reader may see it.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalView {
    pub approver: String,
    pub role: String,
    /// The reader's view of the note (masked for viewers).
    pub note: String,
    pub at: DateTime<Utc>,
    pub at_text: String,
}

impl ApprovalView {
    pub fn of(a: &ImpactApproval, masking: Masking) -> Self {
        ApprovalView {
            approver: a.approver.clone(),
            role: a.role.clone(),
            note: masking.text(&a.note),
            at: a.at,
            at_text: utc(a.at),
        }
    }
}

/// `/impact/{test}`: the report a review board reads.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactView {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub workflow_file: String,
    pub created: String,
    pub created_utc: DateTime<Utc>,
    pub binary_version: String,
    /// The zone the cycle's times are shown in.
    pub timezone: String,
    /// pass | review | fail
    pub verdict: String,
    pub verdict_label: String,
    /// What the verdict means for going live.
    pub verdict_summary: String,
    pub volumes: Vec<VolumeRow>,
    pub measured: Option<MeasuredView>,
    /// Set when nothing was measured (no claims given).
    pub unmeasured: Option<String>,
    pub disagreements: Vec<DisagreementRow>,
    pub samples: usize,
    pub seed: u64,
    pub deadlines: Vec<DeadlineRow>,
    pub critical_chain: Vec<String>,
    pub moved_total: usize,
    pub moved: Vec<MovedRow>,
    pub reasons: Vec<ReasonRow>,
    /// The deadlines' ids, the mitigations table's columns.
    pub mitigation_columns: Vec<String>,
    pub mitigations: Vec<MitigationRow>,
    pub thresholds: ThresholdsView,
    pub digests: DigestsView,
    pub approval: Option<ApprovalView>,
    /// approved | awaiting | not_needed | not_approvable
    pub approval_state: String,
    pub approval_text: String,
    /// A `review` without an approval: the form is offered (to architects).
    pub approvable: bool,
    /// Who may approve, in words (shown to those who may not).
    pub approvers: String,
}

fn verdict_summary(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => {
            "Every deadline stays within the review lines with the new volume: it may go live."
        }
        Verdict::Review => {
            "The new volume's impact needs an architecture review: it may go live only once a \
             user with the architect role approves this test."
        }
        Verdict::Fail => {
            "With the new volume a regulatory deadline's 90th-percentile finish is past the \
             deadline: it may not go live. Change the cycle (see the mitigations) and test again."
        }
    }
}

fn mitigation_outcome(m: &Mitigation) -> String {
    match (m.applies, m.verdict, m.restores) {
        (false, _, _) => "does not apply".to_string(),
        (true, _, true) => "restores the margin (pass)".to_string(),
        (true, Some(v), false) if m.restored.is_empty() => {
            format!("restores no deadline ({})", v.as_str())
        }
        (true, Some(v), false) => format!(
            "restores {} ({} overall)",
            m.restored.join(", "),
            v.as_str()
        ),
        (true, None, false) => "not projected".to_string(),
    }
}

fn seconds(s: f64) -> String {
    format!("{s:.3}")
}

/// The report of test `t` (its stored `report`, read by [`report_of`]), for a reader who
/// sees free text as `masking` allows; times of the cycle in `tz`; `approvers` says who may
/// approve ([`who_may_approve`]).
pub fn impact_view(
    t: &ImpactTestRecord,
    r: &ImpactReport,
    tz: Tz,
    masking: Masking,
    approvers: String,
) -> ImpactView {
    let p = &r.reprojection;
    let volumes = r
        .volumes
        .iter()
        .map(|v| VolumeRow {
            stream: v.stream.clone(),
            declared: thousands(v.declared),
            added: thousands(v.added),
            share_added: format_probability(v.share_added()),
            trigger: format_probability(r.rules.trigger),
            over_trigger: v.share_added() > r.rules.trigger,
            tested: thousands(v.tested),
            tested_claims: v.tested,
            source: v.source.clone(),
        })
        .collect();
    let measured = r.measured.as_ref().map(|m| MeasuredView {
        baseline_dir: m.baseline_dir.clone(),
        new_dir: m.new_dir.clone(),
        sample: format_probability(m.sample),
        seed: m.seed,
        partitions: m.partitions,
        repeat: m.repeat,
        stages: m
            .stages
            .iter()
            .map(|s| StageRow {
                stage: s.stage.clone(),
                sample_before_s: seconds(s.sample_before_s),
                sample_after_s: seconds(s.sample_after_s),
                full_before_s: seconds(s.full_before_s),
                full_after_s: seconds(s.full_after_s),
                growth: format!(
                    "{:+.1}%",
                    100.0 * (s.full_after_s / s.full_before_s.max(1e-9) - 1.0)
                ),
            })
            .collect(),
        figures: m
            .figures
            .iter()
            .map(|f| FigureRow {
                name: f.name.clone(),
                value: f.shown(),
                raw: f.value,
                unit: f.unit.clone(),
                source: f.source.clone(),
            })
            .collect(),
    });
    let unmeasured = r.measured.is_none().then(|| {
        "Nothing was measured (no claims were given): the projection uses the workflow's \
         declared estimates and elasticities."
            .to_string()
    });
    let disagreements = p
        .disagreements
        .iter()
        .map(|d| DisagreementRow {
            job: d.job.clone(),
            stages: d.stages.join(" + "),
            declared_growth: format!("×{:.3}", d.declared_growth),
            declared_elasticity: format!("{:.2}", d.declared_elasticity),
            measured_growth: format!("×{:.3}", d.measured_growth),
            measured_elasticity: format!("{:.2}", d.measured_elasticity),
            direction: if d.difference >= 0.0 {
                "underestimates"
            } else {
                "overestimates"
            }
            .to_string(),
            difference: format_probability(d.difference.abs()),
        })
        .collect();
    let verdict_of: BTreeMap<&str, Verdict> = p
        .judgement
        .deadlines
        .iter()
        .map(|d| (d.id.as_str(), d.verdict))
        .collect();
    let look_margin = |look: &warden_deadlines::reproject::Look, id: &str| {
        look.deadlines
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.margin_minutes)
    };
    let deadlines = p
        .deadlines
        .iter()
        .map(|d| {
            let before = look_margin(&p.before, &d.id).unwrap_or(d.margin_before().num_minutes());
            let after = look_margin(&p.after, &d.id).unwrap_or(d.margin_after().num_minutes());
            DeadlineRow {
                id: d.id.clone(),
                regulatory: d.regulatory,
                due: local(tz, d.at),
                due_utc: d.at,
                p50_before: local(tz, d.before.p50_finish),
                p50_after: local(tz, d.after.p50_finish),
                p90_before: local(tz, d.before.p90_finish),
                p90_after: local(tz, d.after.p90_finish),
                margin_before: margin(before),
                margin_after: margin(after),
                margin_change: margin(after - before),
                margin_before_minutes: before,
                margin_after_minutes: after,
                late_after: after < 0,
                p_miss_before: format_probability(d.before.p_miss),
                p_miss_after: format_probability(d.after.p_miss),
                verdict: verdict_of
                    .get(d.id.as_str())
                    .map_or("pass", |v| v.as_str())
                    .to_string(),
            }
        })
        .collect();
    let moved = p
        .moved
        .iter()
        .map(|m| MovedRow {
            job: m.job.clone(),
            duration_before: format!("{:.0} min", m.duration_before_minutes),
            duration_after: format!("{:.0} min", m.duration_after_minutes),
            later: format_duration(m.moved()),
            source: match m.source {
                DurationSource::Measured => "measured",
                DurationSource::Declared => "declared",
            }
            .to_string(),
        })
        .collect();
    let mut reasons: Vec<ReasonRow> = p
        .judgement
        .deadlines
        .iter()
        .flat_map(|d| {
            d.reasons.iter().map(|text| ReasonRow {
                deadline: Some(d.id.clone()),
                text: text.clone(),
            })
        })
        .collect();
    reasons.extend(p.judgement.reasons.iter().map(|text| ReasonRow {
        deadline: None,
        text: text.clone(),
    }));
    if r.verdict == Verdict::Pass && reasons.is_empty() {
        reasons.push(ReasonRow {
            deadline: None,
            text: "every deadline within the review lines".to_string(),
        });
    }
    let mitigation_columns: Vec<String> = p.deadlines.iter().map(|d| d.id.clone()).collect();
    let mitigations = p
        .mitigations
        .iter()
        .map(|m| MitigationRow {
            name: m.name.clone(),
            what: m.what.clone(),
            applies: m.applies,
            restores: m.restores,
            restored: m.restored.clone(),
            verdict: m.verdict.map(|v| v.as_str().to_string()),
            outcome: mitigation_outcome(m),
            margins: mitigation_columns
                .iter()
                .map(|id| {
                    let minutes = m.after.as_ref().and_then(|a| look_margin(a, id));
                    MarginCell {
                        deadline: id.clone(),
                        margin: minutes.map_or_else(|| "–".to_string(), margin),
                        minutes,
                        late: minutes.is_some_and(|m| m < 0),
                    }
                })
                .collect(),
        })
        .collect();
    let (approval_state, approval_text) = approval_state(&t.verdict, t.approval.as_ref());
    ImpactView {
        id: t.id,
        cycle: r.cycle.clone(),
        business_date: r.business_date.clone(),
        workflow_file: r.workflow_file.clone(),
        created: utc(r.created_at),
        created_utc: r.created_at,
        binary_version: r.digests.binary_version.clone(),
        timezone: tz.name().to_string(),
        verdict: t.verdict.clone(),
        verdict_label: t.verdict.to_uppercase(),
        verdict_summary: verdict_summary(r.verdict).to_string(),
        volumes,
        measured,
        unmeasured,
        disagreements,
        samples: p.samples,
        seed: p.seed,
        deadlines,
        critical_chain: p.after.critical_chain.clone(),
        moved_total: p.moved_total,
        moved,
        reasons,
        mitigation_columns,
        mitigations,
        thresholds: ThresholdsView {
            trigger: format_probability(r.rules.trigger),
            sample: format_probability(r.rules.sample),
            review_margin: format_probability(r.rules.review_margin),
            p_miss_review: format_probability(r.rules.p_miss_review),
        },
        digests: DigestsView {
            workflow_sha256: r.digests.workflow_sha256.clone(),
            sample_sha256: r
                .digests
                .sample_sha256
                .clone()
                .unwrap_or_else(|| "(none: no claims sampled)".to_string()),
            thresholds_sha256: r.digests.thresholds_sha256.clone(),
            binary_version: r.digests.binary_version.clone(),
        },
        approval: t.approval.as_ref().map(|a| ApprovalView::of(a, masking)),
        approvable: t.verdict == "review" && t.approval.is_none(),
        approval_state,
        approval_text,
        approvers,
    }
}

/// `GET /api/impact/{test}`: the stored report (as `warden impact show --format json`
/// prints it) and its approval, the note as the reader may see it.
#[derive(Debug, Clone, Serialize)]
pub struct ImpactTestJson {
    pub id: i64,
    pub verdict: String,
    pub approval_state: String,
    pub approval: Option<ApprovalView>,
    pub report: ImpactReport,
}

pub fn impact_json(t: &ImpactTestRecord, report: ImpactReport, masking: Masking) -> ImpactTestJson {
    ImpactTestJson {
        id: t.id,
        verdict: t.verdict.clone(),
        approval_state: approval_state(&t.verdict, t.approval.as_ref()).0,
        approval: t.approval.as_ref().map(|a| ApprovalView::of(a, masking)),
        report,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use warden_core::workflow::ImpactRules;
    use warden_deadlines::impact_report::{
        Digests, Figure, MeasuredSection, StageFigure, StreamVolume,
    };
    use warden_deadlines::reproject::{
        DeadlineLook, Disagreement, JobMove, Look, Mitigation, Reprojection,
    };
    use warden_deadlines::verdict::{DeadlineImpact, DeadlineVerdict, Judgement, Reading};

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, h, m, 0)
            .single()
            .expect("a time")
    }

    fn reading(p50: DateTime<Utc>, p90: DateTime<Utc>, p_miss: f64) -> Reading {
        Reading {
            p50_finish: p50,
            p90_finish: p90,
            p_miss,
        }
    }

    fn look(label: &str, margins: &[(&str, i64)]) -> Look {
        Look {
            label: label.into(),
            mode: "pipelined".into(),
            deadlines: margins
                .iter()
                .map(|(id, m)| DeadlineLook {
                    id: (*id).into(),
                    regulatory: *id == "cms-filing",
                    at: at(11, 0),
                    reading: reading(at(9, 0), at(10, 0), 0.0),
                    margin_minutes: *m,
                })
                .collect(),
            critical_chain: vec!["ADJUD-PHASE1.A".into(), "PAY-EFT.A".into()],
            finish: at(10, 0),
        }
    }

    /// Case study 002 in miniature: day 1 loses its margin, the split restores it.
    fn report() -> ImpactReport {
        let day1 = DeadlineImpact {
            id: "day1-window".into(),
            regulatory: false,
            at: at(11, 0),
            before: reading(at(9, 50), at(10, 37), 0.02),
            after: reading(at(11, 33), at(12, 18), 0.848),
        };
        let filing = DeadlineImpact {
            id: "cms-filing".into(),
            regulatory: true,
            at: at(23, 0),
            before: reading(at(12, 0), at(13, 0), 0.0),
            after: reading(at(14, 0), at(15, 0), 0.0),
        };
        ImpactReport {
            id: None,
            cycle: "month-end".into(),
            business_date: "2025-02".into(),
            workflow_file: "workflows/month-end.yaml".into(),
            created_at: at(8, 35),
            digests: Digests {
                workflow_sha256: "b058c914".into(),
                sample_sha256: Some("5a3e".into()),
                thresholds_sha256: "77aa".into(),
                binary_version: "warden 0.1.0".into(),
            },
            rules: ImpactRules::default(),
            volumes: vec![StreamVolume {
                stream: "A".into(),
                declared: 50_000_000,
                added: 12_000_000,
                tested: 62_000_000,
                source: "--volume".into(),
            }],
            measured: Some(MeasuredSection {
                baseline_dir: "claims/base".into(),
                new_dir: "claims/new".into(),
                sample: 0.1,
                seed: 1,
                partitions: 6,
                repeat: 1,
                stages: vec![StageFigure {
                    stage: "setup".into(),
                    sample_before_s: 0.311,
                    sample_after_s: 0.376,
                    full_before_s: 1.0,
                    full_after_s: 1.206,
                }],
                figures: vec![Figure {
                    name: "new claims' exception rate".into(),
                    value: 0.092,
                    unit: "%".into(),
                    source: "run (b) − run (a)".into(),
                }],
            }),
            reprojection: Reprojection {
                before: look("before", &[("day1-window", 70), ("cms-filing", 660)]),
                after: look("after", &[("day1-window", -33), ("cms-filing", 540)]),
                deadlines: vec![day1, filing],
                judgement: Judgement {
                    overall: Verdict::Review,
                    deadlines: vec![
                        DeadlineVerdict {
                            id: "day1-window".into(),
                            verdict: Verdict::Review,
                            reasons: vec!["review: the margin shrinks by 146.9%".into()],
                        },
                        DeadlineVerdict {
                            id: "cms-filing".into(),
                            verdict: Verdict::Review,
                            reasons: vec!["review: the margin shrinks by 18.2%".into()],
                        },
                    ],
                    reasons: vec!["review: the new claims' exception rate is 9.2%".into()],
                },
                moved: vec![JobMove {
                    job: "ADJUD-PHASE1.A".into(),
                    duration_before_minutes: 100.0,
                    duration_after_minutes: 124.0,
                    finish_before: at(3, 0),
                    finish_after: at(3, 24),
                    source: DurationSource::Measured,
                }],
                moved_total: 1,
                disagreements: vec![Disagreement {
                    job: "ADJUD-PHASE1.A".into(),
                    stages: vec!["setup".into(), "pass 1".into()],
                    declared_growth: 1.323,
                    declared_elasticity: 1.3,
                    measured_growth: 1.184,
                    measured_elasticity: 0.577,
                    difference: -0.105,
                }],
                mitigations: vec![
                    Mitigation {
                        name: "stream A split 2 ways".into(),
                        what: "every first-night job of stream A runs as 2 parts".into(),
                        applies: true,
                        after: Some(look("split", &[("day1-window", 134), ("cms-filing", 650)])),
                        verdict: Some(Verdict::Pass),
                        restores: true,
                        restored: vec!["day1-window".into(), "cms-filing".into()],
                    },
                    Mitigation {
                        name: "pipelined mode".into(),
                        what: "the cycle re-planned in pipelined mode".into(),
                        applies: false,
                        after: None,
                        verdict: None,
                        restores: false,
                        restored: vec![],
                    },
                ],
                samples: 1000,
                seed: 1,
            },
            verdict: Verdict::Review,
        }
    }

    fn record(report: &ImpactReport, approval: Option<ImpactApproval>) -> ImpactTestRecord {
        ImpactTestRecord {
            id: 3,
            cycle: report.cycle.clone(),
            business_date: report.business_date.clone(),
            created_at: report.created_at,
            verdict: report.verdict.as_str().into(),
            workflow_sha256: report.digests.workflow_sha256.clone(),
            sample_sha256: "5a3e".into(),
            thresholds_sha256: "77aa".into(),
            binary_version: "warden 0.1.0".into(),
            volumes: report.tested_volumes(),
            report: serde_json::to_string(report).expect("json"),
            approval,
        }
    }

    #[test]
    fn the_report_reads_as_a_review_board_needs_it() {
        let r = report();
        let t = record(&r, None);
        let read = report_of(&t).expect("reads");
        assert_eq!(read.id, Some(3));
        let v = impact_view(
            &t,
            &read,
            chrono_tz::UTC,
            Masking::Unmasked,
            "a user with the architect role: ari".into(),
        );
        assert_eq!(v.verdict, "review");
        assert_eq!(v.verdict_label, "REVIEW");
        assert!(v.approvable);
        assert_eq!(v.approval_state, "awaiting");
        assert_eq!(v.volumes[0].added, "12,000,000");
        assert_eq!(v.volumes[0].share_added, "24%");
        assert!(v.volumes[0].over_trigger);
        let m = v.measured.as_ref().expect("measured");
        assert_eq!(m.sample, "10%");
        assert_eq!(m.stages[0].growth, "+20.6%");
        assert_eq!(m.figures[0].value, "9.2%");
        assert_eq!(m.figures[0].source, "run (b) − run (a)");
        assert!(v.unmeasured.is_none());
        assert_eq!(v.disagreements[0].direction, "overestimates");
        assert_eq!(v.disagreements[0].difference, "10.5%");
        assert_eq!(v.disagreements[0].stages, "setup + pass 1");
        // Deadlines in the report's order, margins from the projections (to the minute).
        let d = &v.deadlines[0];
        assert_eq!(d.id, "day1-window");
        assert_eq!(
            (d.margin_before.as_str(), d.margin_after.as_str()),
            ("+1h10m", "-33m")
        );
        assert_eq!(d.margin_change, "-1h43m");
        assert!(d.late_after);
        assert_eq!(
            (d.p_miss_before.as_str(), d.p_miss_after.as_str()),
            ("2%", "84.8%")
        );
        assert_eq!(d.p50_after, "Sat 2025-03-01 11:33");
        assert_eq!(d.verdict, "review");
        assert!(v.deadlines[1].regulatory);
        assert_eq!(v.critical_chain, vec!["ADJUD-PHASE1.A", "PAY-EFT.A"]);
        assert_eq!(v.moved[0].later, "24m");
        assert_eq!(v.moved[0].source, "measured");
        // Every reason: each deadline's, then the test's own.
        assert_eq!(v.reasons.len(), 3);
        assert_eq!(v.reasons[0].deadline.as_deref(), Some("day1-window"));
        assert_eq!(v.reasons[2].deadline, None);
        // Mitigations with their margins in the deadlines' columns.
        assert_eq!(v.mitigation_columns, vec!["day1-window", "cms-filing"]);
        let split = &v.mitigations[0];
        assert_eq!(split.outcome, "restores the margin (pass)");
        assert_eq!(split.margins[0].margin, "+2h14m");
        assert!(!split.margins[0].late);
        assert_eq!(v.mitigations[1].outcome, "does not apply");
        assert_eq!(v.mitigations[1].margins[0].margin, "–");
        assert_eq!(v.thresholds.trigger, "5%");
        assert_eq!(v.thresholds.review_margin, "10%");
        assert_eq!(v.digests.workflow_sha256, "b058c914");
        assert_eq!(v.created, "2025-03-01 08:35 UTC");
    }

    #[test]
    fn deadline_times_follow_the_cycles_time_zone() {
        let r = report();
        let t = record(&r, None);
        let v = impact_view(
            &t,
            &r,
            chrono_tz::America::New_York,
            Masking::Unmasked,
            String::new(),
        );
        assert_eq!(v.timezone, "America/New_York");
        assert_eq!(v.deadlines[0].due, "Sat 2025-03-01 06:00");
        // The record's own times stay in UTC.
        assert_eq!(v.created, "2025-03-01 08:35 UTC");
    }

    #[test]
    fn an_approval_is_shown_with_its_note_masked_for_viewers() {
        let r = report();
        let approval = ImpactApproval {
            approver: "ari".into(),
            role: "architect".into(),
            note: "board 2025-02-20; member 40012345678 checked".into(),
            at: at(9, 0),
        };
        let t = record(&r, Some(approval));
        let v = impact_view(&t, &r, chrono_tz::UTC, Masking::Masked, String::new());
        assert!(!v.approvable);
        assert_eq!(v.approval_state, "approved");
        let a = v.approval.as_ref().expect("approval");
        assert_eq!(a.approver, "ari");
        assert_eq!(a.note, "board 2025-02-20; member ****** checked");
        assert_eq!(a.at_text, "2025-03-01 09:00 UTC");
        let v = impact_view(&t, &r, chrono_tz::UTC, Masking::Unmasked, String::new());
        assert!(v.approval.expect("approval").note.contains("40012345678"));
        let json = impact_json(&t, r, Masking::Masked);
        assert_eq!(json.approval_state, "approved");
        assert!(
            !serde_json::to_string(&json)
                .expect("json")
                .contains("40012345678")
        );
    }

    #[test]
    fn a_pass_or_a_fail_is_not_approvable_and_an_unmeasured_test_says_so() {
        let mut r = report();
        r.measured = None;
        r.verdict = Verdict::Pass;
        let mut t = record(&r, None);
        let v = impact_view(&t, &r, chrono_tz::UTC, Masking::Unmasked, String::new());
        assert!(!v.approvable);
        assert_eq!(v.approval_state, "not_needed");
        assert!(v.unmeasured.expect("said").contains("Nothing was measured"));
        t.verdict = "fail".into();
        let (key, words) = approval_state(&t.verdict, None);
        assert_eq!(key, "not_approvable");
        assert!(words.contains("cannot be approved"));
    }

    #[test]
    fn the_list_is_newest_first_with_each_tests_approval_state() {
        let r = report();
        let mut older = record(&r, None);
        older.id = 1;
        older.created_at = at(7, 0);
        older.verdict = "fail".into();
        let newer = record(&r, None);
        let list = impact_list(vec!["month-end".into()], &[older, newer]);
        let ids: Vec<i64> = list.tests.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![3, 1]);
        assert_eq!(list.tests[0].approval, "awaiting");
        assert_eq!(list.tests[1].approval, "not_approvable");
        assert_eq!(list.tests[0].volumes[0].tested_text, "62,000,000");
    }

    #[test]
    fn who_may_approve_names_the_architects() {
        assert!(who_may_approve(None).contains("--auth"));
        let auth = AuthConfig::from_tokens(&[
            ("t1", "ari", &[Role::Architect]),
            ("t2", "dana", &[Role::Operator]),
        ]);
        assert_eq!(
            who_may_approve(Some(&auth)),
            "a user with the architect role: ari"
        );
        let none = AuthConfig::from_tokens(&[("t2", "dana", &[Role::Operator])]);
        assert!(who_may_approve(Some(&none)).contains("names none"));
    }

    /// The templates (strict mode) render every shape of the view, escape what the report
    /// and the note say, and offer the form only to who may approve.
    #[test]
    fn the_pages_render_in_strict_mode_and_escape_everything() {
        let templates = crate::assets::templates().expect("templates");
        let mut r = report();
        r.volumes[0].source = "<script>alert(1)</script>".into();
        let t = record(&r, None);
        let page = |view: &ImpactView, can_approve: bool| {
            let mut context = crate::pages::Page::local("impact", None, view.clone());
            context.can_approve = can_approve;
            context.live = false;
            templates.render("impact", &context).expect("renders")
        };
        let v = impact_view(
            &t,
            &r,
            chrono_tz::UTC,
            Masking::Unmasked,
            "a user with the architect role: ari".into(),
        );
        let html = page(&v, true);
        assert!(!html.contains("<script>alert(1)"), "escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains(r#"data-live="false""#));
        assert!(html.contains(r#"<span class="verdict verdict-review">REVIEW</span>"#));
        assert!(html.contains(
            r#"data-deadline="day1-window" data-margin-before-minutes="70" data-margin-after-minutes="-33""#
        ));
        assert!(html.contains(r#"data-mitigation="stream A split 2 ways""#));
        assert!(html.contains(r#"action="/impact/3/approve""#));
        assert!(!html.contains("Who may approve"));
        let html = page(&v, false);
        assert!(!html.contains(r#"action="/impact/3/approve""#));
        assert!(html.contains("Who may approve: a user with the architect role: ari."));
        // Approved: who, when and the note (escaped); no form for anyone.
        let approved = record(
            &r,
            Some(ImpactApproval {
                approver: "ari".into(),
                role: "architect".into(),
                note: "ok <b>bold</b>".into(),
                at: at(9, 0),
            }),
        );
        let v = impact_view(
            &approved,
            &r,
            chrono_tz::UTC,
            Masking::Unmasked,
            String::new(),
        );
        let html = page(&v, true);
        assert!(html.contains(r#"Approved by <b class="approver">ari</b> (architect)"#));
        assert!(html.contains("ok &lt;b&gt;bold&lt;/b&gt;"));
        assert!(!html.contains(r#"action="/impact/3/approve""#));
        // Nothing measured, a pass.
        r.measured = None;
        r.verdict = Verdict::Pass;
        let mut passed = record(&r, None);
        passed.verdict = "pass".into();
        let v = impact_view(
            &passed,
            &r,
            chrono_tz::UTC,
            Masking::Unmasked,
            String::new(),
        );
        let html = page(&v, true);
        assert!(html.contains("Nothing was measured"));
        assert!(!html.contains(r#"action="/impact/3/approve""#));
        passed.id = 4;
        let list = impact_list(vec!["month-end".into()], &[passed, approved]);
        let context = crate::pages::Page::local("impact", None, list);
        let html = templates.render("impact_list", &context).expect("renders");
        assert!(html.contains(r#"<a href="/impact/3">#3</a>"#));
        assert!(html.contains(r#"data-impact="3" data-verdict="review" data-approval="approved""#));
        assert!(html.contains(r#"data-impact="4" data-verdict="pass" data-approval="not_needed""#));
        let empty = crate::pages::Page::local("impact", None, impact_list(vec![], &[]));
        let html = templates.render("impact_list", &empty).expect("renders");
        assert!(html.contains("No batch impact test is stored"));
    }

    #[test]
    fn a_report_another_version_wrote_is_said_to_be_unreadable() {
        let mut t = record(&report(), None);
        t.report = "{\"cycle\": 1}".into();
        let e = report_of(&t).expect_err("unreadable");
        assert!(
            e.contains("impact test #3") && e.contains("another version"),
            "{e}"
        );
    }
}
