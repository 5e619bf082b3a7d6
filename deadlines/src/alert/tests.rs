//! The shipped templates rendered from a realistic view: the month-end cycle of February
//! 2025 planned from its estimates, with the CMS filing deadline and its critical chain.

use std::path::{Path, PathBuf};

use chrono::{TimeDelta, TimeZone, Utc};
use warden_core::diagnostics::SourceMap;
use warden_core::diagnostics::render_text;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::workflow::{FsLoader, Trigger, Workflow, compile, compile_str};

use super::*;
use crate::analyse;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn month_end() -> Workflow {
    let root = repo();
    let path = root.join("workflows/month-end.yaml");
    let text = std::fs::read_to_string(&path).expect("month-end.yaml");
    let mut sources = SourceMap::new();
    let file = sources.add("workflows/month-end.yaml", text);
    let c = compile(&mut sources, file, &FsLoader::rooted(root));
    assert!(!c.has_errors(), "{}", render_text(&sources, &c.diagnostics));
    c.workflow.expect("compiles")
}

fn shipped_dir() -> PathBuf {
    repo().join("workflows/templates")
}

/// The CMS filing of February 2025, projected `late_by` after its deadline (negative: early).
fn cms_view(level: AlertLevel, late_by: TimeDelta, trigger: &Trigger, step: usize) -> AlertMessage {
    let w = month_end();
    let date: DateSpec = "2025-02".parse().expect("date");
    let a = analyse(&w, date, &PlanOptions::default()).expect("plans");
    let d = a
        .plan
        .deadlines
        .iter()
        .position(|d| d.id == "cms-filing")
        .expect("cms-filing");
    let margin = a
        .margins
        .iter()
        .find(|m| m.deadline == d)
        .expect("a margin");
    let finish = a.plan.deadlines[d].at + late_by;
    let raised = Utc
        .with_ymd_and_hms(2025, 3, 2, 7, 45, 0)
        .single()
        .expect("time");
    let mut view = AlertMessage::new(
        &a.plan,
        7,
        d,
        level,
        Some(AlertLevel::Warning),
        trigger,
        finish,
        raised,
    );
    view.chain = chain_steps(&a.plan, &a.schedule, &margin.chain);
    view.roles = role_views(&w, &w.deadlines[d].escalation[step].notify);
    view.set_probability(
        0.18,
        finish - TimeDelta::minutes(20),
        finish + TimeDelta::minutes(35),
        a.plan.timezone,
    );
    view.alert_id = Some(42);
    view
}

#[test]
fn margins_read_as_people_say_them() {
    assert_eq!(format_margin(TimeDelta::minutes(135)), "2h 15m");
    assert_eq!(format_margin(TimeDelta::minutes(-90)), "1h 30m late");
    assert_eq!(format_margin(TimeDelta::minutes(45)), "45m");
    assert_eq!(format_margin(TimeDelta::hours(6)), "6h");
    assert_eq!(format_margin(TimeDelta::seconds(59)), "0m");
    assert_eq!(format_margin(TimeDelta::seconds(-10)), "1m late");
    assert_eq!(format_margin(TimeDelta::minutes(885)), "14h 45m");
    assert_eq!(format_probability(0.1), "10%");
    assert_eq!(format_probability(0.125), "12.5%");
    assert_eq!(
        describe_trigger(&Trigger::MarginBelow(TimeDelta::hours(6))),
        "margin below 6h"
    );
    assert_eq!(
        describe_trigger(&Trigger::MissProbabilityAbove(0.1)),
        "P(miss) above 10%"
    );
    assert_eq!(
        describe_trigger(&Trigger::MarginShareBelow(0.5)),
        "margin below 50% of the planned margin"
    );
    assert_eq!(describe_trigger(&Trigger::ProjectedMiss), "projected miss");
}

#[test]
fn the_view_has_local_times_margin_and_the_chain() {
    let view = cms_view(
        AlertLevel::BreachProjected,
        TimeDelta::minutes(90),
        &Trigger::ProjectedMiss,
        3,
    );
    assert_eq!(view.deadline.id, "cms-filing");
    assert_eq!(view.deadline.name, "CMS filing");
    assert_eq!(view.deadline.kind, "regulatory");
    assert_eq!(view.deadline.at.local, "2025-03-02 23:59");
    assert_eq!(view.deadline.at.zone, "America/New_York");
    assert_eq!(view.deadline.at.text, "2025-03-02 23:59 EST");
    assert_eq!(view.projected_finish.text, "2025-03-03 01:29 EST");
    assert_eq!(view.margin_minutes, -90);
    assert_eq!(view.margin_text, "1h 30m late");
    assert!(view.late);
    assert_eq!(view.lateness_text.as_deref(), Some("1h 30m"));
    assert_eq!(view.lateness_minutes, Some(90));
    assert_eq!(view.p_miss_text.as_deref(), Some("18%"));
    assert_eq!(
        view.roles.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["compliance", "counsel"]
    );
    assert!(view.chain.len() >= 3, "{:?}", view.chain);
    assert_eq!(view.chain[0].tie, "start");
    assert!(
        view.chain[1..]
            .iter()
            .all(|s| s.tie == "dependency" || s.tie == "resource_wait"),
        "{:?}",
        view.chain
    );
    let json = serde_json::to_value(&view).expect("serialises");
    assert_eq!(json["level"], "breach_projected");
    assert_eq!(json["previous_level"], "warning");
    let back: AlertMessage = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, view);
}

#[test]
fn the_oncall_page_is_short_and_says_what_matters() {
    let templates = Templates::load_dir(&shipped_dir()).expect("shipped templates load");
    let view = cms_view(
        AlertLevel::Warning,
        TimeDelta::hours(-11),
        &Trigger::MarginBelow(TimeDelta::hours(12)),
        0,
    );
    let page = templates
        .render(Some("oncall-page"), &view)
        .expect("renders");
    assert_eq!(
        page.subject,
        "[Warden WARNING] CMS filing: 11h margin (month-end 2025-02)"
    );
    assert!(
        page.body.contains("due 2025-03-02 23:59 EST"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Trigger: margin below 12h."),
        "{}",
        page.body
    );
    assert!(page.body.contains("P(miss) 18%"), "{}", page.body);
    assert!(
        page.body.contains("warden ack 42 --as NAME"),
        "{}",
        page.body
    );
    let first = &view.chain[0].job;
    let last = &view.chain[view.chain.len() - 1].job;
    assert!(page.body.contains(&format!("Critical chain: {first} -> ")));
    assert!(page.body.contains(&format!("-> {last} (last finishes")));
    assert!(
        page.body.lines().count() <= 10,
        "a page is short:\n{}",
        page.body
    );
}

#[test]
fn the_compliance_escalation_lists_the_chain_and_the_penalty() {
    let templates = Templates::load_dir(&shipped_dir()).expect("shipped templates load");
    let mut view = cms_view(
        AlertLevel::Escalated,
        TimeDelta::minutes(-135),
        &Trigger::MarginBelow(TimeDelta::hours(6)),
        1,
    );
    let mail = templates
        .render(Some("compliance-escalation"), &view)
        .expect("renders");
    assert_eq!(
        mail.subject,
        "[Warden ESCALATED] CMS filing at risk: 2h 15m margin, due 2025-03-02 23:59 EST"
    );
    assert!(mail.body.contains("Why now:           margin below 6h"));
    assert!(
        mail.body
            .contains("Margin:            2h 15m (135 minutes)")
    );
    assert!(
        mail.body
            .contains("Level:             escalated (was warning)")
    );
    assert!(mail.body.contains("up to $25,000 per day of late filing"));
    assert!(
        mail.body
            .contains("Probability of missing the deadline: 18%")
    );
    for step in &view.chain {
        assert!(
            mail.body.contains(&format!(
                "  {}  {} -> {} ({} min; {})",
                step.job, step.start.local, step.finish.local, step.minutes, step.tie_text
            )),
            "{} missing from\n{}",
            step.job,
            mail.body
        );
    }
    assert!(
        mail.body
            .contains("Notified: On-call batch engineer, Compliance officer.")
    );
    // Without a Monte Carlo run and a previous level the optional lines go, and nothing
    // else breaks in strict mode.
    view.p_miss = None;
    view.p_miss_text = None;
    view.p50_finish = None;
    view.p90_finish = None;
    view.previous_level = None;
    let mail = templates
        .render(Some("compliance-escalation"), &view)
        .expect("renders without the optional fields");
    assert!(!mail.body.contains("Probability"));
    assert!(!mail.body.contains("(was"));
}

#[test]
fn the_regulatory_notice_names_deadline_penalty_finish_margin_and_chain() {
    let templates = Templates::load_dir(&shipped_dir()).expect("shipped templates load");
    let view = cms_view(
        AlertLevel::BreachProjected,
        TimeDelta::minutes(90),
        &Trigger::ProjectedMiss,
        3,
    );
    let letter = templates
        .render(Some("regulatory-notice"), &view)
        .expect("renders");
    assert_eq!(
        letter.subject,
        "DRAFT regulatory notification: CMS filing projected 1h 30m late"
    );
    let body = &letter.body;
    assert!(body.contains("Re: CMS filing (cms-filing), due 2025-03-02 23:59 EST"));
    assert!(
        body.contains(
            "projected to complete the work required for the CMS filing at\n  2025-03-03 01:29 EST"
        ),
        "{body}"
    );
    assert!(body.contains("Projected lateness: 1h 30m (90 minutes after the deadline)."));
    assert!(body.contains("CMS corrective action plan"));
    assert!(body.contains("financial penalties up to $25,000 per day of late filing"));
    assert!(body.contains("(90th percentile finish 2025-03-03 02:04 EST)"));
    let last = view.chain.last().expect("a chain");
    assert!(body.contains(&format!(
        "  - {}: {} to {} ({} min; {})",
        last.job, last.start.text, last.finish.text, last.minutes, last.tie_text
    )));
    assert!(body.contains("Distribution: Compliance officer, Outside counsel."));
    assert!(body.contains("Not sent to any regulator"));

    // Pre-positioned before the miss: the same letter reads "at risk".
    let early = cms_view(
        AlertLevel::Escalated,
        TimeDelta::minutes(-45),
        &Trigger::MissProbabilityAbove(0.1),
        2,
    );
    let letter = templates
        .render(Some("regulatory-notice"), &early)
        .expect("renders");
    assert_eq!(
        letter.subject,
        "DRAFT regulatory notification: CMS filing projected at risk (45m margin)"
    );
    assert!(letter.body.contains("Remaining margin: 45m (45 minutes)."));
    assert!(!letter.body.contains("Projected lateness"));
    assert!(
        letter
            .body
            .contains("Escalation trigger: P(miss) above 10%.")
    );
}

#[test]
fn the_embedded_copies_are_the_shipped_files() {
    let from_dir = Templates::load_dir(&shipped_dir()).expect("loads");
    let embedded = Templates::shipped();
    assert_eq!(
        from_dir.names().collect::<Vec<_>>(),
        embedded.names().collect::<Vec<_>>()
    );
    let view = cms_view(
        AlertLevel::Escalated,
        TimeDelta::minutes(-200),
        &Trigger::MissProbabilityAbove(0.1),
        2,
    );
    // The exception-rate warning is not a deadline's: it renders its own view's fields.
    let exception_view = serde_json::json!({
        "headline": "WARNING", "job": "CLMADJUD-P01", "rate_text": "6.2%",
        "cycle": "nightly", "business_date": "2025-03-04",
        "trigger": "exception rate 6.2% in CLMADJUD-P01 (p01)",
        "raised_at": { "text": "2025-03-05 00:30 EST" }, "run_id": 1, "alert_id": 7
    });
    // So is the batch impact gate's.
    let gate_view = serde_json::json!({
        "headline": "VOLUME ABOVE APPROVED", "cycle": "month-end", "business_date": "2025-02",
        "stream": "A", "job": "run", "actor": "olu", "reason": "state deadline",
        "trigger": "olu started the run past the batch impact gate",
        "what_to_do": "watch Day 1's margin closely",
        "raised_at": { "text": "2025-02-28 20:00 EST" }, "run_id": 1, "alert_id": 3
    });
    for name in embedded.names() {
        let (a, b) = if name == super::EXCEPTION_RATE_TEMPLATE {
            (
                from_dir.render(Some(name), &exception_view),
                embedded.render(Some(name), &exception_view),
            )
        } else if name == super::VOLUME_GATE_TEMPLATE {
            (
                from_dir.render(Some(name), &gate_view),
                embedded.render(Some(name), &gate_view),
            )
        } else {
            (
                from_dir.render(Some(name), &view),
                embedded.render(Some(name), &view),
            )
        };
        assert_eq!(a.expect("renders"), b.expect("renders"), "{name}");
    }
}

fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-templates-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write");
    }
    dir
}

#[test]
fn a_template_that_does_not_parse_is_located() {
    let dir = scratch(
        "parse",
        &[(
            "broken.hbs",
            "Subject: {{deadline.name}}\n\nline one\n{{#each chain}}{{job}}\n",
        )],
    );
    let e = Templates::load_dir(&dir).expect_err("does not parse");
    assert!(e.file.ends_with("broken.hbs"), "{e}");
    assert!(
        e.line.is_some_and(|l| l >= 4),
        "the body's line in the file: {e}"
    );
    assert!(e.to_string().contains("does not parse"), "{e}");

    let dir = scratch("subject", &[("nosubject.hbs", "Hello {{cycle}}\n\nbody\n")]);
    let e = Templates::load_dir(&dir).expect_err("no subject line");
    assert_eq!(e.line, Some(1));
    assert!(
        e.to_string()
            .contains("nosubject.hbs:1:1: a template starts with its subject line"),
        "{e}"
    );

    let dir = scratch("blank", &[("noblank.hbs", "Subject: x\nbody\n")]);
    let e = Templates::load_dir(&dir).expect_err("no blank line");
    assert_eq!(e.line, Some(2));
}

#[test]
fn a_missing_field_is_an_error_naming_file_and_line_in_strict_mode() {
    let dir = scratch(
        "strict",
        &[(
            "typo.hbs",
            "Subject: {{deadline.name}}\n\nfine {{cycle}}\nbad {{deadline.penalti}}\n",
        )],
    );
    let templates = Templates::load_dir(&dir).expect("parses");
    let view = cms_view(
        AlertLevel::Warning,
        TimeDelta::hours(-10),
        &Trigger::MarginBelow(TimeDelta::hours(12)),
        0,
    );
    let e = templates.render(Some("typo"), &view).expect_err("strict");
    assert!(e.file.ends_with("typo.hbs"), "{e}");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(
        e.to_string()
            .ends_with("typo.hbs:4:5: the alert view has no field `deadline.penalti`; the fields a template can use are listed in docs/alerts.md"),
        "{e}"
    );

    let e = templates
        .render(Some("nope"), &view)
        .expect_err("unknown template");
    assert!(
        e.to_string().contains("no template `nope` (known: typo)"),
        "{e}"
    );

    let missing = Templates::load_dir(Path::new("/nonexistent/templates")).expect_err("no dir");
    assert!(
        missing
            .to_string()
            .contains("cannot read the template directory")
    );
}

#[test]
fn ladder_templates_are_checked_against_the_set() {
    let w = month_end();
    let shipped = Templates::shipped();
    assert_eq!(check_ladder_templates(&w, &shipped), []);

    let dir = scratch(
        "partial",
        &[("oncall-page.hbs", "Subject: {{cycle}}\n\nbody\n")],
    );
    let partial = Templates::load_dir(&dir).expect("loads");
    let problems = check_ladder_templates(&w, &partial);
    let named: Vec<(String, usize, String)> = problems
        .iter()
        .map(|p| (p.deadline.clone(), p.step, p.template.clone()))
        .collect();
    assert_eq!(
        named,
        [
            (
                "cms-filing".to_string(),
                2,
                "compliance-escalation".to_string()
            ),
            (
                "cms-filing".to_string(),
                3,
                "compliance-escalation".to_string()
            ),
            ("cms-filing".to_string(), 4, "regulatory-notice".to_string()),
        ]
    );
    assert!(
        problems[2]
            .to_string()
            .contains("deadline `cms-filing`, escalation step 4: there is no template `regulatory-notice` (known: oncall-page)")
    );

    // A step that names no template uses the default one, which must exist.
    let (sources, c) = compile_str(
        "t.yaml",
        r#"
cycle: t
timezone: UTC
schedule: { cron: "0 22 * * *" }
roles: [ { id: on-call } ]
days: [ { id: n1, window: { opens: "22:00", closes: "04:00" } } ]
jobs: [ { id: A, day: n1, builtin: sleep, estimate: 10m } ]
deadlines:
  - id: dl
    at: n1 window-closes
    covers: [A]
    kind: business
    escalation: [ { projected_miss: true, notify: [on-call] } ]
"#,
    );
    let w = c
        .workflow
        .unwrap_or_else(|| panic!("{}", render_text(&sources, &c.diagnostics)));
    assert_eq!(check_ladder_templates(&w, &shipped), []);
    let empty = Templates::load_dir(&scratch("empty", &[])).expect("loads");
    assert_eq!(
        check_ladder_templates(&w, &empty)[0].template,
        DEFAULT_TEMPLATE
    );
}
