//! Routing claims to streams and adjudication platforms by CEL rules (issue #15,
//! docs/routing.md). Architects write a rule set as YAML with a tests file beside it; a set
//! serves only once every rule compiles, reads only claim fields, stays within the limits and
//! the tests pass (`rule_set`, `check`, `tests_file`). Routing itself (`router`) is pure and
//! shared by the batch router (the intake) and the online one (`POST /api/route`).

pub mod batch;
pub mod check;
pub mod claim_fields;
pub mod live;
pub mod router;
pub mod rule_set;
pub mod schema;
pub mod tests_file;

pub use batch::{BatchDecision, RoutedCsv, Tally, route_all, route_csv};
pub use check::Limits;
pub use live::{LiveRuleSet, Refusal, Reload};
pub use router::{Decision, RouteError};
pub use rule_set::{DEFAULT_RULE, Route, Rule, RuleSet, hex_sha256, load, load_from, tests_path};
pub use schema::{Facts, OwnedFacts};
