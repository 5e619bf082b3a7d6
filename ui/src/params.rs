//! What a request's path names: a run (`/runs/{run}`), an impact test (`/impact/{test}`),
//! an operator command (`.../jobs/{job}/{action}`); refused with where to find the valid
//! ones. Shared by the pages, the API, the actions, the views and the state's run loader.

use warden_core::sched::{Command, command_name};

use crate::error::ApiError;

pub fn run_id(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{text}` is not a run id (a number; GET /api/runs lists them)"
        ))
    })
}

pub fn impact_id(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{text}` is not an impact test id (a number; GET /api/impact lists them)"
        ))
    })
}

/// The operator commands, in the order the pages offer them.
pub const COMMANDS: [Command; 6] = [
    Command::Hold,
    Command::Release,
    Command::Rerun,
    Command::Skip,
    Command::Kill,
    Command::ForceComplete,
];

pub fn parse_command(name: &str) -> Result<Command, ApiError> {
    COMMANDS
        .iter()
        .copied()
        .find(|&c| command_name(c) == name)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "`{name}` is not an operator action; use one of {}",
                COMMANDS
                    .iter()
                    .map(|&c| command_name(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}
