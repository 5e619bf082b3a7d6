//! Routing rule sets (issue #15): the shipped set loads and its tests pass; every way a set
//! can be wrong is refused at load with the place (file:line:column) and what to do; routing
//! is first-match-wins with a default, and a rule that cannot be evaluated for a claim is an
//! error for that claim, never a silent fall to the default.

use std::path::{Path, PathBuf};

use warden_workers::model::claim::Stream;
use warden_workers::routing::{self, Limits, OwnedFacts, RuleSet, schema};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Loads a set from texts; the error's text when it is refused.
fn load(rules: &str, tests: &str) -> Result<RuleSet, String> {
    routing::load_from(
        Path::new("r.yaml"),
        rules.as_bytes(),
        Path::new("r.tests.yaml"),
        tests,
        &Limits::default(),
    )
    .map_err(|e| e.to_string())
}

fn refused(rules: &str, tests: &str) -> String {
    match load(rules, tests) {
        Ok(_) => panic!("the set was accepted:\n{rules}"),
        Err(e) => e,
    }
}

const TWO_RULES: &str = "\
platforms: [core, pbm]
rules:
  - id: pharmacy
    when: stream == \"E\" || procedure.startsWith(\"J\")
    route: {stream: E, platform: pbm}
  - id: medicaid
    when: stream == \"C\"
    route: {stream: C, platform: core}
default: {stream: A, platform: core}
";

const TWO_CASES: &str = "\
- name: a J-code
  claim: {procedure: J3490}
  expect: {rule: pharmacy, stream: E, platform: pbm}
- name: medicaid
  claim: {stream: C}
  expect: {rule: medicaid}
- name: the rest
  claim: {}
  expect: {rule: default, stream: A}
";

fn with(f: impl FnOnce(&mut OwnedFacts)) -> OwnedFacts {
    let mut c = schema::base_claim();
    f(&mut c);
    c
}

#[test]
fn the_shipped_rule_set_loads_with_its_twenty_rules_and_passes_its_tests() {
    let set = routing::load(&root().join("workflows/routing/claims.yaml")).expect("loads");
    assert_eq!(set.rules.len(), 20);
    assert!(set.tests >= 20, "{} cases", set.tests);
    assert_eq!(set.sha256.len(), 64);
    let bytes = std::fs::read(root().join("workflows/routing/claims.yaml")).expect("read");
    assert_eq!(set.sha256, routing::hex_sha256(&bytes));
}

#[test]
fn first_match_wins_and_a_claim_no_rule_takes_goes_to_the_default() {
    let set = load(TWO_RULES, TWO_CASES).expect("loads");
    // A J-code on a Medicaid claim: `pharmacy` comes first.
    let c = with(|c| {
        c.claim.stream = Stream::Medicaid;
        c.claim.procedure = warden_workers::model::claim::Code::new("J1100").expect("code");
    });
    let d = set.route(&c.facts()).expect("routed");
    assert_eq!(
        (d.rule, d.route.stream, &*d.route.platform),
        ("pharmacy", Stream::Pharmacy, "pbm")
    );
    let c = with(|c| c.claim.stream = Stream::Medicaid);
    assert_eq!(set.route(&c.facts()).expect("routed").rule, "medicaid");
    let c = with(|c| c.claim.stream = Stream::DentalVision);
    let d = set.route(&c.facts()).expect("routed");
    assert_eq!((d.rule, d.route.stream), ("default", Stream::Commercial));
}

#[test]
fn a_name_that_is_not_a_claim_field_is_refused_where_it_is_written() {
    let rules = TWO_RULES.replace(
        "when: stream == \"C\"",
        "when: stream == \"C\" && billed > 100",
    );
    let e = refused(&rules, TWO_CASES);
    // Line 7, the expression starts at column 11; `billed` is its 18th character.
    assert!(
        e.starts_with("r.yaml:7:28: rule `medicaid`: `billed` is not a field"),
        "{e}"
    );
    assert!(e.contains("did you mean `billed_cents`"), "{e}");
    // Quoted, the column still lands on the name.
    let rules = TWO_RULES.replace(
        "when: stream == \"C\"",
        "when: 'stream == \"C\" && billed > 100'",
    );
    let e = refused(&rules, TWO_CASES);
    assert!(e.starts_with("r.yaml:7:29: "), "{e}");
}

#[test]
fn an_expression_that_does_not_parse_is_refused_with_its_place() {
    let rules = TWO_RULES.replace("when: stream == \"C\"", "when: stream == \"C\" &&");
    let e = refused(&rules, TWO_CASES);
    assert!(e.starts_with("r.yaml:7:"), "{e}");
    assert!(
        e.contains("rule `medicaid`: the expression does not parse"),
        "{e}"
    );
}

#[test]
fn a_function_outside_the_allowed_set_and_a_message_field_are_refused() {
    let rules = TWO_RULES.replace("when: stream == \"C\"", "when: matches(stream, \"C\")");
    let e = refused(&rules, TWO_CASES);
    assert!(
        e.contains("`matches` is not a function a rule may call"),
        "{e}"
    );
    let rules = TWO_RULES.replace("when: stream == \"C\"", "when: claim.stream == \"C\"");
    let e = refused(&rules, TWO_CASES);
    assert!(
        e.contains("plain names (`stream`, not `claim.stream`)"),
        "{e}"
    );
}

#[test]
fn type_errors_and_results_that_are_not_booleans_are_found_at_load_by_the_probes() {
    let rules = TWO_RULES.replace("when: stream == \"C\"", "when: billed_cents > \"100\"");
    let e = refused(&rules, TWO_CASES);
    assert!(e.contains("rule `medicaid`"), "{e}");
    assert!(
        e.contains("no matching overload") || e.contains("compared"),
        "{e}"
    );
    let rules = TWO_RULES.replace("when: stream == \"C\"", "when: billed_cents + 1");
    let e = refused(&rules, TWO_CASES);
    assert!(
        e.contains("gives the int 12501 where a rule needs true or false"),
        "{e}"
    );
}

#[test]
fn expressions_over_the_limits_are_refused() {
    // Cost: a macro over a list of 60 codes, nested in another over 60.
    let codes: Vec<String> = (0..60).map(|i| format!("\"C{i}\"")).collect();
    let list = format!("[{}]", codes.join(", "));
    let when = format!("{list}.exists(a, {list}.exists(b, procedure == a + b))");
    let rules = TWO_RULES.replace("stream == \\\"C\\\"", "x").replace(
        "when: stream == \"C\"",
        &format!("when: '{}'", when.replace('\'', "''")),
    );
    let e = refused(&rules, TWO_CASES);
    assert!(
        e.contains("evaluation cost") || e.contains("size (syntax-tree nodes)"),
        "{e}"
    );
    // Depth.
    let deep = format!("{}true{}", "(!".repeat(30), ")".repeat(30));
    let rules = TWO_RULES.replace("when: stream == \"C\"", &format!("when: '{deep}'"));
    let e = refused(&rules, TWO_CASES);
    assert!(e.contains("nesting depth"), "{e}");
    // Length.
    let long = format!("stream == \"C\"{}", " && true".repeat(300));
    let rules = TWO_RULES.replace("when: stream == \"C\"", &format!("when: '{long}'"));
    let e = refused(&rules, TWO_CASES);
    assert!(e.contains("characters long; the limit is 2000"), "{e}");
}

#[test]
fn routes_must_name_a_stream_and_a_listed_platform() {
    let rules = TWO_RULES.replace("{stream: C, platform: core}", "{stream: C, platform: cor}");
    let e = refused(&rules, TWO_CASES);
    assert!(e.starts_with("r.yaml:8:"), "{e}");
    assert!(
        e.contains("`cor` is not one of the set's platforms (did you mean `core`?)"),
        "{e}"
    );
    let rules = TWO_RULES.replace("{stream: C, platform: core}", "{stream: F, platform: core}");
    let e = refused(&rules, TWO_CASES);
    assert!(e.contains("`F` is not a stream"), "{e}");
    let rules = TWO_RULES.replace("  - id: medicaid", "  - id: pharmacy");
    let e = refused(&rules, TWO_CASES);
    assert!(e.contains("rule `pharmacy` is defined twice"), "{e}");
    let rules = TWO_RULES.replace("default:", "defaults:");
    let e = refused(&rules, TWO_CASES);
    assert!(e.starts_with("r.yaml:9:1: unknown field `defaults`"), "{e}");
    assert!(!e.contains("at line"), "{e}");
}

#[test]
fn a_failing_case_refuses_the_set_and_names_the_case_and_the_rule_that_took_it() {
    let tests = TWO_CASES.replace("expect: {rule: medicaid}", "expect: {rule: pharmacy}");
    let e = refused(TWO_RULES, &tests);
    assert!(e.starts_with("r.tests.yaml:6:"), "{e}");
    assert!(
        e.contains("case `medicaid`: the claim is taken by rule `medicaid`, not `pharmacy`"),
        "{e}"
    );
    let tests = TWO_CASES.replace("stream: E, platform: pbm}", "stream: E, platform: core}");
    let e = refused(TWO_RULES, &tests);
    assert!(
        e.contains("sends the claim to platform `pbm`, not `core`"),
        "{e}"
    );
    let tests = TWO_CASES.replace("claim: {stream: C}", "claim: {stream: C, billed: 12}");
    let e = refused(TWO_RULES, &tests);
    assert!(e.starts_with("r.tests.yaml:5:"), "{e}");
    assert!(e.contains("`billed` is not a field of the claim"), "{e}");
}

#[test]
fn a_rule_no_case_reaches_refuses_the_set() {
    let tests: String = TWO_CASES.lines().skip(3).collect::<Vec<_>>().join("\n");
    let e = refused(TWO_RULES, &tests);
    assert!(e.contains("no case is taken by rule `pharmacy`"), "{e}");
}

#[test]
fn a_missing_tests_file_refuses_the_set() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("set.yaml");
    std::fs::write(&path, TWO_RULES).expect("write");
    let e = routing::load(&path).expect_err("no tests").to_string();
    assert!(e.contains("set.tests.yaml"), "{e}");
    assert!(
        e.contains("every rule set has a tests file beside it"),
        "{e}"
    );
    std::fs::write(dir.path().join("set.tests.yaml"), TWO_CASES).expect("write");
    assert_eq!(routing::load(&path).expect("loads").tests, 3);
}

#[test]
fn a_rule_that_cannot_be_evaluated_for_a_claim_is_an_error_for_that_claim() {
    // Division by zero for member 5 only: the probes (members 1 and 424242) pass.
    let rules = TWO_RULES.replace("when: stream == \"C\"", "when: 100 / (member - 5) > 1000");
    let tests = TWO_CASES
        .replace("claim: {stream: C}", "claim: {member: 4, stream: C}")
        .replace("expect: {rule: medicaid}", "expect: {rule: default}");
    // Without a case for `medicaid` the set is refused; give it one that matches.
    let tests = format!(
        "{tests}- name: member 5 minus 1\n  claim: {{member: 6}}\n  expect: {{rule: default}}\n"
    );
    let e = refused(&rules, &tests);
    assert!(e.contains("no case is taken by rule `medicaid`"), "{e}");
    let rules = rules.replace("100 / (member - 5) > 1000", "100 / (member - 5) >= 0");
    let tests = tests.replace(
        "claim: {member: 6}\n  expect: {rule: default}",
        "claim: {member: 6}\n  expect: {rule: medicaid}",
    );
    let set = load(&rules, &tests).expect("loads");
    let c = with(|c| c.claim.member = 5);
    let e = set.route(&c.facts()).expect_err("division by zero");
    assert_eq!(e.rule, "medicaid");
    assert!(e.message.to_lowercase().contains("division by zero"), "{e}");
}
