//! Numbers in workflow files, spelled one way.
//!
//! A whole-number key (`priority`, `retries`, `partitions`, `capacity`, `start_day`,
//! `nights`) takes a YAML integer: `48`. A number key (`elasticity`, `p_miss_above`) takes a
//! YAML integer or decimal: `1`, `1.2`. A quoted `"48"` is text, and `6.0` is not a whole
//! number, so both are refused with the key's message, the same everywhere: the YAML reader
//! alone would take `"48"` for 48 but refuse `6.0`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{Deserialize, Deserializer, Error, Unexpected, Visitor};

/// A whole number written as a YAML integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Whole(pub i64);

/// A number written as a YAML integer or decimal.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Number(pub f64);

struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = Whole;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, written without quotes")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<Whole, E> {
        Ok(Whole(v))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Whole, E> {
        i64::try_from(v)
            .map(Whole)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<Whole, E> {
        Err(E::invalid_type(Unexpected::Float(v), &self))
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Whole, E> {
        Err(E::invalid_type(Unexpected::Str(v), &self))
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<Whole, E> {
        Err(E::invalid_type(Unexpected::Bool(v), &self))
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WholeVisitor)
    }
}

struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a float number, written without quotes")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number(v as f64))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number(v as f64))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number(v))
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Number, E> {
        Err(E::invalid_type(Unexpected::Str(v), &self))
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<Number, E> {
        Err(E::invalid_type(Unexpected::Bool(v), &self))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor)
    }
}

impl JsonSchema for Whole {
    fn schema_name() -> Cow<'static, str> {
        i64::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        i64::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

impl JsonSchema for Number {
    fn schema_name() -> Cow<'static, str> {
        f64::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        f64::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}
