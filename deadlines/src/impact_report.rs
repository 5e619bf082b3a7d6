//! The batch impact test's report (issue #12): what a review board reads. Every measured
//! figure with its source, the inputs' SHA-256 digests, the volumes tested, the
//! re-projection, the verdict and the mitigations. Stored whole (as JSON) in the store;
//! `warden impact show` and the UI's printable page render this one type, so they cannot
//! disagree.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use warden_core::workflow::ImpactRules;
use warden_core::workflow::values::{format_duration, thousands};

use crate::alert::format_probability;
use crate::reproject::{DurationSource, Reprojection};
use crate::verdict::Verdict;

/// The inputs, digested: the same digests mean the same test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digests {
    /// The workflow file's text.
    pub workflow_sha256: String,
    /// The sampled claims directories the engine ran (none without claims).
    pub sample_sha256: Option<String>,
    /// The thresholds as applied (the workflow's `impact:` block, compiled).
    pub thresholds_sha256: String,
    /// `warden` and its version.
    pub binary_version: String,
}

/// One stream's volume in the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamVolume {
    pub stream: String,
    /// The workflow's `volume`: what the cycle was built and approved for.
    pub declared: u64,
    pub added: u64,
    /// `declared + added`: what a run may carry once this test passed (or was approved).
    pub tested: u64,
    /// Where `added` comes from (`--volume`, or the claims directories' proportion).
    pub source: String,
}

impl StreamVolume {
    pub fn share_added(&self) -> f64 {
        self.added as f64 / self.declared.max(1) as f64
    }
}

/// A measured number and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    /// `%`, `s`, `claims`, `claims/s` or empty.
    pub unit: String,
    pub source: String,
}

impl Figure {
    pub fn shown(&self) -> String {
        match self.unit.as_str() {
            "%" => format_probability(self.value),
            "s" => format!("{:.3} s", self.value),
            "claims" => thousands(self.value.max(0.0).round() as u64),
            "claims/s" => format!("{} claims/s", thousands(self.value.max(0.0).round() as u64)),
            _ => format!("{:.3}", self.value),
        }
    }
}

/// One engine stage, measured on the samples and scaled to full volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFigure {
    pub stage: String,
    /// Seconds on the baseline sample (a) and the baseline plus new sample (b).
    pub sample_before_s: f64,
    pub sample_after_s: f64,
    /// The same at full volume (× (full / sample)^elasticity).
    pub full_before_s: f64,
    pub full_after_s: f64,
}

/// What the real engine measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredSection {
    pub baseline_dir: String,
    pub new_dir: String,
    pub sample: f64,
    pub seed: u64,
    pub partitions: usize,
    pub repeat: usize,
    pub stages: Vec<StageFigure>,
    pub figures: Vec<Figure>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactReport {
    /// The store's id (`None` before it is stored).
    pub id: Option<i64>,
    pub cycle: String,
    pub business_date: String,
    pub workflow_file: String,
    pub created_at: DateTime<Utc>,
    pub digests: Digests,
    pub rules: ImpactRules,
    pub volumes: Vec<StreamVolume>,
    pub measured: Option<MeasuredSection>,
    pub reprojection: Reprojection,
    pub verdict: Verdict,
}

impl ImpactReport {
    /// Each stream's tested volume, for the gate.
    pub fn tested_volumes(&self) -> std::collections::BTreeMap<String, u64> {
        self.volumes
            .iter()
            .map(|v| (v.stream.clone(), v.tested))
            .collect()
    }
}

fn minutes(m: i64) -> String {
    format_duration(chrono::TimeDelta::minutes(m))
}

/// The report as text (for `warden impact show` and the note a refusal points to).
pub fn render_text(r: &ImpactReport) -> String {
    let mut s = String::new();
    let _ = write_report(r, &mut s);
    s
}

fn write_report(r: &ImpactReport, s: &mut String) -> std::fmt::Result {
    let id =
        r.id.map_or_else(|| "(not stored)".to_string(), |i| format!("#{i}"));
    writeln!(
        s,
        "Batch impact test {id}: {} {} — verdict {}",
        r.cycle,
        r.business_date,
        r.verdict.as_str().to_uppercase()
    )?;
    writeln!(
        s,
        "made {} by {} from {}",
        r.created_at.format("%Y-%m-%d %H:%M UTC"),
        r.digests.binary_version,
        r.workflow_file
    )?;
    writeln!(s, "\nVolume")?;
    for v in &r.volumes {
        writeln!(
            s,
            "  stream {}: declared {} + {} ({} of it; the trigger is {}) = {} tested  [{}]",
            v.stream,
            thousands(v.declared),
            thousands(v.added),
            format_probability(v.share_added()),
            format_probability(r.rules.trigger),
            thousands(v.tested),
            v.source
        )?;
    }
    match &r.measured {
        None => writeln!(
            s,
            "\nMeasured: nothing (no claims given): the projection uses the workflow's declared estimates and elasticities, unmeasured"
        )?,
        Some(m) => {
            writeln!(
                s,
                "\nMeasured on the real engine ({} of each population sampled, seed {}, {} partitions, median of {} run(s))",
                format_probability(m.sample),
                m.seed,
                m.partitions,
                m.repeat
            )?;
            writeln!(s, "  baseline claims: {}", m.baseline_dir)?;
            writeln!(s, "  new claims:      {}", m.new_dir)?;
            writeln!(
                s,
                "  {:<10} {:>10} {:>10} {:>13} {:>13} {:>8}",
                "stage", "sample a s", "sample b s", "full before s", "full after s", "growth"
            )?;
            for st in &m.stages {
                writeln!(
                    s,
                    "  {:<10} {:>10.3} {:>10.3} {:>13.3} {:>13.3} {:>7.1}%",
                    st.stage,
                    st.sample_before_s,
                    st.sample_after_s,
                    st.full_before_s,
                    st.full_after_s,
                    100.0 * (st.full_after_s / st.full_before_s.max(1e-9) - 1.0)
                )?;
            }
            for f in &m.figures {
                writeln!(s, "  {}: {}  [{}]", f.name, f.shown(), f.source)?;
            }
        }
    }
    let p = &r.reprojection;
    if !p.disagreements.is_empty() {
        writeln!(s, "\nMeasured against declared")?;
        for d in &p.disagreements {
            writeln!(
                s,
                "  {} ({}): declared ×{:.3} (elasticity {:.2}), measured ×{:.3} (elasticity {:.2}): the workflow {} by {}",
                d.job,
                d.stages.join(" + "),
                d.declared_growth,
                d.declared_elasticity,
                d.measured_growth,
                d.measured_elasticity,
                if d.difference >= 0.0 {
                    "underestimates"
                } else {
                    "overestimates"
                },
                format_probability(d.difference.abs())
            )?;
        }
    }
    writeln!(
        s,
        "\nDeadlines ({} Monte Carlo samples, seed {}; margin at the p50 finish)",
        p.samples, p.seed
    )?;
    for d in &p.deadlines {
        let b = p.before.deadlines.iter().find(|x| x.id == d.id);
        let a = p.after.deadlines.iter().find(|x| x.id == d.id);
        let (Some(b), Some(a)) = (b, a) else { continue };
        writeln!(
            s,
            "  {}{}: due {}; p50 {} → {}, p90 {} → {}; margin {} → {} ({}); P(miss) {} → {}",
            d.id,
            if d.regulatory { " (regulatory)" } else { "" },
            d.at.format("%Y-%m-%d %H:%M UTC"),
            b.reading.p50_finish.format("%a %H:%M"),
            a.reading.p50_finish.format("%a %H:%M"),
            b.reading.p90_finish.format("%a %H:%M"),
            a.reading.p90_finish.format("%a %H:%M"),
            minutes(b.margin_minutes),
            minutes(a.margin_minutes),
            minutes(a.margin_minutes - b.margin_minutes),
            format_probability(b.reading.p_miss),
            format_probability(a.reading.p_miss)
        )?;
    }
    writeln!(
        s,
        "\nCritical chain after: {}",
        p.after.critical_chain.join(" → ")
    )?;
    writeln!(
        s,
        "Jobs moved: {} (the {} that moved most, failure-free):",
        p.moved_total,
        p.moved.len().min(10)
    )?;
    for m in p.moved.iter().take(10) {
        writeln!(
            s,
            "  {:<24} {:>6.0} → {:>6.0} min  finishes {} later  [{}]",
            m.job,
            m.duration_before_minutes,
            m.duration_after_minutes,
            format_duration(m.moved()),
            match m.source {
                DurationSource::Measured => "measured",
                DurationSource::Declared => "declared",
            }
        )?;
    }
    writeln!(s, "\nVerdict: {}", r.verdict.as_str())?;
    for d in &p.judgement.deadlines {
        for reason in &d.reasons {
            writeln!(s, "  {}: {reason}", d.id)?;
        }
    }
    for reason in &p.judgement.reasons {
        writeln!(s, "  {reason}")?;
    }
    if r.verdict == Verdict::Pass {
        writeln!(s, "  every deadline within the review lines")?;
    }
    writeln!(s, "\nMitigations (each re-projected the same way)")?;
    for m in &p.mitigations {
        let outcome = match (m.applies, m.verdict, m.restores) {
            (false, _, _) => "does not apply".to_string(),
            (true, _, true) => "RESTORES the margin (pass)".to_string(),
            (true, Some(v), false) if m.restored.is_empty() => {
                format!("restores no deadline ({})", v.as_str())
            }
            (true, Some(v), false) => format!(
                "restores {} ({} overall)",
                m.restored.join(", "),
                v.as_str()
            ),
            (true, None, false) => "not projected".to_string(),
        };
        let margins = m
            .after
            .as_ref()
            .map(|a| {
                a.deadlines
                    .iter()
                    .map(|d| format!("{} margin {}", d.id, minutes(d.margin_minutes)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        writeln!(
            s,
            "  {}: {outcome}{}",
            m.name,
            if margins.is_empty() {
                String::new()
            } else {
                format!("; {margins}")
            }
        )?;
        writeln!(s, "      {}", m.what)?;
    }
    writeln!(
        s,
        "\nThresholds: trigger {}, sample {}, review margin {}, P(miss) review {}",
        format_probability(r.rules.trigger),
        format_probability(r.rules.sample),
        format_probability(r.rules.review_margin),
        r.rules.p_miss_review
    )?;
    writeln!(
        s,
        "Digests (SHA-256): workflow {}",
        r.digests.workflow_sha256
    )?;
    writeln!(
        s,
        "                   sample {}",
        r.digests
            .sample_sha256
            .as_deref()
            .unwrap_or("(none: no claims sampled)")
    )?;
    writeln!(
        s,
        "                   thresholds {}",
        r.digests.thresholds_sha256
    )?;
    Ok(())
}
