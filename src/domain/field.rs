//! One JSON value read as one feature, by the feature's [`Kind`], in one of
//! two modes: lax (FastAPI/pydantic's default, so the clients of the Python
//! service keep working) or strict (the JSON type must be the feature's).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::customer::{FeatureValue, FieldError, JsonScalar};
use super::feature::Kind;
use super::lax::{IntTextError, bool_from_text, float_from_text, int_from_text};

/// How far a JSON value may be from the feature's type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Coercion {
    /// As pydantic v2 by default: `"619"` and `619.0` are an integer,
    /// `true`/`"yes"`/`"1"` a flag, `"1e3"` a number.
    #[default]
    Lax,
    /// Numbers must be JSON numbers (whole ones for integers), flags 0, 1,
    /// false or true.
    Strict,
}

/// Parses one JSON value by kind; the error's `loc` is filled in by the caller.
pub fn parse_value<S: JsonScalar + ?Sized>(
    kind: Kind,
    value: &S,
    coercion: Coercion,
) -> Result<FeatureValue, FieldError> {
    let lax = coercion == Coercion::Lax;
    match kind {
        Kind::Integer { min, max } => {
            let n = match (value.number(), value.boolean(), value.text()) {
                (Some(n), _, _) => n,
                (None, Some(b), _) if lax => f64::from(u8::from(b)),
                (None, None, Some(text)) if lax => int_from_text(text).map_err(|e| match e {
                    IntTextError::Syntax => err(
                        "int_parsing",
                        "Input should be a valid integer, unable to parse string as an integer",
                    ),
                    IntTextError::TooLong => err(
                        "int_parsing_size",
                        "Unable to parse input string as an integer, exceeded maximum size",
                    ),
                })?,
                _ => return Err(err("int_type", "Input should be a valid integer")),
            };
            if n.fract() != 0.0 {
                let msg = "Input should be a valid integer, got a number with a fractional part";
                return Err(err("int_from_float", msg));
            }
            check_bounds(n, min as f64, Some(max as f64))
        }
        Kind::Number { min } => {
            let n = match (value.number(), value.boolean(), value.text()) {
                (Some(n), _, _) => n,
                (None, Some(b), _) if lax => f64::from(u8::from(b)),
                (None, None, Some(text)) if lax => float_from_text(text).ok_or_else(|| {
                    err(
                        "float_parsing",
                        "Input should be a valid number, unable to parse string as a number",
                    )
                })?,
                _ => return Err(err("float_type", "Input should be a valid number")),
            };
            // pydantic lets NaN and infinities through; the model must not see them.
            if !n.is_finite() {
                return Err(err("finite_number", "Input should be a finite number"));
            }
            check_bounds(n, min, None)
        }
        Kind::Flag if lax => flag_lax(value),
        Kind::Flag => match (value.boolean(), value.number()) {
            (Some(b), _) => Ok(FeatureValue::Number(f64::from(u8::from(b)))),
            (None, Some(n)) if n == 0.0 || n == 1.0 => Ok(FeatureValue::Number(n)),
            _ => Err(err("literal_error", "Input should be 0, 1, false or true")
                .with_ctx(json!({ "expected": "0, 1, false or true" }))),
        },
        Kind::Category(allowed) => {
            let text = value.text().unwrap_or_default();
            match allowed.iter().find(|a| **a == text) {
                Some(a) => Ok(FeatureValue::Category(a)),
                None => {
                    let expected = quoted_choice(allowed);
                    Err(err("literal_error", &format!("Input should be {expected}"))
                        .with_ctx(json!({ "expected": expected })))
                }
            }
        }
    }
}

/// A flag as pydantic reads a `bool`: true/false, 0/1 (also 0.0/1.0), or one
/// of its string spellings. Other whole numbers "cannot be interpreted";
/// anything else is not a boolean at all.
fn flag_lax<S: JsonScalar + ?Sized>(value: &S) -> Result<FeatureValue, FieldError> {
    let flag = match (value.boolean(), value.number(), value.text()) {
        (Some(b), _, _) => Some(b),
        (None, Some(n), _) if n == 0.0 || n == 1.0 => Some(n == 1.0),
        (None, Some(n), _) if n.fract() == 0.0 && n.abs() < 9.2e18 => None,
        (None, None, Some(text)) => bool_from_text(text),
        _ => return Err(err("bool_type", "Input should be a valid boolean")),
    };
    flag.map(|b| FeatureValue::Number(f64::from(u8::from(b))))
        .ok_or_else(|| {
            err(
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
            )
        })
}

fn err(kind: &'static str, msg: &str) -> FieldError {
    FieldError::new(kind, Vec::new(), msg)
}

fn check_bounds(n: f64, min: f64, max: Option<f64>) -> Result<FeatureValue, FieldError> {
    if n < min {
        let msg = format!("Input should be greater than or equal to {min}");
        return Err(FieldError::new("greater_than_equal", Vec::new(), msg)
            .with_ctx(json!({ "ge": FeatureValue::Number(min).to_json() })));
    }
    match max {
        Some(max) if n > max => {
            let msg = format!("Input should be less than or equal to {max}");
            Err(FieldError::new("less_than_equal", Vec::new(), msg)
                .with_ctx(json!({ "le": FeatureValue::Number(max).to_json() })))
        }
        _ => Ok(FeatureValue::Number(n)),
    }
}

/// `'France', 'Spain' or 'Germany'`, as pydantic words a Literal.
fn quoted_choice(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}
