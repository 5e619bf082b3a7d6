//! `warden alerts FILE --date D`: a run's alerts, their deliveries (status, attempts, last
//! error; dead letters included) and acknowledgements. `warden ack ALERT --as NAME --note
//! TEXT`: records who acknowledged an alert, when, and what they said; once (an alert
//! acknowledged before says by whom and when, stores nothing, and exits 0).

use std::io::Write;

use clap::{Args, ValueEnum};
use serde_json::json;
use warden_store::{AlertRecord, redact_url};

use super::cycle_args::CycleArgs;
use super::open_run::{open_existing_store, open_run, store_failed};
use super::{CliError, CliResult, runtime};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlertsFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The store: a SQLite file, or a postgres:// URL (as given to `warden run`).
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// `table` for people, `json` for scripts (every field, dead letters included).
    #[arg(long, value_enum, default_value = "table")]
    pub format: AlertsFormat,
}

#[derive(Debug, Args)]
pub struct AckArgs {
    /// The alert's id (as `warden alerts` shows it).
    pub alert: String,
    /// Who acknowledges.
    #[arg(long = "as", value_name = "NAME")]
    pub actor: String,
    /// What they say (kept with the acknowledgement).
    #[arg(long)]
    pub note: Option<String>,
    /// The store: a SQLite file, or a postgres:// URL (as given to `warden run`).
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

pub(super) fn alerts(args: &AlertsArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = args.cycle.load(err)?;
    let plan = loaded.plan;
    let (run, alerts) = runtime::block_on(async {
        let (store, run) = open_run(&args.db, &plan).await?;
        let alerts = store
            .run_alerts(run.id)
            .await
            .map_err(store_failed(&args.db))?;
        Ok::<_, CliError>((run, alerts))
    })??;
    let tz = plan.timezone;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    match args.format {
        AlertsFormat::Json => {
            let list: Vec<serde_json::Value> = alerts.iter().map(alert_json).collect();
            let doc = json!({
                "run_id": run.id,
                "cycle": run.cycle,
                "business_date": run.business_date,
                "alerts": list,
            });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )?;
        }
        AlertsFormat::Table => {
            writeln!(
                out,
                "run {}: {} for {} · {}",
                run.id,
                run.cycle,
                run.business_date,
                super::count(alerts.len(), "alert")
            )?;
            write_table(&alerts, &when, out)?;
        }
    }
    Ok(())
}

/// The alerts as a table: each alert's line, then its deliveries and acknowledgements,
/// every column as wide as its widest cell over all alerts so that they line up.
fn write_table(
    alerts: &[AlertRecord],
    when: &dyn Fn(chrono::DateTime<chrono::Utc>) -> String,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let heads: Vec<[String; 6]> = alerts
        .iter()
        .map(|a| {
            [
                format!("alert {}", a.id),
                a.deadline_id.clone(),
                a.level.clone(),
                format!("raised {}", when(a.raised_at)),
                // A deadline's alert has a margin; an exception-rate warning has none.
                a.view["margin_text"]
                    .as_str()
                    .map(|m| format!("margin {m}"))
                    .unwrap_or_default(),
                format!("({})", a.view["trigger"].as_str().unwrap_or("?")),
            ]
        })
        .collect();
    let deliveries: Vec<Vec<[String; 4]>> = alerts
        .iter()
        .map(|a| {
            a.deliveries
                .iter()
                .map(|d| {
                    let state = match d.status.as_str() {
                        "delivered" => {
                            format!("delivered {}", d.delivered_at.map(when).unwrap_or_default())
                        }
                        "pending" if d.attempts > 0 => {
                            format!("pending, next attempt {}", when(d.next_attempt_at))
                        }
                        "dead" => "DEAD LETTER".to_string(),
                        other => other.to_string(),
                    };
                    [
                        format!("-> {}", d.role),
                        d.channel.clone(),
                        state,
                        format!(
                            "({})",
                            super::count(usize::try_from(d.attempts).unwrap_or(0), "attempt")
                        ),
                    ]
                })
                .collect()
        })
        .collect();
    let head_widths = widths(heads.iter());
    let delivery_widths = widths(deliveries.iter().flatten());
    for ((a, head), rows) in alerts.iter().zip(&heads).zip(&deliveries) {
        writeln!(out, "\n{}", aligned(head, &head_widths).trim_end())?;
        writeln!(
            out,
            "  template {}  roles {}",
            a.template.as_deref().unwrap_or("(default)"),
            a.roles.join(", ")
        )?;
        if rows.is_empty() {
            writeln!(out, "  deliveries: not yet fanned out")?;
        }
        for (row, d) in rows.iter().zip(&a.deliveries) {
            let error = d
                .last_error
                .as_deref()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}{error}",
                aligned(row, &delivery_widths).trim_end()
            )?;
        }
        for k in &a.acks {
            writeln!(
                out,
                "  acknowledged by {} at {}{}",
                k.actor,
                when(k.at),
                k.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

/// The widest cell of each column (in characters: ids and levels may be any text).
fn widths<'a, const N: usize>(rows: impl Iterator<Item = &'a [String; N]>) -> [usize; N] {
    let mut w = [0; N];
    for row in rows {
        for (w, cell) in w.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    w
}

/// The cells padded to their columns' widths, two spaces apart (a column empty in every
/// row takes no room).
fn aligned<const N: usize>(row: &[String; N], widths: &[usize; N]) -> String {
    let cells: Vec<String> = row
        .iter()
        .zip(widths)
        .filter(|(_, w)| **w > 0)
        .map(|(cell, &w)| format!("{cell:<w$}"))
        .collect();
    cells.join("  ")
}

fn alert_json(a: &AlertRecord) -> serde_json::Value {
    json!({
        "id": a.id,
        "deadline": a.deadline_id,
        "level": a.level,
        "idempotency_key": a.idempotency_key,
        "raised_at": a.raised_at,
        "template": a.template,
        "roles": a.roles,
        "view": a.view,
        "deliveries": a.deliveries.iter().map(|d| json!({
            "id": d.id,
            "role": d.role,
            "channel": d.channel,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "last_error": d.last_error,
            "delivered_at": d.delivered_at,
        })).collect::<Vec<_>>(),
        "acks": a.acks.iter().map(|k| json!({
            "actor": k.actor,
            "note": k.note,
            "at": k.at,
        })).collect::<Vec<_>>(),
    })
}

pub(super) fn ack(args: &AckArgs, out: &mut dyn Write) -> CliResult {
    let Some(alert) = args.alert.trim().parse::<i64>().ok().filter(|id| *id > 0) else {
        return Err(CliError::usage(format!(
            "`{}` is not an alert id; `warden alerts FILE --date D` lists them",
            args.alert
        )));
    };
    if args.actor.trim().is_empty() {
        return Err(CliError::usage("--as needs a name: who acknowledges"));
    }
    let result = runtime::block_on(async {
        let store = open_existing_store(&args.db).await?;
        store
            .acknowledge(
                alert,
                args.actor.trim(),
                args.note.as_deref(),
                chrono::Utc::now(),
            )
            .await
    })?;
    match result {
        Ok(Some(ack)) if ack.already_acknowledged => {
            // Idempotent: the acknowledgement that stands is the first; nothing was stored.
            writeln!(
                out,
                "alert {} ({} {}) was already acknowledged by {} at {}{}; nothing stored",
                ack.alert_id,
                ack.deadline_id,
                ack.level,
                ack.actor,
                ack.at.format("%Y-%m-%d %H:%M:%S UTC"),
                ack.note
                    .as_deref()
                    .map(|n| format!(" (\"{n}\")"))
                    .unwrap_or_default()
            )?;
            Ok(())
        }
        Ok(Some(ack)) => {
            writeln!(
                out,
                "alert {} ({} {}) acknowledged by {}",
                ack.alert_id, ack.deadline_id, ack.level, ack.actor
            )?;
            Ok(())
        }
        Ok(None) => Err(CliError::usage(format!(
            "there is no alert {alert} in {}; `warden alerts FILE --date D` lists them",
            redact_url(&args.db)
        ))),
        Err(e) => Err(store_failed(&args.db)(e)),
    }
}
