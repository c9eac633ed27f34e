//! Open Inference Protocol input tensors, one per feature, turned into
//! customers validated with the native API's rules.

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
        columns[feature as usize] = Some(tensor_values(input, feature)?);
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
fn tensor_values(input: &InferInput, feature: Feature) -> Result<Vec<Value>, AppError> {
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
    let mut values = Vec::new();
    flatten(&input.data, &mut values, 0).map_err(bad)?;
    let shape_ok = match input.shape.as_slice() {
        [n] | [n, 1] => usize::try_from(*n).is_ok_and(|n| n == values.len()),
        _ => false,
    };
    if !shape_ok {
        return Err(bad(format!(
            "shape {:?} must be [N, 1] or [N] and match the {} data elements",
            input.shape,
            values.len()
        )));
    }
    Ok(values)
}

fn flatten(value: &Value, out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    match value {
        Value::Array(items) if depth < 2 => items.iter().try_for_each(|v| flatten(v, out, depth + 1)),
        Value::Array(_) => Err("data is nested deeper than [N, 1]".into()),
        other if depth == 0 => Err(format!("data must be an array, got {other}")),
        other => {
            out.push(other.clone());
            Ok(())
        }
    }
}
