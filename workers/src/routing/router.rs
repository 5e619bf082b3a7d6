//! Routing one claim: the rules in order, the first that is true wins, `default` when none
//! is. Pure and allocation-light (the claim's fields reach the interpreter by reference), so
//! the batch router and `POST /api/route` run exactly this and agree by construction.

use cel::{Context, Env, Value};

use super::rule_set::{DEFAULT_RULE, Route, Rule, RuleSet};
use super::schema::Facts;

/// Which rule sent a claim where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision<'s> {
    /// The matching rule's id, or `default`.
    pub rule: &'s str,
    pub route: &'s Route,
}

/// A rule that could not be evaluated for a claim (an overflow, a division by zero): the
/// claim is not routed, and the reason is reported, never a silent fall to `default`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}` could not be evaluated: {message}")]
pub struct RouteError {
    pub rule: String,
    pub message: String,
}

impl Rule {
    /// Whether this rule matches `facts`; an error says why it could not tell.
    pub(super) fn evaluate(
        &self,
        env: &std::sync::Arc<Env>,
        facts: &Facts<'_>,
    ) -> Result<bool, String> {
        let mut context = Context::with_env(env.clone());
        context.set_variable_resolver(facts);
        self.matches(&context)
    }

    fn matches(&self, context: &Context<'_, '_>) -> Result<bool, String> {
        match Value::resolve(&self.expression, context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "the expression gives {} where a rule needs true or false",
                describe(&other)
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("the int {i}"),
        Value::UInt(u) => format!("the uint {u}"),
        Value::Float(f) => format!("the double {f}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Null => "null".into(),
        other => format!("{other:?}"),
    }
}

impl RuleSet {
    /// Routes one claim.
    pub fn route<'s>(&'s self, facts: &Facts<'_>) -> Result<Decision<'s>, RouteError> {
        let mut context = Context::with_env(self.env.clone());
        context.set_variable_resolver(facts);
        for rule in &self.rules {
            match rule.matches(&context) {
                Ok(true) => {
                    return Ok(Decision {
                        rule: &rule.id,
                        route: &rule.route,
                    });
                }
                Ok(false) => {}
                Err(message) => {
                    return Err(RouteError {
                        rule: rule.id.clone(),
                        message,
                    });
                }
            }
        }
        Ok(Decision {
            rule: DEFAULT_RULE,
            route: &self.default,
        })
    }
}
