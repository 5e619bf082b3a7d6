//! The shipped JSON Schema accepts the shipped workflows and catches what editors should flag.

use std::path::Path;

use serde_json::Value;

fn read_yaml_as_json(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows")
        .join(relative);
    let text = std::fs::read_to_string(&path).expect("readable");
    serde_saphyr::from_str(&text).expect("valid YAML")
}

fn validator() -> jsonschema::Validator {
    let schema = read_yaml_as_json("workflow.schema.json");
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

#[test]
fn shipped_workflows_satisfy_the_schema() {
    let v = validator();
    for name in ["month-end.yaml", "nightly.yaml", "nightly-serial.yaml"] {
        let doc = read_yaml_as_json(name);
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn schema_flags_unknown_keys_and_values() {
    let v = validator();
    for name in [
        "invalid/002-unknown-top-level-key.yaml",
        "invalid/003-unknown-job-key.yaml",
        "invalid/016-unknown-mode.yaml",
        "invalid/052-deadline-unknown-kind.yaml",
        "invalid/005-missing-timezone.yaml",
        "invalid/077-id-too-long.yaml",
        "invalid/078-priority-quoted.yaml",
    ] {
        let doc = read_yaml_as_json(name);
        assert!(!v.is_valid(&doc), "{name} should fail the schema");
    }
}
