//! Open Inference Protocol input tensors, one per feature, turned into
//! customers validated with the native API's rules.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::InferInput;
use crate::domain::{Coercion, Customer, Feature, FieldError, Loc, parse_customer};
use crate::error::AppError;

/// Turns one tensor per feature into customers, then validates each row
/// with the native API's rules.
pub(super) fn customers_from_tensors(inputs: &[InferInput], max_rows: usize) -> Result<Vec<Customer>, AppError> {
    let mut columns: Vec<Option<Vec<Value>>> = vec![None; Feature::ALL.len()];
    for input in inputs {
        let feature = Feature::from_model_name(&input.name)
            .ok_or_else(|| AppError::BadRequest(format!("unknown input '{}'", input.name)))?;
        if columns[feature as usize].is_some() {
            return Err(AppError::BadRequest(format!(
                "input for {} given twice",
                feature.api_name()
            )));
        }
        columns[feature as usize] = Some(tensor_values(input, feature, max_rows)?);
    }
    let mut rows: Option<usize> = None;
    for (feature, column) in Feature::ALL.iter().zip(&columns) {
        let column = column
            .as_ref()
            .ok_or_else(|| AppError::BadRequest(format!("missing input '{}'", feature.column_name())))?;
        if *rows.get_or_insert(column.len()) != column.len() {
            return Err(AppError::BadRequest(
                "all inputs must have the same number of rows".into(),
            ));
        }
    }
    let rows = rows.unwrap_or(0);
    if rows == 0 || rows > max_rows {
        return Err(AppError::BadRequest(format!(
            "inputs must have between 1 and {max_rows} rows, got {rows}"
        )));
    }
    let mut customers = Vec::with_capacity(rows);
    let mut errors: Vec<FieldError> = Vec::new();
    for row in 0..rows {
        let object: Map<String, Value> = Feature::ALL
            .iter()
            .zip(&columns)
            .map(|(f, c)| {
                (
                    f.api_name().to_owned(),
                    c.as_ref().map_or(Value::Null, |c| c[row].clone()),
                )
            })
            .collect();
        // The protocol declares each tensor's datatype: nothing to coerce.
        let loc = [Loc::from("inputs"), Loc::Index(row)];
        match parse_customer(&Value::Object(object), &loc, Coercion::Strict) {
            Ok(c) => customers.push(c),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(customers)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Checks datatype and shape, and flattens nested data.
fn tensor_values(input: &InferInput, feature: Feature, max_rows: usize) -> Result<Vec<Value>, AppError> {
    let bad = |why: String| AppError::BadRequest(format!("input '{}': {why}", input.name));
    let numeric = [
        "FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BOOL",
    ];
    let datatype_ok = if feature.is_categorical() {
        input.datatype == "BYTES"
    } else {
        numeric.contains(&input.datatype.as_str())
    };
    if !datatype_ok {
        let want = if feature.is_categorical() {
            "BYTES"
        } else {
            "a numeric datatype (FP32, FP64, INT64, ...)"
        };
        return Err(bad(format!(
            "datatype {} not accepted, expected {want}",
            input.datatype
        )));
    }
    let rows = match input.shape.as_slice() {
        [n] | [n, 1] => usize::try_from(*n).ok().filter(|n| (1..=max_rows).contains(n)),
        _ => None,
    };
    let Some(rows) = rows else {
        return Err(bad(format!(
            "shape {:?} must be [N, 1] or [N] with N between 1 and {max_rows}",
            input.shape
        )));
    };
    let mut values = Vec::with_capacity(rows);
    let mut data = serde_json::Deserializer::from_str(input.data.get());
    Flatten {
        out: &mut values,
        max: rows,
        depth: 0,
    }
    .deserialize(&mut data)
    .map_err(|e| bad(e.to_string()))?;
    if values.len() != rows {
        return Err(bad(format!(
            "shape {:?} does not match the {} data elements",
            input.shape,
            values.len()
        )));
    }
    Ok(values)
}

/// Reads `data` (flat, or nested as `[N, 1]`) into at most `max` scalars,
/// one element at a time: the element that would be one too many, a nested
/// array or an object ends the parse, so nothing is expanded past `max`.
struct Flatten<'a> {
    out: &'a mut Vec<Value>,
    max: usize,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth == 0 {
            deserializer.deserialize_seq(self)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl Flatten<'_> {
    fn push<E: de::Error>(self, item: Value) -> Result<(), E> {
        if self.out.len() == self.max {
            return Err(E::custom(format!(
                "more data elements than the shape's {} rows",
                self.max
            )));
        }
        self.out.push(item);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("data as an array of numbers, booleans or strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= 2 {
            return Err(de::Error::custom("data is nested deeper than [N, 1]"));
        }
        let (out, max, depth) = (self.out, self.max, self.depth + 1);
        while seq
            .next_element_seed(Flatten {
                out: &mut *out,
                max,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom("data elements must be numbers, booleans or strings"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<(), E> {
        self.push(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<(), E> {
        self.push(n.into())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<(), E> {
        self.push(n.into())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<(), E> {
        self.push(n.into())
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.push(Value::String(s.to_owned()))
    }
}
