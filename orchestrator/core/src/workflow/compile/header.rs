//! Everything but jobs and deadlines: zone, calendar, schedule, mode, days, streams,
//! resources, roles and job defaults.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::TimeDelta;
use chrono_tz::Tz;

use super::ctx::Ctx;
use crate::calendar::{self, Calendar, MonthEndRule, NightSpacing, NonBusinessStart};
use crate::diagnostics::{Diagnostic, Span, did_you_mean};
use crate::workflow::located::Located;
use crate::workflow::model::{
    Builtin, Day, DayStart, Deadline, Job, Milestone, Mode, OnLost, Resource, Role, Schedule,
    Stream, Workflow,
};
use crate::workflow::numbers::{Number, Whole};
use crate::workflow::raw::RawWorkflow;
use crate::workflow::values;

/// Job defaults after checking.
#[derive(Debug, Default)]
pub(super) struct Defaults {
    pub builtin: Option<Builtin>,
    pub elasticity: Option<f64>,
    pub retries: Option<u32>,
    pub retry_backoff: Option<TimeDelta>,
    pub timeout: Option<TimeDelta>,
    pub on_lost: Option<OnLost>,
    pub priority: Option<i64>,
}

/// The checked header. Sections that failed are `None` or left out, so later sections can
/// still be checked against what did resolve.
#[derive(Debug)]
pub(super) struct Header {
    pub id: String,
    pub description: Option<String>,
    pub timezone: Option<Tz>,
    pub calendar: Option<Calendar>,
    pub schedule: Option<Schedule>,
    pub mode: Mode,
    pub mode_declared: bool,
    pub days: Vec<Day>,
    pub streams: Vec<Stream>,
    pub resources: Vec<Resource>,
    pub roles: Vec<Role>,
    pub defaults: Defaults,
    pub impact: crate::workflow::model::ImpactRules,
    /// Ids declared but broken: references to them are not reported again.
    pub broken_days: Vec<String>,
    pub broken_streams: Vec<String>,
    pub broken_resources: Vec<String>,
}

impl Header {
    pub fn day(&self, id: &str) -> Option<usize> {
        self.days.iter().position(|d| d.id == id)
    }

    pub fn stream(&self, id: &str) -> Option<usize> {
        self.streams.iter().position(|s| s.id == id)
    }

    pub fn resource(&self, id: &str) -> Option<usize> {
        self.resources.iter().position(|r| r.id == id)
    }

    pub fn role(&self, id: &str) -> Option<usize> {
        self.roles.iter().position(|r| r.id == id)
    }

    pub fn into_workflow(
        self,
        jobs: Vec<Job>,
        milestones: Vec<Milestone>,
        deadlines: Vec<Deadline>,
    ) -> Option<Workflow> {
        Some(Workflow {
            id: self.id,
            description: self.description,
            timezone: self.timezone?,
            calendar: self.calendar?,
            schedule: self.schedule?,
            mode: self.mode,
            mode_declared: self.mode_declared,
            streams: self.streams,
            resources: self.resources,
            roles: self.roles,
            days: self.days,
            jobs,
            milestones,
            deadlines,
            impact: self.impact,
        })
    }
}

pub(super) fn compile_header(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> Header {
    check_id(cx, &raw.cycle, "cycle");
    let timezone = match values::time_zone(&raw.timezone.value) {
        Ok(tz) => Some(tz),
        Err((message, help)) => {
            let span = cx.span(&raw.timezone);
            cx.error_help(span, message, "unknown time zone", help);
            None
        }
    };
    cx.timezone = timezone;
    let calendar = compile_calendar(cx, raw);
    let mode = match &raw.mode {
        None => Mode::Pipelined,
        Some(m) => Mode::parse(&m.value).unwrap_or_else(|| {
            let span = cx.span(m);
            cx.error_help(
                span,
                format!("unknown mode `{}`", m.value),
                "expected `pipelined` or `serial`",
                did_you_mean(&m.value, ["pipelined", "serial"]),
            );
            Mode::Pipelined
        }),
    };
    let (days, broken_days) = compile_days(cx, raw);
    let schedule = compile_schedule(cx, raw, raw.days.len());
    let (streams, broken_streams) = compile_streams(cx, raw, &days, &broken_days);
    let (resources, broken_resources) = compile_resources(cx, raw);
    let roles = compile_roles(cx, raw);
    let defaults = compile_defaults(cx, raw);
    let impact = super::impact::compile_impact(cx, raw);
    Header {
        id: raw.cycle.value.clone(),
        description: raw.description.clone(),
        timezone,
        calendar,
        schedule,
        mode,
        mode_declared: raw.mode.is_some(),
        days,
        streams,
        resources,
        roles,
        defaults,
        impact,
        broken_days,
        broken_streams,
        broken_resources,
    }
}

/// Reports a malformed or over-long id; returns whether it is usable.
pub(super) fn check_id(cx: &mut Ctx<'_>, id: &Located<String>, what: &str) -> bool {
    let span = cx.span(id);
    let length = id.value.chars().count();
    if length > values::MAX_ID_CHARS {
        cx.push(
            Diagnostic::error(format!(
                "the {what} id `{}` is {length} characters long; ids are at most {}",
                values::shown_id(&id.value),
                values::MAX_ID_CHARS
            ))
            .at(span.narrow(0, 0))
            .label("too long")
            .help("ids name jobs in plans, logs and alerts; shorten it and put the rest in `name:` or `description:`"),
        );
        return false;
    }
    if values::is_valid_id(&id.value) {
        return true;
    }
    let folded = crate::diagnostics::ascii_fold(&id.value);
    let help = if !id.value.is_ascii() && values::is_valid_id(&folded) {
        format!("ids are ASCII letters, digits, `_` and `-`: write `{folded}`")
    } else {
        "start with a letter or digit; `.` and `*` are reserved for stream instances".to_string()
    };
    cx.push(
        Diagnostic::error(format!("`{}` is not a valid {what} id", id.value))
            .at(span)
            .label("ids are letters, digits, `_` and `-`")
            .help(help),
    );
    false
}

/// Tracks ids in one namespace and reports duplicates naming both places.
pub(super) struct Unique {
    seen: HashMap<String, Span>,
    what: &'static str,
}

impl Unique {
    pub fn new(what: &'static str) -> Self {
        Self {
            seen: HashMap::new(),
            what,
        }
    }

    /// Records `id`; returns false (after reporting) when it was already defined.
    pub fn insert(&mut self, cx: &mut Ctx<'_>, id: &Located<String>) -> bool {
        let span = cx.span(id);
        if let Some(first) = self.seen.get(&id.value) {
            cx.push(
                Diagnostic::error(format!("duplicate {} id `{}`", self.what, id.value))
                    .at(span)
                    .label("defined again here")
                    .note(*first, "first defined here")
                    .help(format!("give each {} its own id", self.what)),
            );
            return false;
        }
        self.seen.insert(id.value.clone(), span);
        true
    }
}

fn compile_calendar(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> Option<Calendar> {
    let Some(reference) = &raw.calendar else {
        return Some(Calendar::weekdays_only("weekdays"));
    };
    let span = cx.span(reference);
    let from = cx.sources.path(cx.file).to_string();
    match cx.loader.load(&from, &reference.value) {
        Err(e) => {
            cx.push(
                Diagnostic::error(format!("cannot load calendar `{}`", reference.value))
                    .at(span)
                    .label(e.message)
                    .help(e.help),
            );
            None
        }
        Ok((path, text)) if !Calendar::is_recognisable(&text) => {
            cx.push(
                Diagnostic::error(format!("`{path}` is not a calendar file"))
                    .at(span)
                    .label("not a calendar")
                    .help("a calendar file is YAML with `name:` and `holidays:` (docs/calendars.md); its content is not shown"),
            );
            None
        }
        Ok((path, text)) => {
            let file = cx.sources.add(path, text.clone());
            match Calendar::parse(file, &text) {
                Ok(calendar) => Some(calendar),
                Err(errors) => {
                    for e in errors {
                        cx.push(e);
                    }
                    cx.push(
                        Diagnostic::error(format!("calendar `{}` has errors", reference.value))
                            .at(span)
                            .label("referenced here"),
                    );
                    None
                }
            }
        }
    }
}

fn compile_schedule(cx: &mut Ctx<'_>, raw: &RawWorkflow, day_count: usize) -> Option<Schedule> {
    let schedule = &raw.schedule.value;
    let span = cx.span(&raw.schedule);
    match (&schedule.cron, &schedule.month_end) {
        (Some(_), Some(_)) => {
            cx.push(
                Diagnostic::error("a schedule has either `cron` or `month_end`, not both")
                    .at(span)
                    .label("both given here")
                    .help("use `cron` for a nightly cycle, `month_end` for a month-end cycle"),
            );
            None
        }
        (None, None) => {
            cx.push(
                Diagnostic::error("the schedule says neither when nor how often the cycle runs")
                    .at(span)
                    .label("needs `cron` or `month_end`")
                    .help("e.g. `cron: \"0 23 * * 1-5\"` or `month_end: { start_day: 28, nights: 3 }`"),
            );
            None
        }
        (Some(cron), None) => {
            let parsed = croner::Cron::from_str(cron.value.trim());
            match parsed {
                Ok(c) if cron.value.split_whitespace().count() == 5 => Some(Schedule::Cron {
                    expression: cron.value.trim().to_string(),
                    cron: Box::new(c),
                    business_days_only: schedule.business_days_only.unwrap_or(true),
                }),
                Ok(_) => {
                    let span = cx.span(cron);
                    cx.error_help(
                        span,
                        format!("`{}` is not a 5-field cron expression", cron.value),
                        "expected minute hour day-of-month month day-of-week",
                        Some("e.g. `0 23 * * 1-5` (23:00 Monday to Friday)".into()),
                    );
                    None
                }
                Err(e) => {
                    let span = cx.span(cron);
                    cx.error_help(
                        span,
                        format!("`{}` is not a valid cron expression: {e}", cron.value),
                        "bad cron expression",
                        Some("5 fields: minute hour day-of-month month day-of-week, e.g. `0 23 * * 1-5`".into()),
                    );
                    None
                }
            }
        }
        (None, Some(month_end)) => compile_month_end(cx, month_end, day_count),
    }
}

fn compile_month_end(
    cx: &mut Ctx<'_>,
    month_end: &Located<crate::workflow::raw::RawMonthEnd>,
    day_count: usize,
) -> Option<Schedule> {
    let m = &month_end.value;
    let mut ok = true;
    if !(1..=31).contains(&m.start_day.value.0) {
        let span = cx.span(&m.start_day);
        cx.error(
            span,
            format!(
                "start_day {} is not a day of the month",
                m.start_day.value.0
            ),
            "expected 1 to 31",
        );
        ok = false;
    }
    if !(1..=31).contains(&m.nights.value.0) {
        let span = cx.span(&m.nights);
        cx.error(
            span,
            format!(
                "a month-end cycle of {} nights is not possible",
                m.nights.value.0
            ),
            "expected 1 to 31",
        );
        ok = false;
    } else if usize::try_from(m.nights.value.0).ok() != Some(day_count) && day_count > 0 {
        let span = cx.span(&m.nights);
        cx.push(
            Diagnostic::error(format!(
                "the schedule has {} but the cycle defines {}",
                values::count(m.nights.value.0, "night"),
                values::count(day_count, "day")
            ))
            .at(span)
            .label("one night per day")
            .help("make `nights` equal the number of entries under `days`"),
        );
        ok = false;
    }
    let adjust = match m.when_not_business_day.as_ref().map(|v| v.value.as_str()) {
        None | Some("previous") => NonBusinessStart::Previous,
        Some("next") => NonBusinessStart::Next,
        Some("keep") => NonBusinessStart::Keep,
        Some(other) => {
            let span = m
                .when_not_business_day
                .as_ref()
                .map(|v| cx.span(v))
                .unwrap_or_default();
            cx.error_help(
                span,
                format!("unknown adjustment `{other}`"),
                "expected `previous`, `next` or `keep`",
                did_you_mean(other, ["previous", "next", "keep"]),
            );
            ok = false;
            NonBusinessStart::Previous
        }
    };
    let spacing = match m.spacing.as_ref().map(|v| v.value.as_str()) {
        None | Some("calendar") => NightSpacing::Calendar,
        Some("business") => NightSpacing::Business,
        Some(other) => {
            let span = m.spacing.as_ref().map(|v| cx.span(v)).unwrap_or_default();
            cx.error_help(
                span,
                format!("unknown spacing `{other}`"),
                "expected `calendar` or `business`",
                did_you_mean(other, ["calendar", "business"]),
            );
            ok = false;
            NightSpacing::Calendar
        }
    };
    ok.then(|| {
        Schedule::MonthEnd(MonthEndRule {
            start_day: u32::try_from(m.start_day.value.0).unwrap_or(28),
            when_not_business_day: adjust,
            nights: u32::try_from(m.nights.value.0).unwrap_or(1),
            spacing,
        })
    })
}

fn compile_days(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> (Vec<Day>, Vec<String>) {
    let mut unique = Unique::new("day");
    let mut days = Vec::new();
    let mut broken = Vec::new();
    if raw.days.is_empty() {
        cx.push(
            Diagnostic::error("the cycle has no days")
                .help("add at least one day, e.g. `days: [{ id: night, window: { opens: \"23:00\", closes: \"04:00\" } }]`"),
        );
    }
    for d in &raw.days {
        let valid = check_id(cx, &d.id, "day") & unique.insert(cx, &d.id);
        let opens = time_field(cx, &d.window.value.opens);
        let closes = time_field(cx, &d.window.value.closes);
        let start = match d.start.as_ref().map(|s| s.value.as_str()) {
            None | Some("window") => Some(DayStart::Window),
            Some("when_ready") => Some(DayStart::WhenReady),
            Some(other) => {
                let span = d.start.as_ref().map(|s| cx.span(s)).unwrap_or_default();
                cx.error_help(
                    span,
                    format!("unknown day start `{other}`"),
                    "expected `window` or `when_ready`",
                    did_you_mean(other, ["window", "when_ready"]),
                );
                None
            }
        };
        if let (Some(o), Some(c)) = (opens, closes)
            && o == c
        {
            let span = cx.span(&d.window);
            cx.push(
                Diagnostic::error(format!("day `{}`'s window opens and closes at the same time", d.id.value))
                    .at(span)
                    .label("an empty (or 24-hour) window")
                    .help("a window closing at or before it opens ends the next morning, e.g. 20:00–06:00"),
            );
        }
        match (valid, opens, closes, start) {
            (true, Some(opens), Some(closes), Some(start)) if opens != closes => {
                days.push(Day {
                    id: d.id.value.clone(),
                    name: d.name.clone(),
                    opens,
                    closes,
                    start,
                });
            }
            _ => broken.push(d.id.value.clone()),
        }
    }
    (days, broken)
}

pub(super) fn time_field(cx: &mut Ctx<'_>, value: &Located<String>) -> Option<chrono::NaiveTime> {
    match values::time_of_day(&value.value) {
        Ok(t) => {
            warn_gap(cx, value, t);
            Some(t)
        }
        Err(message) => {
            let span = cx.span(value);
            cx.error(span, message, "not HH:MM");
            None
        }
    }
}

/// A warning when a time of day falls in the zone's spring-forward gap on some night: that
/// night it is moved forward by the gap (docs/calendars.md), which should not be silent.
fn warn_gap(cx: &mut Ctx<'_>, value: &Located<String>, time: chrono::NaiveTime) {
    let Some(tz) = cx.timezone else {
        return;
    };
    let gap = match cx.gaps.get(&time) {
        Some(gap) => *gap,
        None => {
            let changes = cx
                .offset_changes
                .get_or_insert_with(|| calendar::offset_changes(tz));
            let gap = calendar::first_gap_near(tz, time, changes);
            cx.gaps.insert(time, gap);
            gap
        }
    };
    let Some((date, moved)) = gap else {
        return;
    };
    let span = cx.span(value);
    cx.push(
        Diagnostic::warning(format!(
            "`{}` does not exist in {} on the night clocks spring forward (first {date}); that night it becomes {}",
            value.value,
            tz.name(),
            moved.format("%H:%M")
        ))
        .at(span)
        .label("in a daylight-saving gap")
        .help("on that night the time moves forward by the gap (docs/calendars.md); choose a time outside the gap to keep it fixed"),
    );
}

fn compile_streams(
    cx: &mut Ctx<'_>,
    raw: &RawWorkflow,
    days: &[Day],
    broken_days: &[String],
) -> (Vec<Stream>, Vec<String>) {
    let mut broken = Vec::new();
    let mut unique = Unique::new("stream");
    let mut streams = Vec::new();
    for s in &raw.streams {
        let valid = check_id(cx, &s.id, "stream") & unique.insert(cx, &s.id);
        let volume = match values::volume(&s.volume.value) {
            Ok(v) => Some(v),
            Err(message) => {
                let span = cx.span(&s.volume);
                cx.error(span, message, "not a volume");
                None
            }
        };
        let mut not_before = Vec::new();
        for (day_id, time) in &s.not_before {
            let Some(day) = days.iter().position(|d| &d.id == day_id) else {
                if broken_days.contains(day_id) {
                    continue;
                }
                let span = cx.span(time);
                cx.error_help(
                    span,
                    format!(
                        "stream `{}` sets a start time for day `{day_id}`, which is not defined",
                        s.id.value
                    ),
                    "unknown day",
                    did_you_mean(day_id, days.iter().map(|d| d.id.as_str())),
                );
                continue;
            };
            if let Some(t) = time_field(cx, time) {
                not_before.push((day, t));
            }
        }
        match (valid, volume) {
            (true, Some(volume)) => streams.push(Stream {
                id: s.id.value.clone(),
                name: s.name.clone(),
                volume,
                not_before,
            }),
            _ => broken.push(s.id.value.clone()),
        }
    }
    (streams, broken)
}

fn compile_resources(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> (Vec<Resource>, Vec<String>) {
    let mut unique = Unique::new("resource");
    let mut resources = Vec::new();
    let mut broken = Vec::new();
    for r in &raw.resources {
        let valid = check_id(cx, &r.id, "resource") & unique.insert(cx, &r.id);
        let capacity = match &r.capacity {
            None => Some(1),
            Some(c) if (1..=100_000).contains(&c.value.0) => u32::try_from(c.value.0).ok(),
            Some(c) => {
                let span = cx.span(c);
                cx.error(
                    span,
                    format!("resource `{}` has capacity {}", r.id.value, c.value.0),
                    "a capacity is at least 1",
                );
                None
            }
        };
        match (valid, capacity) {
            (true, Some(capacity)) => resources.push(Resource {
                id: r.id.value.clone(),
                capacity,
            }),
            _ => broken.push(r.id.value.clone()),
        }
    }
    (resources, broken)
}

fn compile_roles(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> Vec<Role> {
    let mut unique = Unique::new("role");
    let mut roles = Vec::new();
    for r in &raw.roles {
        if check_id(cx, &r.id, "role") & unique.insert(cx, &r.id) {
            roles.push(Role {
                id: r.id.value.clone(),
                name: r.name.clone(),
            });
        }
    }
    roles
}

fn compile_defaults(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> Defaults {
    let d = &raw.defaults;
    Defaults {
        builtin: d.builtin.as_ref().and_then(|b| builtin(cx, b)),
        elasticity: d.elasticity.as_ref().and_then(|e| elasticity(cx, e)),
        retries: d.retries.as_ref().and_then(|r| retries(cx, r)),
        retry_backoff: d.retry_backoff.as_ref().and_then(|b| duration_field(cx, b)),
        timeout: d.timeout.as_ref().and_then(|t| timeout(cx, t)),
        on_lost: d.on_lost.as_ref().and_then(|v| on_lost(cx, v)),
        priority: d.priority.as_ref().map(|p| p.value.0),
    }
}

pub(super) fn builtin(cx: &mut Ctx<'_>, value: &Located<String>) -> Option<Builtin> {
    Builtin::parse(&value.value).or_else(|| {
        let span = cx.span(value);
        let names = Builtin::ALL.iter().map(|(n, _)| *n);
        let help = did_you_mean(&value.value, names).unwrap_or_else(|| {
            let all: Vec<_> = Builtin::ALL.iter().map(|(n, _)| *n).collect();
            format!("the built-in kinds are: {}", all.join(", "))
        });
        cx.error_help(
            span,
            format!("unknown built-in job kind `{}`", value.value),
            "not a built-in",
            Some(help),
        );
        None
    })
}

pub(super) fn elasticity(cx: &mut Ctx<'_>, value: &Located<Number>) -> Option<f64> {
    if value.value.0.is_finite() && (0.0..=4.0).contains(&value.value.0) {
        return Some(value.value.0);
    }
    let span = cx.span(value);
    cx.error_help(
        span,
        format!("elasticity {} is out of range", value.value.0),
        "expected 0 to 4",
        Some(
            "0 means the run time does not depend on volume, 1 that it grows in proportion".into(),
        ),
    );
    None
}

pub(super) fn retries(cx: &mut Ctx<'_>, value: &Located<Whole>) -> Option<u32> {
    if (0..=100).contains(&value.value.0) {
        return u32::try_from(value.value.0).ok();
    }
    let span = cx.span(value);
    cx.error(
        span,
        format!("{} retries is out of range", value.value.0),
        "expected 0 to 100",
    );
    None
}

/// `rerun` or `fail`.
pub(super) fn on_lost(cx: &mut Ctx<'_>, value: &Located<String>) -> Option<OnLost> {
    OnLost::parse(&value.value).or_else(|| {
        let span = cx.span(value);
        let names = OnLost::ALL.map(|(n, _)| n);
        cx.error_help(
            span,
            format!("unknown `on_lost` value `{}`", value.value),
            "expected `rerun` or `fail`",
            did_you_mean(&value.value, names).or_else(|| {
                Some("`rerun` runs a lost attempt again; `fail` waits for an operator".into())
            }),
        );
        None
    })
}

/// A timeout: a duration longer than zero.
pub(super) fn timeout(
    cx: &mut Ctx<'_>,
    value: &Located<crate::workflow::raw::Scalar>,
) -> Option<TimeDelta> {
    let d = duration_field(cx, value)?;
    if d.is_zero() {
        let span = cx.span(value);
        cx.error_help(
            span,
            format!("a timeout of `{}` kills every attempt at once", value.value.as_text()),
            "a zero timeout",
            Some("give a timeout above the job's estimate (e.g. `4h`), or leave `timeout` out for none".into()),
        );
        return None;
    }
    Some(d)
}

pub(super) fn duration_field(
    cx: &mut Ctx<'_>,
    value: &Located<crate::workflow::raw::Scalar>,
) -> Option<TimeDelta> {
    match values::duration(&value.value) {
        Ok(d) => Some(d),
        Err(message) => {
            let span = cx.span(value);
            cx.error(span, message, "bad duration");
            None
        }
    }
}
