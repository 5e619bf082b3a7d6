//! The built-ins' settings file (`--settings FILE`, `WARDEN_SETTINGS`): the six settings of
//! [`BuiltinSettings`] in YAML, under the same names in snake_case.
//!
//! ```yaml
//! claims_input: claims        # relative to this file's directory
//! plans: ../workflows/plans
//! partners: ../workflows/partners
//! checkpoint_every: 50000
//! monitor_every: 100000
//! partitions: 6
//! ```
//!
//! Every key is optional; an unknown key is refused with the nearest one. A relative path is
//! relative to the file's directory, not to where the command runs. A count is a whole number,
//! 0 or more (0 is taken as 1, as on the command line). Read with serde-saphyr; a problem is a
//! [`LocatedError`] (`file:line:column: what to write instead`).

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Visitor};
use warden_workers::located::LocatedError;

use super::BuiltinSettings;

/// The file's keys, in the order the docs give them.
const KEYS: [&str; 6] = [
    "claims_input",
    "plans",
    "partners",
    "checkpoint_every",
    "monitor_every",
    "partitions",
];

/// A count: a YAML whole number, 0 or more.
#[derive(Debug, Clone, Copy)]
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number, 0 or more")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v).map(Count).map_err(|_| refused(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Count, E> {
                Err(refused(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                Err(refused(format!("\"{v}\"")))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Count, E> {
                Err(refused(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn refused<E: de::Error>(v: impl fmt::Display) -> E {
    E::custom(format!(
        "`{v}` is not a count: write a whole number, 0 or more (e.g. 50000), or leave the key out for the default"
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    claims_input: Option<String>,
    plans: Option<String>,
    partners: Option<String>,
    checkpoint_every: Option<Count>,
    monitor_every: Option<Count>,
    partitions: Option<Count>,
}

/// Reads the settings file at `file`: its settings, relative paths resolved against its
/// directory.
pub fn load(file: &Path) -> Result<BuiltinSettings, LocatedError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        LocatedError::whole(
            file,
            format!(
                "cannot read the settings file: {e}; give --settings (or WARDEN_SETTINGS) a readable YAML file, or leave both unset"
            ),
        )
    })?;
    parse(file, &text)
}

/// Parses a settings file's text; `file` names it in errors and anchors relative paths.
pub fn parse(file: &Path, text: &str) -> Result<BuiltinSettings, LocatedError> {
    // A file of comments only sets nothing.
    let blank = text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    });
    let raw: RawSettings = if blank {
        RawSettings::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))?
    };
    let base = file.parent().unwrap_or(Path::new(""));
    let path = |p: Option<String>| p.filter(|p| !p.is_empty()).map(|p| base.join(p));
    // 0 is taken as 1, as `--checkpoint-every 0` is (an unset count is 0 in BuiltinSettings).
    let count = |c: Option<Count>| c.map(|c| c.0.max(1));
    Ok(BuiltinSettings {
        settings: None,
        claims_input: path(raw.claims_input),
        plans: path(raw.plans),
        partners: path(raw.partners),
        checkpoint_every: super::CheckpointEvery {
            checkpoint_every: count(raw.checkpoint_every),
        },
        monitor_every: count(raw.monitor_every),
        partitions: count(raw.partitions),
    })
}

/// serde-saphyr's error, located, with the nearest key for an unknown one and what a settings
/// file holds otherwise.
fn yaml_error(file: &Path, e: &serde_saphyr::Error) -> LocatedError {
    let mut located = LocatedError::from_yaml(file, e, "settings file");
    let keys = KEYS.map(|k| format!("`{k}`")).join(", ");
    if let Some(rest) = located.message.strip_prefix("unknown field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        let field = field.to_string();
        located.message = match warden_core::diagnostics::did_you_mean(&field, KEYS) {
            Some(hint) => format!("unknown key `{field}`; {hint}"),
            None => format!("unknown key `{field}`; a settings file's keys are {keys}"),
        };
    } else if let Some(rest) = located.message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        located.message = format!("`{key}` is given twice; keep one");
    } else if !located.message.contains("is not a count") {
        located.message = format!(
            "{}; a settings file is a mapping of {keys} (docs/adjudication.md)",
            located.message
        );
    }
    located
}
