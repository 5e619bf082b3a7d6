//! The `impact:` block: the batch impact test's thresholds, each a percentage in range, the
//! defaults those of case study 002 (docs/impact.md).

use super::ctx::Ctx;
use crate::workflow::located::Located;
use crate::workflow::model::ImpactRules;
use crate::workflow::numbers::Number;
use crate::workflow::raw::{RawWorkflow, Scalar};
use crate::workflow::values;

pub(super) fn compile_impact(cx: &mut Ctx<'_>, raw: &RawWorkflow) -> ImpactRules {
    let r = &raw.impact;
    let defaults = ImpactRules::default();
    let mut field = |value: &Option<Located<Scalar>>, default: f64, what: &str| match value {
        None => default,
        Some(v) => threshold(cx, v, what).unwrap_or(default),
    };
    let trigger = field(&r.trigger, defaults.trigger, "trigger");
    let sample = field(&r.sample, defaults.sample, "sample");
    let review_margin = field(&r.review_margin, defaults.review_margin, "review_margin");
    let p_miss_review = match &r.p_miss_review {
        None => defaults.p_miss_review,
        Some(v) => probability(cx, v).unwrap_or(defaults.p_miss_review),
    };
    ImpactRules {
        trigger,
        sample,
        review_margin,
        p_miss_review,
    }
}

/// A probability above 0 and below 1, written as the ladder's `p_miss_above` is.
fn probability(cx: &mut Ctx<'_>, value: &Located<Number>) -> Option<f64> {
    let p = value.value.0;
    if p.is_finite() && p > 0.0 && p < 1.0 {
        return Some(p);
    }
    let span = cx.span(value);
    cx.error_help(
        span,
        format!("impact p_miss_review {p} is out of range"),
        "expected a probability above 0 and below 1",
        Some("e.g. `p_miss_review: 0.1`".into()),
    );
    None
}

/// A percentage above 0 % and at most 100 %.
fn threshold(cx: &mut Ctx<'_>, value: &Located<Scalar>, what: &str) -> Option<f64> {
    let span = cx.span(value);
    match values::percent(&value.value) {
        Ok(p) if p > 0.0 && p <= 1.0 => Some(p),
        Ok(_) => {
            cx.error_help(
                span,
                format!("impact {what} `{}` is out of range", value.value.as_text()),
                "expected above 0% and at most 100%",
                Some(format!("e.g. `{what}: {}`", example(what))),
            );
            None
        }
        Err(message) => {
            cx.error_help(
                span,
                format!("impact {what}: {message}"),
                "not a percentage",
                Some(format!("e.g. `{what}: {}`", example(what))),
            );
            None
        }
    }
}

fn example(what: &str) -> &'static str {
    match what {
        "trigger" => "5%",
        _ => "10%",
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::render_text;
    use crate::workflow::compile_str;
    use crate::workflow::model::ImpactRules;

    fn compile(impact: &str) -> (Option<ImpactRules>, String) {
        let text = format!(
            r#"cycle: t
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
jobs:
  - {{ id: A, builtin: sleep, estimate: 1m }}
{impact}
"#
        );
        let (sources, c) = compile_str("t.yaml", &text);
        (
            c.workflow.map(|w| w.impact),
            render_text(&sources, &c.diagnostics),
        )
    }

    #[test]
    fn the_thresholds_default_to_case_study_002s_rule() {
        let (rules, _) = compile("");
        assert_eq!(rules, Some(ImpactRules::default()));
        let d = ImpactRules::default();
        assert_eq!((d.trigger, d.sample, d.review_margin), (0.05, 0.10, 0.10));
    }

    #[test]
    fn thresholds_are_percentages_in_range_with_their_place() {
        let (rules, _) = compile("impact: { trigger: 2.5%, sample: 20%, p_miss_review: 0.05 }");
        let rules = rules.expect("compiles");
        assert_eq!(rules.trigger, 0.025);
        assert_eq!(rules.sample, 0.20);
        assert_eq!(rules.review_margin, 0.10);
        assert_eq!(rules.p_miss_review, 0.05);
        let (rules, text) = compile("impact: { trigger: 0.05, sample: 150% }");
        assert!(rules.is_none());
        assert!(
            text.contains(
                "impact trigger: `0.05` is a bare number; write a percentage such as `5%`"
            ),
            "{text}"
        );
        assert!(text.contains("t.yaml:8:20"), "{text}");
        assert!(
            text.contains("impact sample `150%` is out of range"),
            "{text}"
        );
        let (_, text) = compile("impact: { p_miss_review: 5% }");
        assert!(text.contains("p_miss_review"), "{text}");
        let (_, text) = compile("impact: { p_miss_review: 1 }");
        assert!(
            text.contains("impact p_miss_review 1 is out of range"),
            "{text}"
        );
        let (_, text) = compile("impact: { sampel: 10% }");
        assert!(text.contains("sampel"), "{text}");
    }
}
