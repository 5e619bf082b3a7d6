//! `warden impact show ID` (the stored report, text or JSON, with its approval) and
//! `warden impact approve ID --as NAME --note ...` (an architect's approval of a `review`).
//!
//! An approval is a compliance record, so the approver proves who they are the way the web
//! UI's users do: the auth file (`--auth`, or `WARDEN_AUTH`) names the users and their roles,
//! and `WARDEN_TOKEN` holds the approver's own token (in the environment, not on the command
//! line, where it would stay in the shell's history). The token's user must be NAME and hold
//! the `architect` role: an operator cannot approve.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use warden_deadlines::impact_report::{ImpactReport, render_text};
use warden_store::{ApproveOutcome, ImpactApproval, ImpactTestRecord};
use warden_ui::auth::{AuthConfig, Role};

use super::super::open_run::{open_existing_store, store_failed};
use super::super::validate::Format;
use super::super::{CliError, CliResult, runtime};

/// The environment variable holding the approver's token.
pub const TOKEN_ENV: &str = "WARDEN_TOKEN";

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The test's id (`warden impact run` prints it).
    pub id: i64,
    /// The store: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// `text` for people, `json` for tools (the report and its approval).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The test's id.
    pub id: i64,
    /// Who approves: a user of the auth file with the architect role, whose token is in
    /// WARDEN_TOKEN.
    #[arg(long = "as", value_name = "NAME")]
    pub name: String,
    /// What the review found and why the volume may go live (kept with the approval).
    #[arg(long)]
    pub note: String,
    /// The auth file (the same as `warden serve --auth`).
    #[arg(long, env = "WARDEN_AUTH", value_name = "FILE")]
    pub auth: Option<PathBuf>,
    /// The store: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

/// The stored test: exit 2 if there is none, 3 if the store is not usable.
fn load(db: &str, id: i64) -> CliResult<ImpactTestRecord> {
    runtime::block_on(async { open_existing_store(db).await?.impact_test(id).await })?
        .map_err(store_failed(db))?
        .ok_or_else(|| {
            CliError::usage(format!(
                "no impact test #{id} in {}; `warden impact run` makes one",
                warden_store::redact_url(db)
            ))
        })
}

/// The stored report, its id set.
pub fn report_of(t: &ImpactTestRecord) -> Result<ImpactReport, String> {
    let mut r: ImpactReport = serde_json::from_str(&t.report).map_err(|e| {
        format!(
            "impact test #{}: its stored report does not read ({e}); it was written by another version of warden",
            t.id
        )
    })?;
    r.id = Some(t.id);
    Ok(r)
}

pub(super) fn show(args: &ShowArgs, out: &mut dyn Write) -> CliResult {
    let t = load(&args.db, args.id)?;
    let report = report_of(&t).map_err(CliError::unavailable)?;
    match args.format {
        Format::Json => {
            let value = serde_json::json!({ "report": report, "approval": t.approval });
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&value).map_err(std::io::Error::other)?
            )?;
        }
        Format::Text => {
            write!(out, "{}", render_text(&report))?;
            match &t.approval {
                Some(a) => writeln!(
                    out,
                    "\nApproved by {} ({}) at {}: {}",
                    a.approver,
                    a.role,
                    a.at.format("%Y-%m-%d %H:%M UTC"),
                    a.note
                )?,
                None if t.verdict == "review" => writeln!(
                    out,
                    "\nNot approved: an architect approves it with `warden impact approve {} --as NAME --note \"...\"`",
                    t.id
                )?,
                None => {}
            }
        }
    }
    Ok(())
}

/// Checks that the token in the environment is `name`'s and that `name` is an architect.
fn approver(args: &ApproveArgs) -> Result<(), String> {
    let Some(path) = &args.auth else {
        return Err("an approval needs the auth file that names the architects: give --auth FILE (or WARDEN_AUTH)".into());
    };
    let auth = AuthConfig::load(path)?;
    let token = std::env::var(TOKEN_ENV).unwrap_or_default();
    if token.trim().is_empty() {
        return Err(format!(
            "{TOKEN_ENV} is not set: an approver proves who they are with their own token (`warden token --name {} --role architect` makes one)",
            args.name
        ));
    }
    let Some(user) = auth.user_for(&token) else {
        return Err(format!(
            "{TOKEN_ENV} is no user's token in {}",
            path.display()
        ));
    };
    if user.name != args.name {
        return Err(format!(
            "{TOKEN_ENV} is {}'s token, not {}'s: approve as yourself",
            user.name, args.name
        ));
    }
    if !user.roles.contains(&Role::Architect) {
        let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
        return Err(format!(
            "{} has the role(s) {}: approving a batch impact test needs the architect role",
            user.name,
            roles.join(", ")
        ));
    }
    Ok(())
}

pub(super) fn approve(args: &ApproveArgs, out: &mut dyn Write) -> CliResult {
    if args.note.trim().is_empty() {
        return Err(CliError::usage(
            "--note is empty: say what the review found",
        ));
    }
    approver(args).map_err(CliError::usage)?;
    let approval = ImpactApproval {
        approver: args.name.clone(),
        role: Role::Architect.as_str().to_string(),
        note: args.note.clone(),
        at: chrono::Utc::now(),
    };
    let outcome = runtime::block_on(async {
        open_existing_store(&args.db)
            .await?
            .approve_impact_test(args.id, &approval)
            .await
    })?;
    let message = match outcome {
        Ok(ApproveOutcome::Approved) => {
            writeln!(
                out,
                "impact test #{} approved by {} (architect): a run carrying its volume may start",
                args.id, args.name
            )?;
            return Ok(());
        }
        Ok(ApproveOutcome::NoSuchTest) => format!("no impact test #{}", args.id),
        Ok(ApproveOutcome::NotReview { verdict }) => format!(
            "impact test #{} came back {verdict}: only a `review` is approved ({})",
            args.id,
            if verdict == "pass" {
                "a pass needs no approval"
            } else {
                "a fail cannot be approved: change the cycle and test again"
            }
        ),
        Ok(ApproveOutcome::AlreadyApproved { by, at }) => {
            format!(
                "impact test #{} was approved already, by {by} at {at}",
                args.id
            )
        }
        Err(e) => return Err(store_failed(&args.db)(e)),
    };
    Err(CliError::usage(message))
}
