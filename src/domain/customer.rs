//! Parsing a JSON customer into a validated [`Customer`]: every bad field is
//! reported at once, in FastAPI/pydantic's error vocabulary, so clients of the
//! Python service keep working.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::feature::Feature;
use super::field::{Coercion, parse_value};

/// A validated feature value. Categories point into the allowed set, so an
/// invalid category cannot be represented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureValue {
    Number(f64),
    Category(&'static str),
}

impl FeatureValue {
    pub fn to_json(self) -> Value {
        match self {
            // Whole numbers print as integers (age 42, not 42.0).
            FeatureValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => json!(n as i64),
            FeatureValue::Number(n) => json!(n),
            FeatureValue::Category(s) => json!(s),
        }
    }
}

/// One customer whose every feature passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub customer_id: Option<String>,
    values: [FeatureValue; 10],
}

impl Customer {
    pub fn get(&self, feature: Feature) -> FeatureValue {
        self.values[feature as usize]
    }

    /// The same customer with one feature replaced (used for explanations).
    pub fn with(&self, feature: Feature, value: FeatureValue) -> Customer {
        let mut copy = self.clone();
        copy.values[feature as usize] = value;
        copy
    }
}

/// A path element of an error location: `["body", "customers", 3, "age"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Loc {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loc::Key(key) => f.write_str(key),
            Loc::Index(i) => write!(f, "{i}"),
        }
    }
}

impl From<&str> for Loc {
    fn from(s: &str) -> Self {
        Loc::Key(s.to_owned())
    }
}

/// One validation failure, serialised exactly like a pydantic v2 error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub loc: Vec<Loc>,
    pub msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

impl FieldError {
    pub fn new(kind: &'static str, loc: Vec<Loc>, msg: impl Into<String>) -> Self {
        FieldError {
            kind,
            loc,
            msg: msg.into(),
            input: None,
            ctx: None,
        }
    }

    /// A JSON syntax error, worded like FastAPI's `json_invalid`.
    pub fn json_invalid(message: String) -> Self {
        FieldError::new("json_invalid", vec![Loc::from("body")], "JSON decode error")
            .with_ctx(json!({ "error": message }))
    }

    /// A body that is not JSON, located as FastAPI locates it: `["body", n]`,
    /// `n` being the character offset where parsing stopped (the end of the
    /// body when it ended early, or where the string it ended in began).
    pub fn json_syntax(error: &serde_json::Error, body: &[u8]) -> Self {
        let chars = |bytes: &[u8]| String::from_utf8_lossy(bytes).chars().count();
        let offset = if error.is_eof() {
            unterminated_string_start(body).map_or_else(|| chars(body), |at| chars(&body[..at]))
        } else {
            // serde_json counts lines from 1 and columns in bytes from 1.
            let line_start: usize = body
                .split(|b| *b == b'\n')
                .take(error.line().saturating_sub(1))
                .map(|line| line.len() + 1)
                .sum();
            chars(&body[..(line_start + error.column().saturating_sub(1)).min(body.len())])
        };
        let mut e = FieldError::json_invalid(error.to_string());
        e.loc.push(Loc::Index(offset));
        e
    }

    fn with_input(mut self, input: &Value) -> Self {
        self.input = Some(input.clone());
        self
    }

    pub(super) fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }
}

pub const MAX_CUSTOMER_ID_CHARS: usize = 256;

/// What the field rules read from a JSON scalar. Implemented by
/// `serde_json::Value` (the reporting path) and by the borrowing fast path's
/// borrowed scalar, so that both paths run the very same rules.
pub trait JsonScalar {
    fn is_null(&self) -> bool;
    /// Some for JSON numbers only (never for numeric strings).
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    fn text(&self) -> Option<&str>;
}

impl JsonScalar for Value {
    fn is_null(&self) -> bool {
        Value::is_null(self)
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn text(&self) -> Option<&str> {
        self.as_str()
    }
}

/// Parses one customer object found at `loc` (e.g. `["body"]`).
pub fn parse_customer(value: &Value, loc: &[Loc], coercion: Coercion) -> Result<Customer, Vec<FieldError>> {
    let Some(object) = value.as_object() else {
        return Err(vec![not_an_object(value, loc)]);
    };
    let mut errors = Vec::new();
    let id = object.get("customer_id");
    let customer_id = parse_customer_id(id, loc).unwrap_or_else(|e| {
        errors.push(match id {
            Some(v) => e.with_input(v),
            None => e,
        });
        None
    });
    let mut values = [FeatureValue::Number(0.0); 10];
    for feature in Feature::ALL {
        match parse_field(object, feature, loc, coercion) {
            Ok(v) => values[feature as usize] = v,
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Customer { customer_id, values })
    } else {
        Err(errors)
    }
}

/// Where a body that ends inside a string opened that string: Python's json
/// module reports "Unterminated string starting at" that quote.
fn unterminated_string_start(body: &[u8]) -> Option<usize> {
    let (mut open, mut escaped) = (None, false);
    for (i, &byte) in body.iter().enumerate() {
        match (open, byte) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), b'\\') => escaped = true,
            (Some(_), b'"') => open = None,
            (None, b'"') => open = Some(i),
            _ => {}
        }
    }
    open
}

/// pydantic's error for a model given something other than an object.
pub(super) fn not_an_object(value: &Value, loc: &[Loc]) -> FieldError {
    let msg = "Input should be a valid dictionary or object to extract fields from";
    FieldError::new("model_attributes_type", loc.to_vec(), msg).with_input(value)
}

/// Builds a customer from already-validated parts (the typed fast path).
pub(super) fn customer(customer_id: Option<String>, values: [FeatureValue; 10]) -> Customer {
    Customer { customer_id, values }
}

fn child(loc: &[Loc], key: &str) -> Vec<Loc> {
    let mut path = loc.to_vec();
    path.push(Loc::from(key));
    path
}

/// The optional `customer_id`: absent or null, or a string of at most
/// `MAX_CUSTOMER_ID_CHARS` characters. Errors carry no input: the caller
/// holding a `Value` adds it.
pub(super) fn parse_customer_id<S: JsonScalar>(value: Option<&S>, loc: &[Loc]) -> Result<Option<String>, FieldError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match value.text() {
        Some(s) if s.chars().count() <= MAX_CUSTOMER_ID_CHARS => Ok(Some(s.to_owned())),
        Some(_) => Err(FieldError::new(
            "string_too_long",
            child(loc, "customer_id"),
            format!("String should have at most {MAX_CUSTOMER_ID_CHARS} characters"),
        )
        .with_ctx(json!({ "max_length": MAX_CUSTOMER_ID_CHARS }))),
        None => Err(FieldError::new(
            "string_type",
            child(loc, "customer_id"),
            "Input should be a valid string",
        )),
    }
}

/// Looks a feature up by its API name, then by its data-set alias.
fn parse_field(
    object: &Map<String, Value>,
    feature: Feature,
    loc: &[Loc],
    coercion: Coercion,
) -> Result<FeatureValue, FieldError> {
    let found = [feature.api_name(), feature.column_name()]
        .into_iter()
        .find_map(|key| object.get(key).map(|v| (key, v)));
    let Some((key, value)) = found else {
        return Err(FieldError::new(
            "missing",
            child(loc, feature.api_name()),
            "Field required",
        ));
    };
    parse_value(feature.kind(), value, coercion).map_err(|e| FieldError {
        loc: child(loc, key),
        ..e.with_input(value)
    })
}

#[cfg(test)]
mod tests;
