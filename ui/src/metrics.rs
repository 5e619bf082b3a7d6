//! Prometheus metrics (text exposition format 0.0.4), computed from the store at scrape
//! time: deadline margins and P(miss), job states, queue depth, partition throughput and
//! exception rates; and the server's own live-update clients (connected, cap, refused).
//! Written by hand: a dozen gauges do not need a metrics registry.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use warden_core::sched::JobStatus;

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::format::state_word;
use crate::snapshot::RunSnapshot;
use crate::sse_clients::SseClients;
use crate::state::AppState;
use crate::views::overview::{DeadlineCard, deadline_cards};
use crate::views::partitions::partitions_view;

/// A label value, escaped as the format requires.
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn metrics(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    let snapshots = state.all_runs().await?.shown;
    let mut text = render(&snapshots, state.data_dir.as_deref());
    text.push_str(&render_sse_clients(&state.sse_clients));
    let workers = crate::workers::views(&state.store.list_workers().await?, chrono::Utc::now());
    text.push_str(&crate::workers::render_metrics(&workers));
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The live-update clients: connected now, the cap, and refused since start.
pub fn render_sse_clients(clients: &SseClients) -> String {
    format!(
        "# HELP warden_sse_clients Live-update (server-sent events) clients connected now.\n\
         # TYPE warden_sse_clients gauge\n\
         warden_sse_clients {}\n\
         # HELP warden_sse_clients_max Most live-update clients served at once (--max-sse-clients).\n\
         # TYPE warden_sse_clients_max gauge\n\
         warden_sse_clients_max {}\n\
         # HELP warden_sse_clients_rejected_total Live-update clients answered 503 at the cap since the server started.\n\
         # TYPE warden_sse_clients_rejected_total counter\n\
         warden_sse_clients_rejected_total {}\n",
        clients.current(),
        clients.cap(),
        clients.rejected()
    )
}

/// The exposition text for these runs.
pub fn render(snapshots: &[RunSnapshot], data_dir: Option<&std::path::Path>) -> String {
    let mut out = String::new();
    // Each run's deadline cards, built once for the three deadline families.
    let cards: Vec<Vec<DeadlineCard>> = snapshots.iter().map(deadline_cards).collect();
    let head = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    head(
        &mut out,
        "warden_deadline_margin_seconds",
        "Projected margin to the deadline (negative: projected miss).",
    );
    for (s, run_cards) in snapshots.iter().zip(&cards) {
        for d in run_cards {
            let _ = writeln!(
                out,
                "warden_deadline_margin_seconds{{cycle=\"{}\",date=\"{}\",deadline=\"{}\"}} {}",
                label(&s.run.cycle),
                label(&s.run.business_date),
                label(&d.id),
                d.margin_seconds
            );
        }
    }
    head(
        &mut out,
        "warden_deadline_state",
        "1 for the deadline's current state (ok, warning, escalated, breach_projected, breached, met).",
    );
    for (s, run_cards) in snapshots.iter().zip(&cards) {
        for d in run_cards {
            let _ = writeln!(
                out,
                "warden_deadline_state{{cycle=\"{}\",date=\"{}\",deadline=\"{}\",state=\"{}\"}} 1",
                label(&s.run.cycle),
                label(&s.run.business_date),
                label(&d.id),
                label(&d.state)
            );
        }
    }
    head(
        &mut out,
        "warden_deadline_miss_probability",
        "Monte Carlo probability of missing the deadline.",
    );
    for (s, run_cards) in snapshots.iter().zip(&cards) {
        for d in run_cards {
            if let Some(p) = d.p_miss {
                let _ = writeln!(
                    out,
                    "warden_deadline_miss_probability{{cycle=\"{}\",date=\"{}\",deadline=\"{}\"}} {p}",
                    label(&s.run.cycle),
                    label(&s.run.business_date),
                    label(&d.id)
                );
            }
        }
    }
    head(&mut out, "warden_jobs", "Jobs by state.");
    for s in snapshots {
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for st in s.machine.statuses() {
            *counts.entry(state_word(*st)).or_default() += 1;
        }
        for (state, n) in counts {
            let _ = writeln!(
                out,
                "warden_jobs{{cycle=\"{}\",date=\"{}\",state=\"{state}\"}} {n}",
                label(&s.run.cycle),
                label(&s.run.business_date)
            );
        }
    }
    head(
        &mut out,
        "warden_queue_depth",
        "Jobs dispatched and waiting for a worker.",
    );
    for s in snapshots {
        let queued = s
            .machine
            .statuses()
            .iter()
            .filter(|x| matches!(x, JobStatus::Dispatched { .. }))
            .count();
        let _ = writeln!(
            out,
            "warden_queue_depth{{cycle=\"{}\",date=\"{}\"}} {queued}",
            label(&s.run.cycle),
            label(&s.run.business_date)
        );
    }
    head(
        &mut out,
        "warden_partition_claims_per_second",
        "Adjudication partition throughput.",
    );
    let mut rates = String::new();
    for s in snapshots {
        for g in partitions_view(s, data_dir).groups {
            for p in g.partitions {
                let labels = format!(
                    "cycle=\"{}\",date=\"{}\",job=\"{}\"",
                    label(&s.run.cycle),
                    label(&s.run.business_date),
                    label(&p.job)
                );
                if let Some(r) = p.claims_per_second {
                    let _ = writeln!(out, "warden_partition_claims_per_second{{{labels}}} {r}");
                }
                if let Some(r) = p.exception_rate {
                    let _ = writeln!(
                        rates,
                        "warden_partition_exception_rate{{{labels}}} {}",
                        r / 100.0
                    );
                }
            }
        }
    }
    head(
        &mut out,
        "warden_partition_exception_rate",
        "Share of adjudicated claims that were exceptions.",
    );
    out.push_str(&rates);
    out
}
