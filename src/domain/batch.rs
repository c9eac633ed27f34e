//! Parsing `{"customers": [...]}` with index-precise error locations.

use serde_json::{Value, json};

use super::customer::{Customer, FieldError, Loc, not_an_object, parse_customer};
use super::field::Coercion;

/// Parses a batch body of 1..=`max` customers; errors name the index, e.g.
/// `["body", "customers", 3, "age"]`. `customers_len` is the list's length
/// when `body` holds only its first customers (`report`).
pub fn parse_batch(
    body: &Value,
    customers_len: Option<usize>,
    max: usize,
    coercion: Coercion,
) -> Result<Vec<Customer>, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![not_an_object(body, &[Loc::from("body")])]);
    };
    let loc = vec![Loc::from("body"), Loc::from("customers")];
    let items = match object.get("customers") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            let e = FieldError::new("list_type", loc, "Input should be a valid list");
            return Err(vec![FieldError {
                input: Some(other.clone()),
                ..e
            }]);
        }
        None => return Err(vec![FieldError::new("missing", loc, "Field required")]),
    };
    let len = customers_len.unwrap_or(items.len());
    if len == 0 || len > max {
        return Err(vec![length_error(loc, len, max)]);
    }
    let mut customers = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut item_loc = loc.clone();
        item_loc.push(Loc::Index(i));
        match parse_customer(item, &item_loc, coercion) {
            Ok(c) => customers.push(c),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() { Ok(customers) } else { Err(errors) }
}

fn length_error(loc: Vec<Loc>, len: usize, max: usize) -> FieldError {
    let (kind, msg, ctx) = if len == 0 {
        (
            "too_short",
            format!("List should have at least 1 item after validation, not {len}"),
            json!({"min_length": 1, "actual_length": len}),
        )
    } else {
        (
            "too_long",
            format!("List should have at most {max} items after validation, not {len}"),
            json!({"max_length": max, "actual_length": len}),
        )
    };
    FieldError {
        ctx: Some(ctx),
        ..FieldError::new(kind, loc, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(age: i64) -> Value {
        json!({
            "credit_score": 619, "geography": "France", "gender": "Female", "age": age,
            "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": 1,
            "is_active_member": 1, "estimated_salary": 101348.88
        })
    }

    #[test]
    fn errors_name_the_index() {
        let body = json!({"customers": [customer(40), customer(40), customer(40), customer(12)]});
        let errors = parse_batch(&body, None, 10, Coercion::Lax).unwrap_err();
        assert_eq!(errors.len(), 1);
        let loc = serde_json::to_value(&errors[0].loc).unwrap();
        assert_eq!(loc, json!(["body", "customers", 3, "age"]));
    }

    #[test]
    fn size_limits_are_enforced() {
        assert_eq!(
            parse_batch(&json!({"customers": []}), None, 2, Coercion::Lax).unwrap_err()[0].kind,
            "too_short"
        );
        let three = json!({"customers": [customer(40), customer(40), customer(40)]});
        assert_eq!(
            parse_batch(&three, None, 2, Coercion::Lax).unwrap_err()[0].kind,
            "too_long"
        );
        assert_eq!(parse_batch(&three, None, 3, Coercion::Lax).unwrap().len(), 3);
        assert_eq!(
            parse_batch(&json!({}), None, 2, Coercion::Lax).unwrap_err()[0].kind,
            "missing"
        );
        assert_eq!(
            parse_batch(&json!({"customers": 1}), None, 2, Coercion::Lax).unwrap_err()[0].kind,
            "list_type"
        );
    }
}
