//! Alerts as people read them: a typed view of one escalation ([`AlertMessage`]) and its
//! rendering through handlebars templates ([`Templates`]).
//!
//! The escalation ladder decides *that* an alert is raised; this module decides *what it
//! says*. An [`AlertMessage`] carries everything a template may show (the deadline, the level
//! reached, the trigger in words, the projected finish, the margin, P(miss), the critical
//! chain, the roles told) as plain, pre-formatted values, so templates need no logic beyond
//! `{{#if}}` and `{{#each}}`. The view is also what the outbox stores (as JSON) and what the
//! webhook channel sends: it holds no claim or member data, only cycle, job and deadline
//! names and times.
//!
//! Pure: the one edge is [`Templates::load_dir`], which reads the template files.

mod exception_rate;
mod render;
mod view;
mod volume_gate;

pub use exception_rate::{EXCEPTION_RATE_TEMPLATE, ExceptionRate, ExceptionRateView, ON_CALL_ROLE};

pub use volume_gate::{COMPLIANCE_ROLE, GateEvent, VOLUME_GATE_TEMPLATE, VolumeGateView};

pub use render::{
    DEFAULT_TEMPLATE, LadderTemplateProblem, RenderedAlert, TemplateError, Templates,
    check_ladder_templates,
};
pub use view::{
    AlertLevel, AlertMessage, ChainStep, DeadlineView, LocalTime, RoleView, chain_steps,
    describe_trigger, format_margin, format_probability, role_views,
};

#[cfg(test)]
mod tests;
