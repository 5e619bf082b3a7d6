//! Workflow + date + options → Plan.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use petgraph::graph::DiGraph;

use super::{DateSpec, EarliestReason, Night, Plan, PlanDeadline, PlanJob, PlanStream};
use crate::calendar::{self, local_instant, night_window};
use crate::workflow::{DayStart, JobIdx, Mode, Schedule, TimeAnchor, TimeExpr, Workflow};

/// What a user can change about a run without editing the file.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Overrides the file's `mode`.
    pub mode: Option<Mode>,
    /// Volume changes per stream id.
    pub volumes: Vec<(String, VolumeChange)>,
}

/// `--volume A=34M` sets a stream's volume; `--volume A=+12M` adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeChange {
    Set(u64),
    Add(i64),
}

/// Why a workflow cannot be planned for the date and options given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("`{cycle}` is a nightly cycle: give a day (YYYY-MM-DD), not a month")]
    NeedsDay { cycle: String },
    #[error("`{cycle}` does not run on {date} ({reason}); the nearest runs are {nearest}")]
    NotScheduled {
        cycle: String,
        date: NaiveDate,
        reason: String,
        nearest: String,
    },
    #[error(
        "`{cycle}` for {month} starts on {first}, not {given}; give `--date {month}` or `--date {first}`"
    )]
    NotFirstNight {
        cycle: String,
        month: String,
        first: NaiveDate,
        given: NaiveDate,
    },
    #[error(
        "--volume names stream `{stream}`, which `{cycle}` does not have (its streams: {known})"
    )]
    UnknownStream {
        cycle: String,
        stream: String,
        known: String,
    },
    #[error("--volume {stream}: the change leaves a negative volume")]
    NegativeVolume { stream: String },
}

impl Workflow {
    /// The dated plan for `date`.
    pub fn instantiate(&self, date: DateSpec, options: &PlanOptions) -> Result<Plan, PlanError> {
        let mode = options.mode.unwrap_or(self.mode);
        let dates = self.night_dates(date)?;
        let nights: Vec<Night> = self
            .days
            .iter()
            .enumerate()
            .map(|(i, day)| {
                let window = night_window(self.timezone, dates[i], day.opens, day.closes);
                Night {
                    day: i,
                    day_id: day.id.clone(),
                    name: day.name.clone(),
                    date: dates[i],
                    opens: window.opens,
                    closes: window.closes,
                    when_ready: day.start == DayStart::WhenReady,
                }
            })
            .collect();
        let start = nights.iter().map(|n| n.opens).min().unwrap_or_default();
        let streams = self.plan_streams(options)?;

        let mut jobs: Vec<PlanJob> = self
            .jobs
            .iter()
            .map(|job| {
                let (earliest, earliest_reason) = self.earliest(job, &nights, start);
                let ratio = volume_ratio(&streams, &job.volume_streams);
                let duration = job
                    .estimate
                    .map(|e| scale(e, ratio, job.elasticity))
                    .unwrap_or_default();
                PlanJob {
                    id: job.id.clone(),
                    template: job.template.clone(),
                    day: job.day,
                    stream: job.stream,
                    partition: job.partition,
                    duration,
                    has_estimate: job.estimate.is_some(),
                    elasticity: job.elasticity,
                    earliest,
                    earliest_reason,
                    deps: job.after.clone(),
                    uses: job.uses.clone(),
                    priority: job.priority,
                    action: job.action.clone(),
                    retries: job.retries,
                    retry_backoff: job.retry_backoff,
                    timeout: job.timeout,
                    on_lost: job.on_lost,
                    runs_on: job.runs_on.clone(),
                }
            })
            .collect();
        if mode == Mode::Serial {
            add_day_barriers(&mut jobs, self.days.len());
        }
        let mut graph = DiGraph::with_capacity(jobs.len(), jobs.len());
        let nodes: Vec<_> = (0..jobs.len()).map(|i| graph.add_node(i)).collect();
        for (i, job) in jobs.iter().enumerate() {
            for &d in &job.deps {
                graph.add_edge(nodes[d], nodes[i], ());
            }
        }
        let deadlines = self
            .deadlines
            .iter()
            .map(|d| PlanDeadline {
                id: d.id.clone(),
                name: d.name.clone(),
                kind: d.kind,
                at: self.resolve_time(&d.at, &nights),
                covers: d.covers.clone(),
                penalty: d.penalty.clone(),
                escalation: d.escalation.clone(),
            })
            .collect();
        let mut notes = Vec::new();
        if let Some(years) = self.calendar.covered_years()
            && dates.iter().any(|d| !years.contains(&d.year()))
        {
            notes.push(format!(
                "calendar `{}` lists holidays for {}–{} only; dates outside it are treated as having no holidays",
                self.calendar.name(),
                years.start(),
                years.end()
            ));
        }
        let warnings = self.gap_warnings(&nights);
        Ok(Plan {
            cycle: self.id.clone(),
            timezone: self.timezone,
            mode,
            date: date.to_string(),
            start,
            nights,
            streams,
            resources: self.resources.clone(),
            roles: self.roles.clone(),
            jobs,
            deadlines,
            graph,
            notes,
            warnings,
            impact: self.impact,
        })
    }

    /// One warning per window end that a daylight-saving gap moves on these nights.
    fn gap_warnings(&self, nights: &[Night]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (night, day) in nights.iter().zip(&self.days) {
            let closes_on = if day.closes > day.opens {
                night.date
            } else {
                night.date + TimeDelta::days(1)
            };
            for (what, date, time) in [
                ("opens", night.date, day.opens),
                ("closes", closes_on, day.closes),
            ] {
                if let Some(moved) = calendar::moved_by_gap(self.timezone, date, time) {
                    warnings.push(format!(
                        "day `{}`'s window {what} at {} on {date}, a time that does not exist in {} (clocks spring forward); it {what} at {} instead",
                        day.id,
                        time.format("%H:%M"),
                        self.timezone.name(),
                        moved.format("%H:%M")
                    ));
                }
            }
        }
        warnings
    }

    /// The date each day's night begins.
    fn night_dates(&self, date: DateSpec) -> Result<Vec<NaiveDate>, PlanError> {
        match &self.schedule {
            Schedule::MonthEnd(rule) => {
                let (year, month) = date.year_month();
                let mut nights = rule.nights(&self.calendar, year, month);
                nights.truncate(self.days.len());
                if let (DateSpec::Day(given), Some(first)) = (date, nights.first())
                    && given != *first
                {
                    return Err(PlanError::NotFirstNight {
                        cycle: self.id.clone(),
                        month: format!("{year:04}-{month:02}"),
                        first: *first,
                        given,
                    });
                }
                Ok(nights)
            }
            Schedule::Cron {
                cron,
                business_days_only,
                ..
            } => {
                let DateSpec::Day(day) = date else {
                    return Err(PlanError::NeedsDay {
                        cycle: self.id.clone(),
                    });
                };
                let fires = calendar::cron_fires_on(cron, self.timezone, day).is_some();
                let business = !business_days_only || self.calendar.is_business_day(day);
                if !fires || !business {
                    let reason = if !fires {
                        format!("the schedule does not fire on a {}", day.format("%A"))
                    } else {
                        match self.calendar.holiday(day) {
                            Some(h) => format!("{h} is not a business day"),
                            None => format!("a {} is not a business day", day.format("%A")),
                        }
                    };
                    let (before, after) = calendar::nearest_cron_nights(
                        cron,
                        self.timezone,
                        &self.calendar,
                        *business_days_only,
                        day,
                    );
                    let nearest = [before, after]
                        .iter()
                        .flatten()
                        .map(|d| format!("{d} ({})", d.format("%a")))
                        .collect::<Vec<_>>()
                        .join(" and ");
                    return Err(PlanError::NotScheduled {
                        cycle: self.id.clone(),
                        date: day,
                        reason,
                        nearest: if nearest.is_empty() {
                            "none within a year".into()
                        } else {
                            nearest
                        },
                    });
                }
                Ok((0..self.days.len())
                    .map(|i| day + TimeDelta::days(i as i64))
                    .collect())
            }
        }
    }

    fn plan_streams(&self, options: &PlanOptions) -> Result<Vec<PlanStream>, PlanError> {
        let mut streams: Vec<PlanStream> = self
            .streams
            .iter()
            .map(|s| PlanStream {
                id: s.id.clone(),
                declared_volume: s.volume,
                volume: s.volume,
            })
            .collect();
        for (id, change) in &options.volumes {
            let Some(stream) = streams.iter_mut().find(|s| &s.id == id) else {
                return Err(PlanError::UnknownStream {
                    cycle: self.id.clone(),
                    stream: id.clone(),
                    known: self
                        .streams
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            stream.volume = match change {
                VolumeChange::Set(v) => *v,
                VolumeChange::Add(delta) => {
                    let v = i128::from(stream.volume) + i128::from(*delta);
                    u64::try_from(v)
                        .map_err(|_| PlanError::NegativeVolume { stream: id.clone() })?
                }
            };
        }
        Ok(streams)
    }

    /// The earliest a job may start, and which rule sets it.
    fn earliest(
        &self,
        job: &crate::workflow::Job,
        nights: &[Night],
        start: DateTime<Utc>,
    ) -> (DateTime<Utc>, EarliestReason) {
        let night = &nights[job.day];
        let day = &self.days[job.day];
        let mut best = (start, EarliestReason::CycleStart);
        let mut consider = |t: DateTime<Utc>, reason| {
            if t > best.0 {
                best = (t, reason);
            }
        };
        if day.start == DayStart::Window {
            consider(night.opens, EarliestReason::WindowOpens);
        }
        if let Some(s) = job.stream
            && let Some((_, t)) = self.streams[s]
                .not_before
                .iter()
                .find(|(d, _)| *d == job.day)
        {
            consider(
                self.night_time(night.date, day.opens, *t),
                EarliestReason::StreamNotBefore,
            );
        }
        if let Some(t) = job.not_before {
            consider(
                self.night_time(night.date, day.opens, t),
                EarliestReason::JobNotBefore,
            );
        }
        best
    }

    /// A time of day during a night: on the night's date if at or after the window opens,
    /// else the next morning.
    fn night_time(&self, date: NaiveDate, opens: NaiveTime, t: NaiveTime) -> DateTime<Utc> {
        let date = if t >= opens {
            date
        } else {
            date + TimeDelta::days(1)
        };
        local_instant(self.timezone, date, t)
    }

    fn resolve_time(&self, expr: &TimeExpr, nights: &[Night]) -> DateTime<Utc> {
        let base = match expr.anchor {
            TimeAnchor::DayTime {
                day,
                plus_days,
                time,
            } => local_instant(
                self.timezone,
                nights[day].date + TimeDelta::days(plus_days),
                time,
            ),
            TimeAnchor::WindowOpens { day } => nights[day].opens,
            TimeAnchor::WindowCloses { day } => nights[day].closes,
        };
        base + expr.offset
    }
}

/// This run's volume over the declared volume, for the streams a job processes.
fn volume_ratio(streams: &[PlanStream], of: &[usize]) -> f64 {
    let declared: u64 = of.iter().map(|s| streams[*s].declared_volume).sum();
    let current: u64 = of.iter().map(|s| streams[*s].volume).sum();
    if declared == 0 {
        1.0
    } else {
        current as f64 / declared as f64
    }
}

/// estimate × ratio^elasticity, to the second.
fn scale(estimate: TimeDelta, ratio: f64, elasticity: f64) -> TimeDelta {
    if elasticity == 0.0 || ratio == 1.0 {
        return estimate;
    }
    let seconds = estimate.num_seconds() as f64 * ratio.powf(elasticity);
    TimeDelta::seconds(seconds.round() as i64)
}

/// Serial mode: each day's first jobs wait for the previous day's last jobs.
fn add_day_barriers(jobs: &mut [PlanJob], days: usize) {
    for day in 1..days {
        let previous: HashSet<JobIdx> = (0..jobs.len())
            .filter(|j| jobs[*j].day == day - 1)
            .collect();
        let depended: HashSet<JobIdx> = previous
            .iter()
            .flat_map(|j| jobs[*j].deps.iter().copied())
            .collect();
        let mut sinks: Vec<JobIdx> = previous
            .iter()
            .copied()
            .filter(|j| !depended.contains(j))
            .collect();
        sinks.sort_unstable();
        for j in 0..jobs.len() {
            if jobs[j].day != day {
                continue;
            }
            let has_same_day_dep = jobs[j].deps.iter().any(|d| jobs[*d].day == day);
            if !has_same_day_dep {
                for &s in &sinks {
                    if !jobs[j].deps.contains(&s) {
                        jobs[j].deps.push(s);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::{DateSpec, PlanOptions};
    use crate::workflow::compile_str;

    const EARLY: &str = r#"
cycle: early
timezone: America/New_York
schedule: { cron: "0 1 * * *", business_days_only: false }
days: [{ id: night, window: { opens: "02:30", closes: "05:00" } }]
jobs: [{ id: A, builtin: sleep, estimate: 5m }]
"#;

    fn warnings(date: &str) -> Vec<String> {
        let (_, c) = compile_str("early.yaml", EARLY);
        let w = c.workflow.expect("compiles with a warning");
        let date: DateSpec = date.parse().expect("date");
        w.instantiate(date, &PlanOptions::default())
            .expect("plans")
            .warnings
    }

    #[test]
    fn a_window_moved_by_a_daylight_saving_gap_is_a_plan_warning() {
        assert_eq!(
            warnings("2025-03-09"),
            [
                "day `night`'s window opens at 02:30 on 2025-03-09, a time that does not exist in \
                 America/New_York (clocks spring forward); it opens at 03:30 instead"
            ]
        );
        assert!(warnings("2025-03-10").is_empty());
    }
}
