//! Phase one's type errors in the architect's words: which key, what it must be, and what
//! was written instead (`` `priority` must be a whole number, found `high` ``).
//!
//! serde reports a wrong type at the offending value but does not say which key it belongs
//! to, so the key is read back from the text around the value: the `key:` just before it,
//! or, for a value that starts its own line or is an entry of a list, the key that owns the
//! block or list. Nothing here can panic on any text.

use serde_saphyr::Error as YamlError;

/// What serde expected where it found something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    List,
    Map,
    Text,
    Whole,
    Number,
    Bool,
    /// One of the raw types' untagged enums (named by its Rust type).
    Untagged(&'static str),
}

/// The key a value belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyContext {
    key: String,
    /// Written at the top level of the file (column 1, not in a list).
    top_level: bool,
    /// The value is one entry of the list under `key`, not the whole value.
    entry: bool,
}

/// A message (and help) for a wrong-type error, or `None` when `error` is not one.
pub(super) fn describe(
    error: &YamlError,
    message: &str,
    text: &str,
    offset: Option<usize>,
) -> Option<(String, String)> {
    let want = classify(error, message)?;
    let context = offset
        .and_then(|o| key_context(text, o))
        .or_else(|| untagged_key(want));
    let found = offset
        .and_then(|o| found_at(text, o))
        .unwrap_or_else(|| "something else".to_string());
    let Some(context) = context else {
        let (phrase, _) = generic(want);
        return Some((
            format!("expected {phrase}, found {found}"),
            "docs/workflow-language.md describes every key and what it takes".to_string(),
        ));
    };
    let (phrase, example) = expectation(&context, want);
    let subject = if context.entry {
        format!("each entry of `{}`", context.key)
    } else {
        format!("`{}`", context.key)
    };
    let help = match example {
        Some(example) if example.starts_with("- ") => {
            format!("write each entry as `{example}`")
        }
        Some(example) => format!("for example `{example}`"),
        None => format!(
            "docs/workflow-language.md describes `{}` and what it takes",
            context.key
        ),
    };
    Some((format!("{subject} must be {phrase}, found {found}"), help))
}

fn classify(error: &YamlError, message: &str) -> Option<Want> {
    match error {
        YamlError::InvalidScalar { ty, .. } => Some(match *ty {
            "floating point" | "f32" | "f64" => Want::Number,
            "boolean" | "bool" => Want::Bool,
            "char" | "string" | "str" => Want::Text,
            _ => Want::Whole,
        }),
        YamlError::InvalidBooleanStrict { .. } => Some(Want::Bool),
        YamlError::NullIntoString { .. } => Some(Want::Text),
        YamlError::Unexpected { expected, .. } => match *expected {
            "sequence start" => Some(Want::List),
            "mapping start" | "empty mapping start" => Some(Want::Map),
            "string scalar" | "str expected" | "missing string" | "scalar" => Some(Want::Text),
            "bool expected" | "missing bool" => Some(Want::Bool),
            "ptr expects number" | "missing numeric ptr" => Some(Want::Number),
            "ptr expects unsigned integer" => Some(Want::Whole),
            _ => None,
        },
        YamlError::SerdeInvalidType { expected, .. }
        | YamlError::SerdeInvalidValue { expected, .. } => Some(from_expected(expected)),
        _ => {
            let name = message.strip_prefix("data did not match any variant of untagged enum ")?;
            Some(Want::Untagged(match name.trim() {
                "RawStreams" => "RawStreams",
                "RawEstimate" => "RawEstimate",
                "RawUse" => "RawUse",
                _ => "Scalar",
            }))
        }
    }
}

/// serde's "expected ..." text for a visitor (`a sequence`, `i64`, `a boolean`, ...).
fn from_expected(expected: &str) -> Want {
    let e = expected.to_ascii_lowercase();
    if e.contains("sequence") {
        Want::List
    } else if e.contains("map") || e.contains("struct") {
        Want::Map
    } else if e.contains("bool") {
        Want::Bool
    } else if e.contains("f64") || e.contains("f32") || e.contains("float") {
        Want::Number
    } else if e.contains("i64") || e.contains("u32") || e.contains("integer") {
        Want::Whole
    } else {
        Want::Text
    }
}

/// Without a readable key, an untagged enum's name still says which key it was.
fn untagged_key(want: Want) -> Option<KeyContext> {
    let (key, entry) = match want {
        Want::Untagged("RawStreams") => ("streams", false),
        Want::Untagged("RawEstimate") => ("estimate", false),
        Want::Untagged("RawUse") => ("uses", true),
        _ => return None,
    };
    Some(KeyContext {
        key: key.to_string(),
        top_level: false,
        entry,
    })
}

fn generic(want: Want) -> (&'static str, Option<&'static str>) {
    match want {
        Want::List => ("a list", Some("[a, b]")),
        Want::Map => ("a map of `key: value` entries", None),
        Want::Text => ("a single value, not a list or a map", None),
        Want::Whole => ("a whole number", None),
        Want::Number => ("a number", None),
        Want::Bool => ("`true` or `false`", None),
        Want::Untagged(_) => ("a number or some text", None),
    }
}

/// What `context` must be, and an example, in the words of docs/workflow-language.md.
fn expectation(context: &KeyContext, want: Want) -> (String, Option<&'static str>) {
    let specific: Option<(&str, Option<&str>)> = match (context.key.as_str(), context.entry) {
        ("jobs", false) => Some((
            "a list of jobs (`- id: EXTRACT ...`)",
            Some("- { id: EXTRACT, builtin: sleep, estimate: 95m }"),
        )),
        ("jobs", true) => Some((
            "a job: `id:` and its other keys",
            Some("- { id: EXTRACT, estimate: 95m }"),
        )),
        ("streams", false) if context.top_level => Some((
            "a list of streams (`- id: A ...`)",
            Some("- { id: A, volume: 22M }"),
        )),
        ("streams", true) if context.top_level => Some((
            "a stream: `id:`, `volume:` and optional `name:` and `not_before:`",
            Some("- { id: A, volume: 22M }"),
        )),
        ("streams", _) => Some(("`all` or a list of stream ids", Some("streams: [A, B]"))),
        ("days", false) => Some((
            "a list of days (`- id: d1 ...`)",
            Some("- { id: d1, window: { opens: \"20:00\", closes: \"06:00\" } }"),
        )),
        ("days", true) => Some((
            "a day: `id:` and `window:`",
            Some("- { id: d1, window: { opens: \"20:00\", closes: \"06:00\" } }"),
        )),
        ("resources", false) => Some((
            "a list of resources (`- id: fee-tables ...`)",
            Some("- { id: db2-threads, capacity: 10 }"),
        )),
        ("resources", true) => Some((
            "a resource: `id:` and optional `capacity:`",
            Some("- { id: db2-threads, capacity: 10 }"),
        )),
        ("roles", _) => Some((
            "a list of roles (`- id: on-call`)",
            Some("- { id: on-call }"),
        )),
        ("milestones", _) => Some((
            "a list of milestones (`- id: ... covers: [...]`)",
            Some("- { id: day1-complete, covers: [d1] }"),
        )),
        ("deadlines", _) => Some((
            "a list of deadlines (`- id: ... at: ... covers: [...]`)",
            None,
        )),
        ("escalation", _) => Some((
            "a list of steps, each with one condition and `notify:`",
            Some("- { margin_below: 6h, notify: [on-call] }"),
        )),
        ("after", false) => Some(("a list of job names", Some("after: [CLAIM-SORT]"))),
        ("after", true) => Some(("a job name", Some("after: [CLAIM-SORT, REPRICE-01?]"))),
        ("covers", true) => Some((
            "the name of a job, day or milestone",
            Some("covers: [CMS-835, CMS-837]"),
        )),
        ("notify", true) => Some(("a role id", Some("notify: [on-call]"))),
        ("covers", false) => Some((
            "a list of jobs, days or milestones",
            Some("covers: [CMS-835, CMS-837]"),
        )),
        ("notify", false) => Some(("a list of role ids", Some("notify: [on-call]"))),
        ("uses", false) => Some((
            "a list of resources, each a name or `{ name: units }`",
            Some("uses: [fee-tables, { db2-threads: 2 }]"),
        )),
        ("uses", true) => Some((
            "a resource name or `{ name: units }` with a whole number of units",
            Some("uses: [fee-tables, { db2-threads: 2 }]"),
        )),
        ("estimate", _) => Some((
            "a duration, a list of durations (one per partition) or a map of stream to duration",
            Some("estimate: { A: 110m, B: 90m, default: 30m }"),
        )),
        ("timeout" | "retry_backoff", _) => Some((
            "a duration such as `95m`, `1h30m` or `45s`",
            Some("timeout: 4h"),
        )),
        ("margin_below", _) => Some((
            "a duration (`6h`) or a share of the planned margin (`25%`)",
            Some("margin_below: 6h"),
        )),
        ("renotify", _) => Some((
            "a duration such as `45m`, or `never`",
            Some("renotify: 45m"),
        )),
        ("volume", _) => Some((
            "a number of claims such as `22M`, `500K` or `1800000`",
            Some("volume: 22M"),
        )),
        ("priority", _) => Some(("a whole number (higher starts first)", Some("priority: 10"))),
        ("retries", _) => Some(("a whole number from 0 to 100", Some("retries: 2"))),
        ("partitions", _) => Some(("a whole number from 1 to 256", Some("partitions: 6"))),
        ("capacity", _) => Some(("a whole number of at least 1", Some("capacity: 10"))),
        ("start_day", _) => Some(("a day of the month, 1 to 31", Some("start_day: 28"))),
        ("nights", _) => Some(("a whole number of nights", Some("nights: 3"))),
        ("elasticity", _) => Some(("a number from 0 to 4", Some("elasticity: 1.2"))),
        ("p_miss_above", _) => Some(("a probability from 0 to 1", Some("p_miss_above: 0.2"))),
        ("projected_miss", _) => Some(("`true` or `false`", Some("projected_miss: true"))),
        ("business_days_only", _) => Some(("`true` or `false`", Some("business_days_only: true"))),
        ("id", false) => Some((
            "a single id (letters, digits, `_` and `-`)",
            Some("id: CLAIM-EXTRACT"),
        )),
        ("name" | "description" | "penalty", false) => Some(("text", None)),
        ("window", _) => Some((
            "`opens` and `closes` times",
            Some("window: { opens: \"20:00\", closes: \"06:00\" }"),
        )),
        ("not_before", _) if want == Want::Map => Some((
            "a map of day to time of day",
            Some("not_before: { d1: \"21:30\" }"),
        )),
        ("not_before", _) => Some(("a time of day, `HH:MM`", Some("not_before: \"21:30\""))),
        ("schedule", _) => Some((
            "`cron:` or `month_end:`",
            Some("schedule: { cron: \"0 23 * * 1-5\" }"),
        )),
        ("month_end", _) => Some((
            "`start_day:`, `nights:` and optional `when_not_business_day:` and `spacing:`",
            Some("month_end: { start_day: 28, nights: 3 }"),
        )),
        ("defaults", _) => Some((
            "a map of job attributes",
            Some("defaults: { builtin: sleep, retries: 2 }"),
        )),
        _ => None,
    };
    match specific {
        Some((phrase, example)) => (phrase.to_string(), example),
        None => {
            let (phrase, example) = generic(want);
            (phrase.to_string(), example)
        }
    }
}

/// The key the value at byte `offset` belongs to.
fn key_context(text: &str, offset: usize) -> Option<KeyContext> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let prefix = &before[line_start..];
    let trimmed = prefix.trim_end_matches([' ', '\t']);
    if let Some(rest) = trimmed.strip_suffix(':') {
        let key = last_token(rest)?;
        return Some(KeyContext {
            top_level: rest.len() == key.len(),
            key: unquote(key),
            entry: false,
        });
    }
    if trimmed.ends_with('[') || trimmed.ends_with(',') {
        return flow_list_owner(before);
    }
    if trimmed.trim_start().is_empty() || trimmed.trim_start() == "-" {
        // A block node: the value starts its own line, or is a `- ` entry of a block list.
        let dash = trimmed.trim_start() == "-";
        let indent = prefix.len() - prefix.trim_start_matches([' ', '\t']).len();
        let starts_list = dash || text.get(offset..).is_some_and(|t| t.starts_with("- "));
        let (key, owner_indent, owner_is_item) =
            block_owner(&text[..line_start], indent, dash || starts_list)?;
        return Some(KeyContext {
            key,
            top_level: owner_indent == 0 && !owner_is_item,
            entry: dash,
        });
    }
    None
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '{' | '[' | ',' | '-')
}

/// The token at the end of `s` (a key just before its `:`).
fn last_token(s: &str) -> Option<&str> {
    let start = s.rfind(is_separator).map_or(0, |i| i + 1);
    let token = s.get(start..)?;
    (!token.is_empty()).then_some(token)
}

fn unquote(key: &str) -> String {
    key.trim_matches(['"', '\'']).to_string()
}

/// The key of the flow list (`key: [a, b, <here>`) an entry belongs to.
fn flow_list_owner(before: &str) -> Option<KeyContext> {
    let mut depth = 0usize;
    for (i, c) in before.char_indices().rev() {
        match c {
            ']' | '}' => depth += 1,
            '[' | '{' if depth > 0 => depth -= 1,
            '[' => {
                let rest = before.get(..i)?.trim_end_matches([' ', '\t']);
                let rest = rest.strip_suffix(':')?;
                let key = last_token(rest)?;
                let line_start = rest.rfind('\n').map_or(0, |j| j + 1);
                let key_start = rest.len() - key.len();
                return Some(KeyContext {
                    key: unquote(key),
                    top_level: key_start == line_start,
                    entry: true,
                });
            }
            '{' => return None,
            _ => {}
        }
    }
    None
}

/// The `key:` line owning a block node indented by `indent`, searching the lines in
/// `above` from the bottom: (key, its indent, whether it is written as a `- key:` item).
fn block_owner(above: &str, indent: usize, is_list: bool) -> Option<(String, usize, bool)> {
    for line in above.lines().rev() {
        let content = line.trim_start_matches([' ', '\t']);
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let line_indent = line.len() - content.len();
        // An indentless list (`key:` then `- a` at the same column) is owned by that key.
        let owns =
            line_indent < indent || (is_list && line_indent == indent && !content.starts_with('-'));
        if !owns {
            continue;
        }
        let body = content.split(" #").next().unwrap_or(content).trim_end();
        let (is_item, body) = match body.strip_prefix("- ") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, body),
        };
        let key = body.strip_suffix(':')?;
        if key.is_empty() || key.contains([' ', ':', '{', '[']) {
            return None;
        }
        return Some((unquote(key), line_indent, is_item));
    }
    None
}

/// What the text at byte `offset` is, for "found ...": a short scalar or flow collection
/// quoted as written, else "a list", "a map" or "nothing".
fn found_at(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let line = rest.split('\n').next().unwrap_or("").trim_end_matches('\r');
    let before = text.get(..offset)?;
    let prefix = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let block_start = prefix.trim_start_matches([' ', '\t', '-']).is_empty();
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return Some("nothing".to_string());
    }
    let first = line.chars().next()?;
    if first == '[' || first == '{' {
        let literal = flow_literal(line);
        return Some(match literal {
            Some(l) if l.chars().count() <= 40 => format!("`{l}`"),
            _ if first == '[' => "a list".to_string(),
            _ => "a map".to_string(),
        });
    }
    if block_start && (line.starts_with("- ") || line == "-") {
        return Some("a list".to_string());
    }
    let in_flow = open_brackets(prefix) > 0;
    let scalar = scalar_token(line, in_flow);
    if block_start && !in_flow && is_block_key(line, &scalar) {
        return Some("a map".to_string());
    }
    let shown: String = scalar.chars().take(40).collect();
    if shown.is_empty() {
        return Some("nothing".to_string());
    }
    let ellipsis = if scalar.chars().count() > 40 {
        "…"
    } else {
        ""
    };
    Some(format!("`{shown}{ellipsis}`"))
}

/// `[a, b]` or `{ a: 1 }` at the start of `line`, up to its matching close on that line.
fn flow_literal(line: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (i, c) in line.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return line.get(..=i);
                }
            }
            _ => {}
        }
    }
    None
}

/// How many `[`/`{` are still open in `prefix` (ignoring quoted text roughly).
fn open_brackets(prefix: &str) -> usize {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in prefix.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// The scalar at the start of `line`: quoted as a whole, else up to a comment (and, inside
/// a flow collection, up to `,`, `]` or `}`).
fn scalar_token(line: &str, in_flow: bool) -> String {
    let mut chars = line.char_indices();
    if let Some((_, q @ ('"' | '\''))) = chars.next() {
        let end = line[1..].find(q).map_or(line.len(), |i| i + 2);
        return line.get(..end).unwrap_or(line).to_string();
    }
    let mut end = line.len();
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        if (c == '#' && previous.is_whitespace()) || (in_flow && matches!(c, ',' | ']' | '}')) {
            end = i;
            break;
        }
        previous = c;
    }
    line.get(..end).unwrap_or(line).trim().to_string()
}

/// Whether a line starting a block node is a `key: value` (so the node is a map).
fn is_block_key(line: &str, scalar: &str) -> bool {
    let body = line.split(" #").next().unwrap_or(line);
    body.contains(": ") || body.trim_end().ends_with(':') || scalar.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, needle: &str) -> usize {
        text.find(needle).unwrap_or(usize::MAX)
    }

    #[test]
    fn keys_are_found_before_values_in_block_and_flow_style() {
        let text = "jobs:\n  - id: A\n    priority: high\n  - { id: B, retries: 1.5 }\n";
        let ctx = key_context(text, at(text, "high")).expect("a key");
        assert_eq!(
            (ctx.key.as_str(), ctx.top_level, ctx.entry),
            ("priority", false, false)
        );
        let ctx = key_context(text, at(text, "1.5")).expect("a key");
        assert_eq!(ctx.key, "retries");
        assert_eq!(found_at(text, at(text, "1.5")).as_deref(), Some("`1.5`"));
    }

    #[test]
    fn block_nodes_belong_to_the_key_above() {
        let text = "cycle: x\njobs:\n  A: { builtin: sleep }\n";
        let ctx = key_context(text, at(text, "A:")).expect("a key");
        assert_eq!(
            (ctx.key.as_str(), ctx.top_level, ctx.entry),
            ("jobs", true, false)
        );
        assert_eq!(found_at(text, at(text, "A:")).as_deref(), Some("a map"));
        let text = "jobs:\n  - A\n";
        let ctx = key_context(text, at(text, "A")).expect("a key");
        assert_eq!((ctx.key.as_str(), ctx.entry), ("jobs", true));
    }

    #[test]
    fn flow_list_entries_belong_to_the_list_key() {
        let text = "jobs:\n  - { id: A, uses: [ x, {a: y} ] }\n";
        let ctx = key_context(text, at(text, "{a")).expect("a key");
        assert_eq!((ctx.key.as_str(), ctx.entry), ("uses", true));
        assert_eq!(found_at(text, at(text, "{a")).as_deref(), Some("`{a: y}`"));
    }

    #[test]
    fn never_panics_on_odd_offsets() {
        let text = "é: [\n- ";
        for offset in 0..=text.len() + 2 {
            let _ = key_context(text, offset);
            let _ = found_at(text, offset);
        }
    }
}
