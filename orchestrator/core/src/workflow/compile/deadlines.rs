//! Milestones, deadlines, their time expressions and escalation ladders.

use std::collections::HashSet;

use chrono::TimeDelta;

use super::ctx::Ctx;
use super::header::{Header, Unique, check_id};
use super::jobs::CompiledJobs;
use crate::diagnostics::{Diagnostic, did_you_mean, did_you_mean_id};
use crate::workflow::located::Located;
use crate::workflow::model::{
    Deadline, DeadlineKind, EscalationStep, JobIdx, Milestone, Renotify, TimeAnchor, TimeExpr,
    Trigger,
};
use crate::workflow::raw::{RawEscalationStep, RawWorkflow, Scalar};
use crate::workflow::values;

pub(super) fn compile_deadlines(
    cx: &mut Ctx<'_>,
    raw: &RawWorkflow,
    header: &Header,
    jobs: &CompiledJobs,
) -> (Vec<Milestone>, Vec<Deadline>) {
    let mut milestones: Vec<Milestone> = Vec::new();
    let mut unique = Unique::new("milestone");
    for m in &raw.milestones {
        if !(check_id(cx, &m.id, "milestone") & unique.insert(cx, &m.id)) {
            continue;
        }
        if jobs.index.templates.contains_key(&m.id.value) || header.day(&m.id.value).is_some() {
            let span = cx.span(&m.id);
            cx.error(
                span,
                format!("milestone `{}` has the id of a job or day", m.id.value),
                "ambiguous in `covers`",
            );
            continue;
        }
        if let Some(covers) = resolve_covers(cx, &m.covers, &m.id, header, jobs, &milestones) {
            milestones.push(Milestone {
                id: m.id.value.clone(),
                name: m.name.clone(),
                covers,
            });
        }
    }

    let mut deadlines = Vec::new();
    let mut unique = Unique::new("deadline");
    for d in &raw.deadlines {
        let fresh = check_id(cx, &d.id, "deadline") & unique.insert(cx, &d.id);
        let at = time_expr(cx, &d.at, header);
        let kind = DeadlineKind::parse(&d.kind.value).or_else(|| {
            let span = cx.span(&d.kind);
            cx.error_help(
                span,
                format!("unknown deadline kind `{}`", d.kind.value),
                "expected `regulatory`, `window` or `business`",
                did_you_mean(&d.kind.value, ["regulatory", "window", "business"]),
            );
            None
        });
        let covers = resolve_covers(cx, &d.covers, &d.id, header, jobs, &milestones);
        let escalation = escalation(cx, &d.escalation, header);
        if kind == Some(DeadlineKind::Regulatory) && d.penalty.is_none() {
            let span = cx.span(&d.id);
            cx.push(
                Diagnostic::warning(format!("regulatory deadline `{}` states no penalty", d.id.value))
                    .at(span)
                    .label("no `penalty`")
                    .help("compliance letters quote it: add `penalty:` (e.g. \"CMS corrective action plan; up to $25,000 per day late\")"),
            );
        }
        if let (true, Some(at), Some(kind), Some(covers), Some(escalation)) =
            (fresh, at, kind, covers, escalation)
        {
            deadlines.push(Deadline {
                id: d.id.value.clone(),
                name: d.name.clone(),
                at,
                covers,
                kind,
                penalty: d.penalty.clone(),
                escalation,
            });
        }
    }
    (milestones, deadlines)
}

/// Jobs, days and milestones named in `covers`, as a sorted set of concrete jobs.
fn resolve_covers(
    cx: &mut Ctx<'_>,
    covers: &[Located<String>],
    owner: &Located<String>,
    header: &Header,
    jobs: &CompiledJobs,
    milestones: &[Milestone],
) -> Option<Vec<JobIdx>> {
    let mut set: Vec<JobIdx> = Vec::new();
    let mut ok = true;
    for name in covers {
        let found = if let Some(day) = header.day(&name.value) {
            Some(
                (0..jobs.jobs.len())
                    .filter(|j| jobs.jobs[*j].day == day)
                    .collect(),
            )
        } else if let Some(m) = milestones.iter().find(|m| m.id == name.value) {
            Some(m.covers.clone())
        } else {
            jobs.index.resolve_all(&jobs.templates, &name.value)
        };
        match found {
            Some(found) => set.extend(found),
            None if jobs.is_broken(&name.value) || header.broken_days.contains(&name.value) => {
                ok = false
            }
            None => {
                let span = cx.span(name);
                let candidates = jobs
                    .index
                    .names()
                    .chain(header.days.iter().map(|d| d.id.as_str()))
                    .chain(milestones.iter().map(|m| m.id.as_str()));
                cx.error_help(
                    span,
                    format!(
                        "`{}` covers `{}`, which is not a job, day or milestone",
                        owner.value,
                        crate::workflow::values::shown_id(&name.value)
                    ),
                    "unknown name",
                    did_you_mean_id(&name.value, candidates),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    set.sort_unstable();
    set.dedup();
    if set.is_empty() {
        let span = cx.span(owner);
        cx.push(
            Diagnostic::error(format!("`{}` covers nothing", owner.value))
                .at(span)
                .label("empty `covers`")
                .help("list the jobs, days or milestones that must be finished by then"),
        );
        return None;
    }
    Some(set)
}

/// Parses `DAY HH:MM`, `DAY +Nd HH:MM`, `DAY window-opens|window-closes`, each optionally
/// followed by an offset such as `-30m`.
fn time_expr(cx: &mut Ctx<'_>, at: &Located<String>, header: &Header) -> Option<TimeExpr> {
    let tokens: Vec<(usize, &str)> = at
        .value
        .split_whitespace()
        .map(|t| (t.as_ptr() as usize - at.value.as_ptr() as usize, t))
        .collect();
    let usage = "write `DAY HH:MM` (e.g. `d3 23:59`), `DAY +1d 06:00` or `DAY window-closes`, optionally followed by an offset like `-30m`";
    let bad = |cx: &mut Ctx<'_>, token: (usize, &str), message: String, label: &str| {
        let span = cx.inner_span(at, token.0, token.1.len());
        cx.error_help(span, message, label, Some(usage.to_string()));
    };
    let Some(&day_token) = tokens.first() else {
        let span = cx.span(at);
        cx.error_help(
            span,
            "the deadline time is empty",
            "no time",
            Some(usage.to_string()),
        );
        return None;
    };
    let Some(day) = header.day(day_token.1) else {
        if !header.broken_days.iter().any(|d| d == day_token.1) {
            let span = cx.inner_span(at, day_token.0, day_token.1.len());
            let help = did_you_mean(day_token.1, header.days.iter().map(|d| d.id.as_str()))
                .unwrap_or_else(|| usage.to_string());
            cx.error_help(
                span,
                format!("`{}` is not a day of this cycle", day_token.1),
                "expected a day id",
                Some(help),
            );
        }
        return None;
    };
    let mut rest = &tokens[1..];
    let anchor = match rest.first() {
        None => {
            let span = cx.span(at);
            cx.error_help(
                span,
                format!("`{}` says which night but not when", at.value),
                "no time",
                Some(usage.to_string()),
            );
            return None;
        }
        Some((_, "window-opens")) => {
            rest = &rest[1..];
            TimeAnchor::WindowOpens { day }
        }
        Some((_, "window-closes")) => {
            rest = &rest[1..];
            TimeAnchor::WindowCloses { day }
        }
        Some(&token) => {
            let mut plus_days = 0;
            let mut time_token = token;
            if let Some(n) = token.1.strip_prefix('+').and_then(|t| t.strip_suffix('d')) {
                match n.parse::<i64>() {
                    Ok(n) if (0..=62).contains(&n) => plus_days = n,
                    _ => {
                        bad(
                            cx,
                            token,
                            format!("`{}` is not a number of days", token.1),
                            "expected e.g. `+1d`",
                        );
                        return None;
                    }
                }
                rest = &rest[1..];
                let Some(&next) = rest.first() else {
                    bad(
                        cx,
                        token,
                        format!("`{}` needs a time of day after it", token.1),
                        "expected `HH:MM` next",
                    );
                    return None;
                };
                time_token = next;
            }
            let Ok(time) = values::time_of_day(time_token.1) else {
                bad(
                    cx,
                    time_token,
                    format!("`{}` is not a time of day", time_token.1),
                    "expected `HH:MM`",
                );
                return None;
            };
            rest = &rest[1..];
            TimeAnchor::DayTime {
                day,
                plus_days,
                time,
            }
        }
    };
    let offset = match rest {
        [] => TimeDelta::zero(),
        [token] => {
            let (sign, body) = match token.1.as_bytes().first() {
                Some(b'+') => (1, &token.1[1..]),
                Some(b'-') => (-1, &token.1[1..]),
                _ => {
                    bad(
                        cx,
                        *token,
                        format!("unexpected `{}`", token.1),
                        "expected an offset like `-30m`",
                    );
                    return None;
                }
            };
            match values::duration(&Scalar::Text(body.to_string())) {
                Ok(d) => d * sign,
                Err(message) => {
                    bad(cx, *token, message, "bad offset");
                    return None;
                }
            }
        }
        [_, extra, ..] => {
            bad(
                cx,
                *extra,
                format!("unexpected `{}`", extra.1),
                "nothing may follow the offset",
            );
            return None;
        }
    };
    Some(TimeExpr { anchor, offset })
}

fn escalation(
    cx: &mut Ctx<'_>,
    steps: &[Located<RawEscalationStep>],
    header: &Header,
) -> Option<Vec<EscalationStep>> {
    let mut out = Vec::new();
    let mut ok = true;
    let mut last_margin: Option<(TimeDelta, usize)> = None;
    for (i, step) in steps.iter().enumerate() {
        let span = cx.span(step);
        let s = &step.value;
        let conditions = usize::from(s.margin_below.is_some())
            + usize::from(s.p_miss_above.is_some())
            + usize::from(s.projected_miss.is_some());
        if conditions != 1 {
            cx.error_help(
                span,
                format!(
                    "escalation step {} has {}",
                    i + 1,
                    values::count(conditions, "condition")
                ),
                "expected exactly one",
                Some(
                    "each step fires on one of `margin_below`, `p_miss_above` or `projected_miss`"
                        .into(),
                ),
            );
            ok = false;
            continue;
        }
        let trigger = if let Some(m) = &s.margin_below {
            margin_trigger(cx, m)
        } else if let Some(p) = &s.p_miss_above {
            if p.value.0 > 0.0 && p.value.0 < 1.0 {
                Some(Trigger::MissProbabilityAbove(p.value.0))
            } else {
                let pspan = cx.span(p);
                cx.error(
                    pspan,
                    format!("probability {} is out of range", p.value.0),
                    "expected between 0 and 1",
                );
                None
            }
        } else if let Some(flag) = &s.projected_miss {
            if flag.value {
                Some(Trigger::ProjectedMiss)
            } else {
                let fspan = cx.span(flag);
                cx.error(
                    fspan,
                    "`projected_miss: false` never fires",
                    "remove the step or set it to true",
                );
                None
            }
        } else {
            None
        };
        if s.notify.is_empty() {
            cx.error(
                span,
                format!("escalation step {} notifies nobody", i + 1),
                "empty `notify`",
            );
            ok = false;
        }
        let mut notify = HashSet::new();
        for role in &s.notify {
            match header.role(&role.value) {
                Some(r) => {
                    notify.insert(r);
                }
                None => {
                    let rspan = cx.span(role);
                    cx.error_help(
                        rspan,
                        format!(
                            "escalation notifies role `{}`, which is not declared",
                            role.value
                        ),
                        "unknown role",
                        did_you_mean(&role.value, header.roles.iter().map(|r| r.id.as_str()))
                            .or_else(|| {
                                Some(format!(
                                    "declare it under `roles:`, e.g. `- id: {}`",
                                    role.value
                                ))
                            }),
                    );
                    ok = false;
                }
            }
        }
        if let Some(Trigger::MarginBelow(m)) = trigger {
            if let Some((previous, at)) = last_margin
                && m >= previous
            {
                cx.push(
                    Diagnostic::warning(format!(
                        "escalation step {} fires at a margin of {}, not below step {}'s {}",
                        i + 1,
                        values::format_duration(m),
                        at + 1,
                        values::format_duration(previous)
                    ))
                    .at(span)
                    .label("out of order")
                    .help("a ladder escalates as the margin shrinks: list larger margins first"),
                );
            }
            last_margin = Some((m, i));
        }
        let renotify = match &s.renotify {
            None => Some(Renotify::Policy),
            Some(r) => renotify(cx, r),
        };
        match (trigger, renotify) {
            (Some(trigger), Some(renotify)) => {
                let mut notify: Vec<usize> = notify.into_iter().collect();
                notify.sort_unstable();
                out.push(EscalationStep {
                    trigger,
                    notify,
                    template: s.template.as_ref().map(|t| t.value.clone()),
                    renotify,
                });
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// `renotify: 45m` or `renotify: never`.
fn renotify(cx: &mut Ctx<'_>, value: &Located<Scalar>) -> Option<Renotify> {
    const HELP: &str = "`renotify` is how often an unacknowledged step notifies again: a duration (`45m`) or `never`";
    if let Scalar::Text(text) = &value.value
        && text.trim() == "never"
    {
        return Some(Renotify::Never);
    }
    match values::duration(&value.value) {
        Ok(d) if d > TimeDelta::zero() => Some(Renotify::Every(d)),
        Ok(_) => {
            let span = cx.span(value);
            cx.error_help(
                span,
                "a re-notify interval of zero would notify at every projection",
                "bad re-notify interval",
                Some(HELP.into()),
            );
            None
        }
        Err(message) => {
            let span = cx.span(value);
            cx.error_help(span, message, "bad re-notify interval", Some(HELP.into()));
            None
        }
    }
}

fn margin_trigger(cx: &mut Ctx<'_>, value: &Located<Scalar>) -> Option<Trigger> {
    if let Scalar::Text(text) = &value.value
        && let Some(number) = text.trim().strip_suffix('%')
    {
        return match number.trim().parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Some(Trigger::MarginShareBelow(p / 100.0)),
            _ => {
                let span = cx.span(value);
                cx.error(
                    span,
                    format!("`{text}` is not a share of the planned margin"),
                    "expected 1% to 100%",
                );
                None
            }
        };
    }
    match values::duration(&value.value) {
        Ok(d) => Some(Trigger::MarginBelow(d)),
        Err(message) => {
            let span = cx.span(value);
            cx.error_help(
                span,
                message,
                "bad margin",
                Some(
                    "a margin is a duration (`4h`) or a share of the planned margin (`25%`)".into(),
                ),
            );
            None
        }
    }
}
