//! Alert templates: one handlebars file per template, rendered in strict mode.
//!
//! A template file `NAME.hbs` is a subject line, a blank line, and the body:
//!
//! ```text
//! Subject: [Warden {{headline}}] {{deadline.name}}: {{margin_text}}
//!
//! Body text, with {{deadline.at.text}}, {{#each chain}}...{{/each}} and so on.
//! ```
//!
//! Strict mode: a field the view does not have is an error at render time, naming the file
//! and the line, never an empty string in a letter to a regulator. Output is not
//! HTML-escaped (alerts are plain text; the webhook channel JSON-encodes what it sends).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use handlebars::Handlebars;
use warden_core::workflow::Workflow;

/// The template used when a ladder step names none.
pub const DEFAULT_TEMPLATE: &str = "oncall-page";

/// The templates shipped in `workflows/templates/`, compiled into the binary as the
/// fallback when no template directory is found.
const SHIPPED: [(&str, &str); 5] = [
    (
        "exception-rate",
        include_str!("../../../workflows/templates/exception-rate.hbs"),
    ),
    (
        "volume-gate",
        include_str!("../../../workflows/templates/volume-gate.hbs"),
    ),
    (
        "oncall-page",
        include_str!("../../../workflows/templates/oncall-page.hbs"),
    ),
    (
        "compliance-escalation",
        include_str!("../../../workflows/templates/compliance-escalation.hbs"),
    ),
    (
        "regulatory-notice",
        include_str!("../../../workflows/templates/regulatory-notice.hbs"),
    ),
];

/// A template that could not be read, parsed or rendered: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The file (or `shipped:NAME.hbs` for an embedded copy).
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for TemplateError {}

/// What a template produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedAlert {
    pub template: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
struct Source {
    file: String,
}

/// A set of parsed templates, by name.
#[derive(Debug, Clone)]
pub struct Templates {
    registry: Handlebars<'static>,
    sources: BTreeMap<String, Source>,
}

/// The body starts on the file's third line (subject, blank line, body).
const BODY_LINE_OFFSET: usize = 2;
const SUBJECT_PREFIX: &str = "Subject:";

impl Templates {
    fn empty() -> Templates {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        Templates {
            registry,
            sources: BTreeMap::new(),
        }
    }

    /// The shipped templates, as compiled into the binary.
    pub fn shipped() -> Templates {
        let mut templates = Templates::empty();
        for (name, text) in SHIPPED {
            // The shipped templates are parsed by this crate's tests; a broken one fails
            // them, so this cannot fail in a released binary. Should it, the template is
            // left out and rendering it reports "no template".
            let _ = templates.add(name, &format!("shipped:{name}.hbs"), text);
        }
        templates
    }

    /// Every `*.hbs` file of `dir`, named by its stem (`oncall-page.hbs` is `oncall-page`).
    /// The first file that cannot be read or parsed is the error (files in name order).
    pub fn load_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let here = |message: String| TemplateError {
            file: dir.display().to_string(),
            line: None,
            column: None,
            message,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| {
            here(format!(
                "cannot read the template directory: {e}; give one with --templates"
            ))
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| here(format!("cannot list the template directory: {e}")))?
                .path();
            if path.extension().is_some_and(|x| x == "hbs") {
                files.push(path);
            }
        }
        files.sort();
        let mut templates = Templates::empty();
        for path in files {
            let file = path.display().to_string();
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| TemplateError {
                file: file.clone(),
                line: None,
                column: None,
                message: format!("cannot read the template: {e}"),
            })?;
            templates.add(name, &file, &text)?;
        }
        Ok(templates)
    }

    /// Adds (or replaces) template `name` from `text`; `file` names it in errors.
    pub fn add(&mut self, name: &str, file: &str, text: &str) -> Result<(), TemplateError> {
        let at = |line, column, message: String| TemplateError {
            file: file.to_string(),
            line: Some(line),
            column,
            message,
        };
        let mut lines = text.splitn(3, '\n');
        let first = lines.next().unwrap_or_default().trim_end_matches('\r');
        let Some(subject) = first.strip_prefix(SUBJECT_PREFIX) else {
            return Err(at(
                1,
                Some(1),
                format!(
                    "a template starts with its subject line (`{SUBJECT_PREFIX} ...`), then a \
                     blank line, then the body; found `{}`",
                    first.chars().take(40).collect::<String>()
                ),
            ));
        };
        let blank = lines.next().unwrap_or_default().trim_end_matches('\r');
        if !blank.trim().is_empty() {
            return Err(at(
                2,
                Some(1),
                "the subject line is followed by a blank line before the body".to_string(),
            ));
        }
        let body = lines.next().unwrap_or_default();
        let subject_column =
            SUBJECT_PREFIX.len() + 1 + (subject.len() - subject.trim_start().len());
        let subject = subject.trim();
        self.registry
            .register_template_string(&subject_key(name), subject)
            .map_err(|e| parse_error(file, &e, 0, subject_column - 1))?;
        self.registry
            .register_template_string(name, body)
            .map_err(|e| parse_error(file, &e, BODY_LINE_OFFSET, 0))?;
        self.sources.insert(
            name.to_string(),
            Source {
                file: file.to_string(),
            },
        );
        Ok(())
    }

    /// The templates' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    /// Renders template `name` (or [`DEFAULT_TEMPLATE`] for `None`) with `view`: an
    /// [`AlertMessage`](super::AlertMessage), an [`ExceptionRateView`](super::ExceptionRateView), or
    /// either as stored (JSON).
    pub fn render(
        &self,
        name: Option<&str>,
        view: &impl serde::Serialize,
    ) -> Result<RenderedAlert, TemplateError> {
        let name = name.unwrap_or(DEFAULT_TEMPLATE);
        let Some(source) = self.sources.get(name) else {
            return Err(TemplateError {
                file: format!("{name}.hbs"),
                line: None,
                column: None,
                message: format!(
                    "no template `{name}` (known: {}); add `{name}.hbs` to the template directory",
                    self.names().collect::<Vec<_>>().join(", ")
                ),
            });
        };
        let subject = self
            .registry
            .render(&subject_key(name), view)
            .map_err(|e| render_error(&source.file, &e, 0))?;
        let body = self
            .registry
            .render(name, view)
            .map_err(|e| render_error(&source.file, &e, BODY_LINE_OFFSET))?;
        Ok(RenderedAlert {
            template: name.to_string(),
            subject: subject.trim().to_string(),
            body,
        })
    }
}

fn subject_key(name: &str) -> String {
    format!("{name}#subject")
}

fn parse_error(
    file: &str,
    e: &handlebars::TemplateError,
    line_offset: usize,
    column_offset: usize,
) -> TemplateError {
    let (line, column) = match e.pos() {
        Some((l, c)) => (
            Some(l + line_offset),
            Some(if l == 1 { c + column_offset } else { c }),
        ),
        None => (None, None),
    };
    TemplateError {
        file: file.to_string(),
        line,
        column,
        message: format!("the template does not parse: {}", e.reason()),
    }
}

fn render_error(file: &str, e: &handlebars::RenderError, line_offset: usize) -> TemplateError {
    TemplateError {
        file: file.to_string(),
        line: e.line_no.map(|l| l + line_offset),
        column: if line_offset == 0 { None } else { e.column_no },
        message: match e.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(path)) => format!(
                "the alert view has no field `{path}`; the fields a template can use are listed \
                 in docs/alerts.md"
            ),
            other => format!(
                "rendering failed: {other}; the fields a template can use are listed in \
                 docs/alerts.md"
            ),
        },
    }
}

/// A template named in a workflow's escalation ladder that the template set lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderTemplateProblem {
    pub deadline: String,
    /// 1-based position of the step in the deadline's ladder.
    pub step: usize,
    pub template: String,
    pub known: Vec<String>,
}

impl fmt::Display for LadderTemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deadline `{}`, escalation step {}: there is no template `{}` (known: {}); add `{}.hbs` \
             to the template directory or name one of the known templates",
            self.deadline,
            self.step,
            self.template,
            self.known.join(", "),
            self.template
        )
    }
}

/// Every ladder step whose template is not in `templates` (a step naming none uses
/// [`DEFAULT_TEMPLATE`], which must then exist).
pub fn check_ladder_templates(
    workflow: &Workflow,
    templates: &Templates,
) -> Vec<LadderTemplateProblem> {
    let known: Vec<String> = templates.names().map(str::to_string).collect();
    let mut problems = Vec::new();
    for deadline in &workflow.deadlines {
        for (i, step) in deadline.escalation.iter().enumerate() {
            let name = step.template.as_deref().unwrap_or(DEFAULT_TEMPLATE);
            if !templates.contains(name) {
                problems.push(LadderTemplateProblem {
                    deadline: deadline.id.clone(),
                    step: i + 1,
                    template: name.to_string(),
                    known: known.clone(),
                });
            }
        }
    }
    problems
}
