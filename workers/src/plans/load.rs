//! Benefit plan files are read with serde-saphyr into raw types (unknown keys refused), then
//! checked; every problem names the file, line and column and says what to write instead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_saphyr::Spanned;

use super::plan::{BenefitPlan, Plans};
use crate::model::money::parse_money;
use crate::model::{Cents, Code};

/// A located problem in a plan file.
pub type PlanError = crate::located::LocatedError;

/// An amount written as dollars (`92.50`, `1500`, or `"92.50"`), kept as cents.
#[derive(Debug, Clone, Copy)]
struct Money(Cents);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount in dollars with at most two decimals, e.g. 92.50")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                self.visit_str(&format!("{v}"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                parse_money(v).map(Money).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    individual: Money,
    family: Money,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    plan: Spanned<String>,
    coinsurance_percent: Spanned<Money>,
    deductible: Spanned<Limits>,
    out_of_pocket_max: Spanned<Limits>,
    #[serde(default)]
    copays: BTreeMap<String, Spanned<Money>>,
    #[serde(default)]
    prior_auth: Vec<Spanned<String>>,
    fee_schedule: BTreeMap<String, Spanned<Money>>,
}

/// Parses one plan file's text.
pub fn parse_plan(file: &Path, text: &str) -> Result<BenefitPlan, PlanError> {
    let raw: RawPlan =
        serde_saphyr::from_str(text).map_err(|e| PlanError::from_yaml(file, &e, "plan"))?;
    let at = |loc: &serde_saphyr::Location, message: String| PlanError {
        file: file.to_path_buf(),
        line: loc.line(),
        column: loc.column(),
        message,
    };
    let code = |s: &Spanned<String>| {
        Code::new(&s.value).map_err(|m| at(&s.referenced, format!("procedure code {m}")))
    };
    if raw.plan.value.is_empty() || !raw.plan.value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(at(
            &raw.plan.referenced,
            "a plan id is a word such as GOLD-PPO".into(),
        ));
    }
    let coins = raw.coinsurance_percent.value.0;
    if coins > 10_000 {
        return Err(at(
            &raw.coinsurance_percent.referenced,
            "coinsurance_percent is a percentage between 0 and 100".into(),
        ));
    }
    for (name, limits) in [
        ("deductible", &raw.deductible),
        ("out_of_pocket_max", &raw.out_of_pocket_max),
    ] {
        if limits.value.family.0 < limits.value.individual.0 {
            return Err(at(
                &limits.referenced,
                format!(
                    "{name}: the family amount is below the individual amount; write family ≥ individual"
                ),
            ));
        }
    }
    if raw.out_of_pocket_max.value.individual.0 < raw.deductible.value.individual.0 {
        return Err(at(
            &raw.out_of_pocket_max.referenced,
            "out_of_pocket_max.individual is below deductible.individual; the deductible counts toward the maximum".into(),
        ));
    }
    let mut fee_schedule = HashMap::new();
    for (k, v) in &raw.fee_schedule {
        let c = Code::new(k).map_err(|m| at(&v.referenced, format!("procedure code {m}")))?;
        fee_schedule.insert(c, v.value.0);
    }
    let mut copays = HashMap::new();
    for (k, v) in &raw.copays {
        let c = Code::new(k).map_err(|m| at(&v.referenced, format!("procedure code {m}")))?;
        if !fee_schedule.contains_key(&c) {
            return Err(at(
                &v.referenced,
                format!("copay for `{k}`, which is not in fee_schedule; add it there first"),
            ));
        }
        copays.insert(c, v.value.0);
    }
    let mut prior_auth = HashSet::new();
    for k in &raw.prior_auth {
        prior_auth.insert(code(k)?);
    }
    Ok(BenefitPlan {
        id: raw.plan.value,
        fee_schedule,
        copays,
        coinsurance_bp: u32::try_from(coins).unwrap_or(10_000),
        deductible_individual: raw.deductible.value.individual.0,
        deductible_family: raw.deductible.value.family.0,
        oop_max_individual: raw.out_of_pocket_max.value.individual.0,
        oop_max_family: raw.out_of_pocket_max.value.family.0,
        prior_auth,
    })
}

/// Loads every `*.yaml` in `dir`; every bad file is reported, not just the first.
pub fn load_dir(dir: &Path) -> Result<Plans, Vec<PlanError>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![PlanError {
            file: dir.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("cannot read the plan directory: {e}"),
        }]
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(PlanError {
                    file,
                    line: 1,
                    column: 1,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse_plan(&file, &text) {
            Ok(plan) => {
                if let Some(first) = seen.get(&plan.id) {
                    errors.push(PlanError {
                        file: file.clone(),
                        line: 1,
                        column: 1,
                        message: format!(
                            "plan `{}` is also defined in {}",
                            plan.id,
                            first.display()
                        ),
                    });
                } else {
                    seen.insert(plan.id.clone(), file.clone());
                    plans.push(plan);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if plans.is_empty() && errors.is_empty() {
        errors.push(PlanError {
            file: dir.to_path_buf(),
            line: 1,
            column: 1,
            message: "no plan files (*.yaml) here".into(),
        });
    }
    if errors.is_empty() {
        Ok(Plans::new(plans))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "plan: T\ncoinsurance_percent: 20\ndeductible: { individual: 100, family: 200 }\nout_of_pocket_max: { individual: 500.00, family: 1000 }\ncopays: { \"99213\": 25 }\nprior_auth: [\"27447\"]\nfee_schedule:\n  \"99213\": 92.50\n  \"27447\": 15000\n";

    #[test]
    fn a_good_plan_compiles_to_cents() {
        let p = parse_plan(Path::new("t.yaml"), GOOD).expect("valid plan");
        assert_eq!(p.coinsurance_bp, 2000);
        assert_eq!(p.fee_schedule[&Code::new("99213").expect("code")], 9250);
        assert_eq!(p.oop_max_individual, 50_000);
        assert!(p.prior_auth.contains(&Code::new("27447").expect("code")));
    }

    #[test]
    fn bad_plans_are_located() {
        let e = parse_plan(Path::new("t.yaml"), &GOOD.replace("92.50", "92.505"))
            .expect_err("3 decimals");
        assert_eq!((e.line, e.file.to_str()), (8, Some("t.yaml")), "{e}");
        assert!(e.message.contains("more than two decimals"), "{e}");
        let e = parse_plan(Path::new("t.yaml"), &GOOD.replace("copays", "copay"))
            .expect_err("unknown key");
        assert_eq!(e.line, 5, "{e}");
        let e = parse_plan(
            Path::new("t.yaml"),
            &GOOD.replace("family: 200", "family: 50"),
        )
        .expect_err("family < ind");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.to_string().starts_with("t.yaml:3:"), "{e}");
    }
}
