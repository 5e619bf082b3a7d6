//! A routing rule set: CEL expressions an architect writes as YAML
//! (`workflows/routing/*.yaml`, docs/routing.md), each sending the claims it matches to a
//! stream (line of business) and an adjudication platform; the first rule that matches wins,
//! and a claim no rule matches takes the set's `default`. A set is loaded whole or not at
//! all: every rule compiles, reads only claim fields, stays within the limits, evaluates to a
//! boolean for the probe claims, and the tests file beside it passes. Only then may it serve.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cel::{Env, IdedExpr};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use super::check::{self, Limits};
use super::schema;
use super::tests_file;
use crate::located::LocatedError;
use crate::model::claim::Stream;

/// Where a claim goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub stream: Stream,
    pub platform: Arc<str>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub when: String,
    pub route: Route,
    pub(super) expression: IdedExpr,
}

/// A rule set that passed every check: what the router serves.
pub struct RuleSet {
    pub file: PathBuf,
    /// SHA-256 of the rule file's bytes, lowercase hex: what every decision is audited with.
    pub sha256: String,
    pub platforms: Vec<String>,
    pub rules: Vec<Rule>,
    pub default: Route,
    /// How many test cases passed at load.
    pub tests: usize,
    pub(super) env: Arc<Env>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The CEL environment has no `Debug`; the rest says which set this is.
        f.debug_struct("RuleSet")
            .field("file", &self.file)
            .field("sha256", &self.sha256)
            .field("platforms", &self.platforms)
            .field("rules", &self.rules)
            .field("default", &self.default)
            .field("tests", &self.tests)
            .finish_non_exhaustive()
    }
}

/// The rule id a claim that no rule matches is audited with.
pub const DEFAULT_RULE: &str = "default";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    platforms: Spanned<Vec<Spanned<String>>>,
    rules: Spanned<Vec<Spanned<RawRule>>>,
    default: Spanned<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    when: Spanned<String>,
    route: Spanned<RawRoute>,
    /// What the rule is for, in words (shown with the rule; not evaluated).
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    stream: Spanned<String>,
    platform: Spanned<String>,
}

/// The tests file of the rule set at `rules`: `claims.yaml` → `claims.tests.yaml`.
pub fn tests_path(rules: &Path) -> PathBuf {
    let stem = rules
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    rules.with_file_name(format!("{stem}.tests.yaml"))
}

/// Reads, compiles and checks the rule set at `path` and runs its tests file.
pub fn load(path: &Path) -> Result<RuleSet, LocatedError> {
    let bytes = std::fs::read(path)
        .map_err(|e| LocatedError::whole(path, format!("cannot read the rule set: {e}")))?;
    let tests = tests_path(path);
    let tests_text = std::fs::read_to_string(&tests).map_err(|e| {
        LocatedError::whole(
            &tests,
            format!(
                "cannot read the rule set's tests ({e}): every rule set has a tests file beside \
                 it, with claims and the route each must take"
            ),
        )
    })?;
    load_from(path, &bytes, &tests, &tests_text, &Limits::default())
}

/// [`load`] of texts already read (the API's reload, and the tests).
///
/// Parsing runs on a thread of its own with a large stack: a rule set comes from a file or an
/// API call, and however it is nested it must be refused with a reason, never overflow the
/// stack of the server that serves the old one.
pub fn load_from(
    path: &Path,
    bytes: &[u8],
    tests: &Path,
    tests_text: &str,
    limits: &Limits,
) -> Result<RuleSet, LocatedError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| LocatedError::whole(path, format!("the rule set is not UTF-8: {e}")))?;
    std::thread::scope(|scope| {
        let loading = std::thread::Builder::new()
            .name("rule-set-load".into())
            .stack_size(LOAD_STACK)
            .spawn_scoped(scope, || {
                let mut set = parse(path, text, limits)?;
                set.tests = tests_file::run(&set, tests, tests_text)?;
                Ok(set)
            })
            .map_err(|e| LocatedError::whole(path, format!("cannot start loading: {e}")))?;
        loading.join().unwrap_or_else(|_| {
            Err(LocatedError::whole(
                path,
                "loading the rule set failed inside the CEL parser; the set is refused".into(),
            ))
        })
    })
}

/// The stack of the thread that loads a set (reserved, not touched unless used).
const LOAD_STACK: usize = 256 << 20;

/// Parses and checks one rule set's text (without its tests).
pub fn parse(file: &Path, text: &str, limits: &Limits) -> Result<RuleSet, LocatedError> {
    let raw: RawSet =
        serde_saphyr::from_str(text).map_err(|e| LocatedError::from_yaml(file, &e, "rule set"))?;
    let at = |loc: &Location, message: String| LocatedError::at(file, loc, message);
    let mut platforms: Vec<String> = Vec::new();
    for p in &raw.platforms.value {
        let name = p.value.trim();
        if !is_word(name) {
            return Err(at(
                &p.referenced,
                "a platform is a word such as `core` or `pbm-gateway`".into(),
            ));
        }
        if platforms.iter().any(|q| q == name) {
            return Err(at(
                &p.referenced,
                format!("platform `{name}` is listed twice"),
            ));
        }
        platforms.push(name.to_string());
    }
    if platforms.is_empty() {
        return Err(at(
            &raw.platforms.referenced,
            "list the adjudication platforms routes may name (`platforms: [core]`)".into(),
        ));
    }
    let env = Arc::new(Env::stdlib());
    let default = route(&raw.default.value, &platforms, &at)?;
    let mut rules: Vec<Rule> = Vec::new();
    if raw.rules.value.is_empty() {
        return Err(at(
            &raw.rules.referenced,
            "a rule set has at least one rule (a set that sends everything to `default` \
             needs no routing)"
                .into(),
        ));
    }
    for r in &raw.rules.value {
        let r = &r.value;
        let id = r.id.value.trim().to_string();
        if !is_word(&id) || id == DEFAULT_RULE {
            return Err(at(
                &r.id.referenced,
                format!(
                    "a rule id is a word such as `medicaid-managed-care` (and not \
                     `{DEFAULT_RULE}`, the id of the default route)"
                ),
            ));
        }
        if rules.iter().any(|q| q.id == id) {
            return Err(at(
                &r.id.referenced,
                format!("rule `{id}` is defined twice"),
            ));
        }
        let when = r.when.value.clone();
        let located = |offset: Option<usize>, message: String| {
            let (line, column) = expression_position(text, &r.when.referenced, offset);
            LocatedError {
                file: file.to_path_buf(),
                line,
                column,
                message: format!("rule `{id}`: {message}"),
            }
        };
        let parser = env
            .parser()
            .max_recursion_depth(u16::try_from(limits.max_depth * 2).unwrap_or(u16::MAX));
        let (expression, info) = parser.parse_with_source_info(&when).map_err(|e| {
            let first = e.errors.first();
            let offset = first.map(|p| char_offset(&when, p.pos));
            let msg = first.map_or_else(|| e.to_string(), |p| p.msg.clone());
            located(offset, format!("the expression does not parse: {msg}"))
        })?;
        let offset_of = |node: u64| info.offset_for(node).map(|(start, _)| start as usize);
        check::check(&when, &expression, &offset_of, limits)
            .map_err(|p| located(p.offset, p.message))?;
        let rule = Rule {
            id: id.clone(),
            when,
            route: route(&r.route.value, &platforms, &at)?,
            expression,
        };
        for probe in schema::probes() {
            if let Err(e) = rule.evaluate(&env, &probe.facts()) {
                return Err(located(None, e));
            }
        }
        rules.push(rule);
    }
    Ok(RuleSet {
        file: file.to_path_buf(),
        sha256: hex_sha256(text.as_bytes()),
        platforms,
        rules,
        default,
        tests: 0,
        env,
    })
}

fn route(
    raw: &RawRoute,
    platforms: &[String],
    at: &dyn Fn(&Location, String) -> LocatedError,
) -> Result<Route, LocatedError> {
    let stream = Stream::from_letter(raw.stream.value.trim()).ok_or_else(|| {
        at(
            &raw.stream.referenced,
            format!(
                "`{}` is not a stream: streams are A (commercial), B (Medicare Advantage), C \
                 (Medicaid), D (dental and vision) and E (pharmacy)",
                raw.stream.value
            ),
        )
    })?;
    let platform = raw.platform.value.trim();
    if !platforms.iter().any(|p| p == platform) {
        let names: Vec<&str> = platforms.iter().map(String::as_str).collect();
        let near = crate::intake::nearest(platform, &names);
        return Err(at(
            &raw.platform.referenced,
            format!(
                "`{platform}` is not one of the set's platforms{near}: {} (add it to \
                 `platforms:` if it is new)",
                names.join(", ")
            ),
        ));
    }
    Ok(Route {
        stream,
        platform: Arc::from(platform),
    })
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Lowercase hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The character offset of a parse error's (line, column) in `source` (1-based line,
/// 0-based column as cel reports them).
fn char_offset(source: &str, (line, column): (isize, isize)) -> usize {
    let before: usize = source
        .split_inclusive('\n')
        .take(usize::try_from(line - 1).unwrap_or(0))
        .map(|l| l.chars().count())
        .sum();
    before + usize::try_from(column).unwrap_or(0)
}

/// Where character `offset` of an expression written at `value` (a YAML scalar) is in the
/// file: exact for a plain or quoted scalar on one line; the scalar's own position for a
/// block scalar (`>` or `|`), whose lines YAML folds.
fn expression_position(text: &str, value: &Location, offset: Option<usize>) -> (u64, u64) {
    let (line, column) = (value.line(), value.column());
    let Some(offset) = offset else {
        return (line, column);
    };
    let first = text
        .lines()
        .nth(usize::try_from(line).unwrap_or(1).saturating_sub(1))
        .unwrap_or("")
        .chars()
        .nth(usize::try_from(column).unwrap_or(1).saturating_sub(1));
    match first {
        Some('\'') | Some('"') => (line, column + 1 + offset as u64),
        Some('>') | Some('|') => (line, column),
        _ => (line, column + offset as u64),
    }
}
