//! Job templates: checking their fields, expanding them over streams and partitions, and
//! resolving their dependencies to concrete jobs.

use std::collections::{HashMap, HashSet};

use chrono::TimeDelta;

use super::ctx::Ctx;
use super::header::{self, Header, Unique, check_id};
use super::limits;
use super::refs::{RefError, RefIndex, Template};
use crate::diagnostics::{Diagnostic, Span, did_you_mean, did_you_mean_id};
use crate::workflow::located::Located;
use crate::workflow::model::{Action, Builtin, IntakeSpec, Job, JobIdx, Partition, ResourceUse};
use crate::workflow::raw::{RawEstimate, RawIntake, RawJob, RawStreams, RawUse, RawWorkflow};
use crate::workflow::values;

/// Default pause before a retry when the file names none.
const DEFAULT_RETRY_BACKOFF: TimeDelta = TimeDelta::minutes(2);
/// More partitions than any adjudication design uses; guards against typos like `600`.
const MAX_PARTITIONS: i64 = 256;

#[derive(Debug, Default)]
pub(super) struct CompiledJobs {
    pub jobs: Vec<Job>,
    pub templates: Vec<Template>,
    pub index: RefIndex,
    /// (dependency, dependent) → the `after` entry that made the edge.
    pub edge_spans: HashMap<(JobIdx, JobIdx), Span>,
    /// Templates declared with a usable id that failed to compile: references to them are
    /// not reported again.
    pub broken: HashSet<String>,
}

impl CompiledJobs {
    /// Whether `name` refers to a template that failed (so its absence is already explained).
    pub fn is_broken(&self, name: &str) -> bool {
        let template = name.split(['.', '*', '?']).next().unwrap_or(name);
        self.broken.contains(template) || self.broken.contains(name)
    }
}

pub(super) fn compile_jobs(cx: &mut Ctx<'_>, raw: &RawWorkflow, header: &Header) -> CompiledJobs {
    let mut out = CompiledJobs::default();
    let mut unique = Unique::new("job");
    if raw.jobs.is_empty() {
        cx.push(Diagnostic::error("the cycle has no jobs").help("add jobs under `jobs:`"));
    }
    // Pass 1: expand every template; remember which raw job each template came from.
    let mut expanded: Vec<(usize, &RawJob)> = Vec::new();
    for raw_job in &raw.jobs {
        let valid = check_id(cx, &raw_job.id, "job");
        if !valid {
            // Already reported: references to it are not reported again.
            out.broken.insert(raw_job.id.value.clone());
        }
        if !(valid & unique.insert(cx, &raw_job.id)) {
            continue;
        }
        match expand(cx, raw_job, header, &mut out) {
            Some(template) => expanded.push((template, raw_job)),
            None => {
                out.broken.insert(raw_job.id.value.clone());
            }
        }
    }
    // Pass 2: dependencies, now that every name exists.
    for (template, raw_job) in expanded {
        resolve_dependencies(cx, raw_job, template, &mut out);
    }
    // A job that failed for one reason may name unknown jobs too: report those as well.
    for raw_job in raw.jobs.iter().filter(|j| out.broken.contains(&j.id.value)) {
        check_names_exist(cx, raw_job, &out);
    }
    out
}

/// "job X runs after Y, which is not defined", with the closest name suggested.
fn unknown_job(cx: &mut Ctx<'_>, name: &Located<String>, job: &str, out: &CompiledJobs) {
    let span = cx.span(name);
    let bare = name.value.trim_end_matches('?');
    cx.error_help(
        span,
        format!(
            "job `{job}` runs after `{}`, which is not defined",
            values::shown_id(&name.value)
        ),
        "unknown job",
        did_you_mean_id(bare, out.index.names()),
    );
}

fn check_names_exist(cx: &mut Ctx<'_>, raw: &RawJob, out: &CompiledJobs) {
    for name in &raw.after {
        let bare = name.value.trim_end_matches('?');
        if out.index.resolve_all(&out.templates, bare).is_none() && !out.is_broken(bare) {
            unknown_job(cx, name, &raw.id.value, out);
        }
    }
}

/// A day index for a job whose `day` failed to resolve: it is still expanded (so its
/// dependencies and cycles are checked), but takes part in no day-order check.
pub(super) const UNKNOWN_DAY: usize = usize::MAX;

/// Checks one template and adds its concrete jobs; returns its template index.
///
/// A template whose instances can be named (its streams and partitions resolved) is expanded
/// even when other fields have errors, so that its dependencies and any cycle through it are
/// still checked and reported in the same run; the failed fields get placeholder values that
/// never leave the compiler (any error means no workflow).
fn expand(
    cx: &mut Ctx<'_>,
    raw: &RawJob,
    header: &Header,
    out: &mut CompiledJobs,
) -> Option<usize> {
    let id = &raw.id.value;
    let day = job_day(cx, raw, header);
    let (streams, per_stream) = job_streams(cx, raw, header);
    let partitions = match &raw.partitions {
        None => Some(None),
        Some(p) if (1..=MAX_PARTITIONS).contains(&p.value.0) => {
            u32::try_from(p.value.0).ok().map(Some)
        }
        Some(p) => {
            let span = cx.span(p);
            cx.error(
                span,
                format!("job `{id}` fans out into {} partitions", p.value.0),
                format!("expected 1 to {MAX_PARTITIONS}"),
            );
            None
        }
    };
    if let (Some(streams), Some(partitions)) = (&streams, partitions) {
        let instances = streams.len().max(1) * partitions.unwrap_or(1) as usize;
        if out.jobs.len() + instances > limits::MAX_JOBS {
            limits::too_many_jobs(cx, raw, out.jobs.len() + instances);
            return None;
        }
    }
    let action = job_action(cx, raw, header);
    let estimates = match partitions {
        Some(partitions) => {
            job_estimates(cx, raw, header, streams.as_deref(), per_stream, partitions)
        }
        None => None,
    };
    let uses = job_uses(cx, raw, header);
    let d = &header.defaults;
    let elasticity = match &raw.elasticity {
        Some(e) => header::elasticity(cx, e),
        None => Some(d.elasticity.unwrap_or(0.0)),
    };
    let retries = match &raw.retries {
        Some(r) => header::retries(cx, r),
        None => Some(d.retries.unwrap_or(0)),
    };
    let retry_backoff = match &raw.retry_backoff {
        Some(b) => header::duration_field(cx, b),
        None => Some(d.retry_backoff.unwrap_or(DEFAULT_RETRY_BACKOFF)),
    };
    let timeout = match &raw.timeout {
        Some(t) => header::timeout(cx, t).map(Some),
        None => Some(d.timeout),
    };
    let on_lost = match &raw.on_lost {
        Some(v) => header::on_lost(cx, v),
        None => Some(d.on_lost.unwrap_or_default()),
    };
    let not_before = match &raw.not_before {
        Some(t) => header::time_field(cx, t).map(Some),
        None => Some(None),
    };
    let runs_on = runs_on(cx, &raw.runs_on);
    let priority = raw
        .priority
        .as_ref()
        .map(|p| p.value.0)
        .or(d.priority)
        .unwrap_or(0);

    // Without streams and partitions the instances cannot be named: nothing to expand.
    let (Some(streams), Some(partitions)) = (streams, partitions) else {
        return None;
    };
    let flawed = day.is_none()
        || action.is_none()
        || estimates.is_none()
        || uses.is_none()
        || elasticity.is_none()
        || retries.is_none()
        || retry_backoff.is_none()
        || timeout.is_none()
        || on_lost.is_none()
        || not_before.is_none();
    let stream_count = streams.len().max(1);
    let total = stream_count * partitions.unwrap_or(1) as usize;
    let day = day.unwrap_or(UNKNOWN_DAY);
    let action = action.unwrap_or(Action::Builtin(Builtin::Sleep));
    let estimates = estimates.unwrap_or_else(|| vec![None; total]);
    let uses = uses.unwrap_or_default();
    let elasticity = elasticity.unwrap_or(0.0);
    let retries = retries.unwrap_or(0);
    let retry_backoff = retry_backoff.unwrap_or(DEFAULT_RETRY_BACKOFF);
    let timeout = timeout.unwrap_or(None);
    let on_lost = on_lost.unwrap_or_default();
    let not_before = not_before.unwrap_or(None);

    if !flawed {
        warn_estimate(cx, raw, timeout, &estimates);
    }

    let template_idx = out.templates.len();
    let span = cx.span(&raw.id);
    let mut instances = Vec::new();
    let stream_list: Vec<Option<usize>> = if streams.is_empty() {
        vec![None]
    } else {
        streams.iter().copied().map(Some).collect()
    };
    let all_streams: Vec<usize> = (0..header.streams.len()).collect();
    let mut k = 0;
    for stream in &stream_list {
        let parts: Vec<Option<Partition>> = match partitions {
            None => vec![None],
            Some(count) => (1..=count)
                .map(|index| Some(Partition { index, count }))
                .collect(),
        };
        let mut group = Vec::new();
        for partition in parts {
            let concrete =
                concrete_id(id, stream.map(|s| header.streams[s].id.as_str()), partition);
            let idx = out.jobs.len();
            if let Some(previous) = out.index.concrete.get(&concrete) {
                let other = out.jobs[*previous].template.clone();
                cx.push(
                    Diagnostic::error(format!(
                        "job `{id}` expands to `{concrete}`, which is also an instance of `{other}`"
                    ))
                    .at(span)
                    .label("expands to a taken id")
                    .help("rename one of the two jobs"),
                );
                return None;
            }
            out.index.concrete.insert(concrete.clone(), idx);
            out.jobs.push(Job {
                id: concrete,
                template: id.clone(),
                day,
                stream: *stream,
                partition,
                action: action.clone(),
                estimate: estimates[k],
                elasticity,
                volume_streams: stream.map_or_else(|| all_streams.clone(), |s| vec![s]),
                after: Vec::new(),
                uses: uses.clone(),
                retries,
                retry_backoff,
                timeout,
                on_lost,
                not_before,
                priority,
                runs_on: runs_on.clone(),
            });
            k += 1;
            group.push(idx);
            instances.push(idx);
        }
        if let (Some(s), Some(_)) = (stream, partitions) {
            out.index
                .groups
                .insert(format!("{id}.{}", header.streams[*s].id), group);
        }
    }
    out.index.templates.insert(id.clone(), template_idx);
    out.templates.push(Template {
        id: id.clone(),
        per_stream,
        instances,
    });
    Some(template_idx)
}

/// A job's `runs_on` labels, checked (lowercase letters, digits, `_`, `-`; at most 16),
/// sorted and without repeats. A bad label is an error and is dropped.
fn runs_on(cx: &mut Ctx<'_>, labels: &[Located<String>]) -> Vec<String> {
    const MAX_LABELS: usize = 16;
    let mut out = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let v = &label.value;
        let ok = !v.is_empty()
            && v.len() <= 64
            && v.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        let span = cx.span(label);
        if !ok {
            cx.error_help(
                span,
                format!("`{v}` is not a worker label"),
                "labels are lowercase letters, digits, `_` and `-` (at most 64)",
                Some(format!(
                    "write it as a worker is started with it: `warden worker --label {}`",
                    v.to_ascii_lowercase().replace(
                        |c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                        "-"
                    )
                )),
            );
            continue;
        }
        if i >= MAX_LABELS {
            cx.error_help(
                span,
                format!("more than {MAX_LABELS} labels in `runs_on`"),
                "too many labels",
                Some("a host kind is a few labels; group them under one (`pci-gpu`)".into()),
            );
            break;
        }
        out.push(v.clone());
    }
    out.sort();
    out.dedup();
    out
}

/// Warnings about a job's estimate: none given, or longer than its timeout.
fn warn_estimate(
    cx: &mut Ctx<'_>,
    raw: &RawJob,
    timeout: Option<TimeDelta>,
    estimates: &[Option<TimeDelta>],
) {
    let id = &raw.id.value;
    if let (Some(timeout), Some(longest)) = (timeout, estimates.iter().flatten().max())
        && timeout < *longest
    {
        let span = raw.timeout.as_ref().map(|t| cx.span(t)).unwrap_or_default();
        cx.push(
            Diagnostic::warning(format!(
                "job `{id}` times out after {} but is estimated to take {}",
                values::format_duration(timeout),
                values::format_duration(*longest)
            ))
            .at(span)
            .label("shorter than the estimate")
            .help(
                "raise the timeout above the estimate, or the job will be killed on a normal night",
            ),
        );
    }
    if raw.estimate.is_none() {
        let span = cx.span(&raw.id);
        cx.push(
            Diagnostic::warning(format!(
                "job `{id}` has no estimate; it is planned as taking no time"
            ))
            .at(span)
            .label("no `estimate`")
            .help(
                "add `estimate:` (e.g. `estimate: 25m`) so plans and deadline projections count it",
            ),
        );
    }
}

/// `TEMPLATE`, `TEMPLATE.STREAM`, `TEMPLATE-P01`, `TEMPLATE.STREAM-P01`.
pub fn concrete_id(template: &str, stream: Option<&str>, partition: Option<Partition>) -> String {
    let mut id = template.to_string();
    if let Some(s) = stream {
        id.push('.');
        id.push_str(s);
    }
    if let Some(p) = partition {
        let width = p.count.to_string().len().max(2);
        id.push_str(&format!("-P{:0width$}", p.index));
    }
    id
}

fn job_day(cx: &mut Ctx<'_>, raw: &RawJob, header: &Header) -> Option<usize> {
    match &raw.day {
        Some(day) => header.day(&day.value).or_else(|| {
            if !header.broken_days.contains(&day.value) {
                let span = cx.span(day);
                cx.error_help(
                    span,
                    format!(
                        "job `{}` belongs to day `{}`, which is not defined",
                        raw.id.value, day.value
                    ),
                    "unknown day",
                    did_you_mean(&day.value, header.days.iter().map(|d| d.id.as_str())),
                );
            }
            None
        }),
        None if header.days.len() == 1 => Some(0),
        None if header.days.is_empty() => None,
        None => {
            let span = cx.span(&raw.id);
            let ids: Vec<_> = header.days.iter().map(|d| d.id.as_str()).collect();
            cx.error_help(
                span,
                format!("job `{}` does not say which day it runs on", raw.id.value),
                "no `day`",
                Some(format!(
                    "this cycle has {} days; add `day:` with one of: {}",
                    ids.len(),
                    ids.join(", ")
                )),
            );
            None
        }
    }
}

/// The streams a template expands over (empty: not per stream), and whether it is per-stream.
fn job_streams(cx: &mut Ctx<'_>, raw: &RawJob, header: &Header) -> (Option<Vec<usize>>, bool) {
    let id = &raw.id.value;
    match (&raw.streams, &raw.stream) {
        (Some(streams), Some(_)) => {
            let span = cx.span(streams);
            cx.error_help(
                span,
                format!("job `{id}` has both `streams` and `stream`"),
                "choose one",
                Some("`streams` expands the job once per stream; `stream` binds a single job to one stream".into()),
            );
            (None, false)
        }
        (None, None) => (Some(Vec::new()), false),
        (None, Some(stream)) => match header.stream(&stream.value) {
            Some(s) => (Some(vec![s]), false),
            None if header.broken_streams.contains(&stream.value) => (None, false),
            None => {
                let span = cx.span(stream);
                unknown_stream(cx, span, id, &stream.value, header);
                (None, false)
            }
        },
        (Some(streams), None) => {
            let span = cx.span(streams);
            match &streams.value {
                RawStreams::All(word) if word == "all" => {
                    if header.streams.is_empty() {
                        cx.error_help(
                            span,
                            format!("job `{id}` runs for `all` streams, but the cycle declares none"),
                            "no streams to expand over",
                            Some("declare streams under `streams:` or remove `streams:` from the job".into()),
                        );
                        return (None, true);
                    }
                    (Some((0..header.streams.len()).collect()), true)
                }
                RawStreams::All(word) => {
                    cx.error_help(
                        span,
                        format!("`streams: {word}` is neither `all` nor a list"),
                        "expected `all` or a list of stream ids",
                        Some(format!("write `streams: all` or `streams: [{word}]`")),
                    );
                    (None, true)
                }
                RawStreams::List(list) => {
                    let mut out = Vec::new();
                    let mut ok = true;
                    for name in list {
                        match header.stream(name) {
                            Some(s) if out.contains(&s) => {
                                cx.error(
                                    span,
                                    format!("job `{id}` lists stream `{name}` twice"),
                                    "repeated stream",
                                );
                                ok = false;
                            }
                            Some(s) => out.push(s),
                            None => {
                                if !header.broken_streams.contains(name) {
                                    unknown_stream(cx, span, id, name, header);
                                }
                                ok = false;
                            }
                        }
                    }
                    if list.is_empty() {
                        cx.error(
                            span,
                            format!("job `{id}` expands over an empty list of streams"),
                            "no streams",
                        );
                        ok = false;
                    }
                    (ok.then_some(out), true)
                }
            }
        }
    }
}

fn unknown_stream(cx: &mut Ctx<'_>, span: Span, job: &str, stream: &str, header: &Header) {
    cx.error_help(
        span,
        format!("job `{job}` names stream `{stream}`, which is not defined"),
        "unknown stream",
        did_you_mean(stream, header.streams.iter().map(|s| s.id.as_str())).or_else(|| {
            let ids: Vec<_> = header.streams.iter().map(|s| s.id.as_str()).collect();
            Some(format!("the streams are: {}", ids.join(", ")))
        }),
    );
}

fn job_action(cx: &mut Ctx<'_>, raw: &RawJob, header: &Header) -> Option<Action> {
    let action = match (&raw.run, &raw.builtin) {
        (Some(run), Some(_)) => {
            let span = cx.span(run);
            cx.error_help(
                span,
                format!("job `{}` has both `run` and `builtin`", raw.id.value),
                "choose one",
                Some("`run` is a shell command; `builtin` is one of Warden's own job kinds".into()),
            );
            None
        }
        (Some(run), None) if run.value.trim().is_empty() => {
            let span = cx.span(run);
            cx.error(
                span,
                format!("job `{}` runs an empty command", raw.id.value),
                "empty `run`",
            );
            None
        }
        (Some(run), None) => Some(Action::Shell(run.value.clone())),
        (None, Some(b)) => header::builtin(cx, b).map(Action::Builtin),
        (None, None) => match header.defaults.builtin {
            Some(b) => Some(Action::Builtin(b)),
            None => {
                let span = cx.span(&raw.id);
                cx.error_help(
                    span,
                    format!("job `{}` has nothing to run", raw.id.value),
                    "no `run` or `builtin`",
                    Some("add `run:` with a shell command, `builtin:` (e.g. `sleep`), or `defaults: { builtin: sleep }`".into()),
                );
                None
            }
        },
    };
    match (action, &raw.intake) {
        (Some(Action::Builtin(Builtin::Intake)), Some(intake)) => intake_spec(cx, intake),
        (Some(Action::Builtin(Builtin::Intake)), None) => {
            let span = match &raw.builtin {
                Some(b) => cx.span(b),
                None => cx.span(&raw.id),
            };
            cx.error_help(
                span,
                format!("intake job `{}` says nothing about what to take in", raw.id.value),
                "no `intake:` block",
                Some("add `intake: { partner: acme-pbm, files: [\"inbound/acme/*.csv\"], routing: workflows/routing/claims.yaml }`".into()),
            );
            None
        }
        (_, Some(intake)) => {
            let span = cx.span(intake);
            cx.error_help(
                span,
                format!(
                    "job `{}` has an `intake:` block but is not an intake job",
                    raw.id.value
                ),
                "`intake:` is only for `builtin: intake`",
                Some("set `builtin: intake`, or remove the block".into()),
            );
            None
        }
        (other, None) => other,
    }
}

/// An `intake:` block: a partner, at least one file, and an optional rule set.
fn intake_spec(cx: &mut Ctx<'_>, raw: &Located<RawIntake>) -> Option<Action> {
    let intake = &raw.value;
    let mut ok = true;
    if intake.partner.value.trim().is_empty() {
        let span = cx.span(&intake.partner);
        cx.error(
            span,
            "the intake's partner is empty".to_string(),
            "empty `partner`",
        );
        ok = false;
    }
    if intake.files.is_empty() {
        let span = cx.span(raw);
        cx.error_help(
            span,
            "the intake names no files".to_string(),
            "empty `files`",
            Some("list the partner's files or patterns: `files: [\"inbound/acme/*.csv\"]`".into()),
        );
        ok = false;
    }
    for f in &intake.files {
        if f.value.trim().is_empty() {
            let span = cx.span(f);
            cx.error(span, "an empty file name".to_string(), "empty");
            ok = false;
        }
    }
    let fail_on_refused = match &intake.on_refused {
        None => true,
        Some(v) if v.value == "fail" => true,
        Some(v) if v.value == "continue" => false,
        Some(v) => {
            let span = cx.span(v);
            cx.error_help(
                span,
                format!("unknown `on_refused` value `{}`", v.value),
                "not `fail` or `continue`",
                Some("`fail` (the default) fails the job when a file is refused whole; `continue` takes the other files".into()),
            );
            ok = false;
            true
        }
    };
    ok.then(|| {
        Action::Intake(IntakeSpec {
            partner: intake.partner.value.trim().to_string(),
            files: intake
                .files
                .iter()
                .map(|f| f.value.trim().to_string())
                .collect(),
            routing: intake.routing.as_ref().map(|r| r.value.trim().to_string()),
            fail_on_refused,
        })
    })
}

/// One estimate per concrete instance, in expansion order (stream-major, partition-minor).
fn job_estimates(
    cx: &mut Ctx<'_>,
    raw: &RawJob,
    header: &Header,
    streams: Option<&[usize]>,
    per_stream: bool,
    partitions: Option<u32>,
) -> Option<Vec<Option<TimeDelta>>> {
    let streams = streams?;
    let stream_count = streams.len().max(1);
    let part_count = partitions.unwrap_or(1) as usize;
    let total = stream_count * part_count;
    let Some(estimate) = &raw.estimate else {
        return Some(vec![None; total]);
    };
    let span = cx.span(estimate);
    let id = &raw.id.value;
    let parse = |cx: &mut Ctx<'_>, s: &crate::workflow::raw::Scalar| match values::duration(s) {
        Ok(d) if d.is_zero() => {
            cx.error_help(
                span,
                format!("job `{id}` is estimated to take no time (`{}`)", s.as_text()),
                "a zero estimate",
                Some("give the time a normal run takes (e.g. `30s`); a job with no `estimate` at all is planned as taking no time, with a warning".into()),
            );
            None
        }
        Ok(d) => Some(d),
        Err(message) => {
            cx.error(span, message, "bad duration");
            None
        }
    };
    match &estimate.value {
        RawEstimate::One(s) => parse(cx, s).map(|d| vec![Some(d); total]),
        RawEstimate::PerPartition(list) => {
            let Some(count) = partitions else {
                cx.error_help(
                    span,
                    format!("job `{id}` lists one estimate per partition but is not partitioned"),
                    "a list needs `partitions:`",
                    Some("give a single duration, or add `partitions: N` with N estimates".into()),
                );
                return None;
            };
            if list.len() != count as usize {
                cx.error(
                    span,
                    format!(
                        "job `{id}` has {} but {}",
                        values::count(count, "partition"),
                        values::count(list.len(), "estimate")
                    ),
                    format!("expected {}", values::count(count, "duration")),
                );
                return None;
            }
            let parsed: Vec<_> = list.iter().map(|s| parse(cx, s)).collect();
            let parsed: Option<Vec<_>> = parsed.into_iter().collect();
            parsed.map(|p| {
                (0..stream_count)
                    .flat_map(|_| p.iter().map(|d| Some(*d)))
                    .collect()
            })
        }
        RawEstimate::PerStream(map) => {
            if !per_stream {
                cx.error_help(
                    span,
                    format!(
                        "job `{id}` gives estimates per stream but does not expand over streams"
                    ),
                    "a map needs `streams:`",
                    Some("give a single duration, or add `streams:`".into()),
                );
                return None;
            }
            let mut ok = true;
            for key in map
                .keys()
                .filter(|k| k.as_str() != "default" && !header.broken_streams.contains(k))
            {
                match header.stream(key) {
                    Some(s) if streams.contains(&s) => {}
                    _ => {
                        cx.error_help(
                            span,
                            format!("job `{id}` has an estimate for stream `{key}`, which it does not run for"),
                            "unknown stream key",
                            did_you_mean(key, streams.iter().map(|s| header.streams[*s].id.as_str())),
                        );
                        ok = false;
                    }
                }
            }
            let mut out = Vec::with_capacity(total);
            for s in streams {
                let key = &header.streams[*s].id;
                match map.get(key).or_else(|| map.get("default")) {
                    Some(value) => match parse(cx, value) {
                        Some(d) => out.extend(std::iter::repeat_n(Some(d), part_count)),
                        None => ok = false,
                    },
                    None => {
                        cx.error_help(
                            span,
                            format!("job `{id}` has no estimate for stream `{key}`"),
                            "missing stream",
                            Some("add that stream, or a `default:` entry".into()),
                        );
                        ok = false;
                    }
                }
            }
            ok.then_some(out)
        }
    }
}

fn job_uses(cx: &mut Ctx<'_>, raw: &RawJob, header: &Header) -> Option<Vec<ResourceUse>> {
    let mut out: Vec<ResourceUse> = Vec::new();
    let mut ok = true;
    for item in &raw.uses {
        let span = cx.span(item);
        let pairs: Vec<(String, i64)> = match &item.value {
            RawUse::One(name) => vec![(name.clone(), 1)],
            RawUse::Counted(map) => map.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        };
        for (name, units) in pairs {
            let Some(resource) = header.resource(&name) else {
                ok = false;
                if header.broken_resources.contains(&name) {
                    continue;
                }
                cx.error_help(
                    span,
                    format!(
                        "job `{}` uses resource `{name}`, which is not declared",
                        raw.id.value
                    ),
                    "undeclared resource",
                    did_you_mean(&name, header.resources.iter().map(|r| r.id.as_str())).or_else(
                        || {
                            Some(format!(
                                "declare it under `resources:`, e.g. `- id: {name}`"
                            ))
                        },
                    ),
                );
                continue;
            };
            let capacity = header.resources[resource].capacity;
            if units < 1 {
                cx.error(
                    span,
                    format!("job `{}` takes {units} units of `{name}`", raw.id.value),
                    "at least 1",
                );
                ok = false;
            } else if units > i64::from(capacity) {
                cx.error_help(
                    span,
                    format!(
                        "job `{}` needs {units} units of `{name}`, which has capacity {capacity}",
                        raw.id.value
                    ),
                    "more than exists",
                    Some("the job could never start; lower the units or raise the resource's capacity".into()),
                );
                ok = false;
            } else if out.iter().any(|u| u.resource == resource) {
                cx.error(
                    span,
                    format!("job `{}` lists resource `{name}` twice", raw.id.value),
                    "repeated",
                );
                ok = false;
            } else {
                out.push(ResourceUse {
                    resource,
                    units: u32::try_from(units).unwrap_or(1),
                });
            }
        }
    }
    ok.then_some(out)
}

fn resolve_dependencies(cx: &mut Ctx<'_>, raw: &RawJob, template: usize, out: &mut CompiledJobs) {
    let instances = out.templates[template].instances.clone();
    let per_stream = out.templates[template].per_stream;
    for name in &raw.after {
        let span = cx.span(name);
        for &job in &instances {
            let resolved = out.index.resolve_after(
                &out.templates,
                &out.jobs,
                &out.jobs[job],
                per_stream,
                &name.value,
            );
            match resolved {
                Ok(deps) => add_edges(cx, out, job, deps, span, name),
                Err(RefError::Unknown) if out.is_broken(&name.value) => break,
                Err(RefError::Unknown) => {
                    unknown_job(cx, name, &raw.id.value, out);
                    break;
                }
                Err(RefError::NoInstanceForStream { template }) => {
                    let stream = out.jobs[job].id.clone();
                    cx.error_help(
                        span,
                        format!("`{stream}` runs after `{template}`, which does not run for that stream"),
                        "no instance for this stream",
                        Some(format!(
                            "name the instance you mean (e.g. `{template}.A`), all of them (`{template}.*`), or limit `streams:`"
                        )),
                    );
                }
            }
        }
    }
}

fn add_edges(
    cx: &mut Ctx<'_>,
    out: &mut CompiledJobs,
    job: JobIdx,
    deps: Vec<JobIdx>,
    span: Span,
    name: &Located<String>,
) {
    for dep in deps {
        let (dep_day, job_day) = (out.jobs[dep].day, out.jobs[job].day);
        if dep_day > job_day && dep_day != UNKNOWN_DAY {
            cx.error_help(
                span,
                format!(
                    "job `{}` (day {}) runs after `{}`, which is on a later day",
                    out.jobs[job].template,
                    job_day + 1,
                    name.value
                ),
                "waits for a later day",
                Some("a day's work can wait for earlier days only; move one of the jobs".into()),
            );
            return;
        }
        if !out.jobs[job].after.contains(&dep) {
            out.jobs[job].after.push(dep);
            out.edge_spans.insert((dep, job), span);
        }
    }
}

/// A declared resource no job names in `uses` is probably a typo somewhere.
pub(super) fn warn_unused_resources(cx: &mut Ctx<'_>, raw: &RawWorkflow) {
    let named: HashSet<&str> = raw
        .jobs
        .iter()
        .flat_map(|j| j.uses.iter())
        .flat_map(|u| match &u.value {
            RawUse::One(name) => vec![name.as_str()],
            RawUse::Counted(map) => map.keys().map(String::as_str).collect(),
        })
        .collect();
    for r in &raw.resources {
        if !named.contains(r.id.value.as_str()) {
            let span = cx.span(&r.id);
            cx.push(
                Diagnostic::warning(format!(
                    "resource `{}` is declared but no job uses it",
                    r.id.value
                ))
                .at(span)
                .label("unused")
                .help("remove it, or add it to the `uses:` of the jobs that hold it"),
            );
        }
    }
}
