//! Request bodies from raw JSON bytes. A typed fast path reads each field
//! straight into a JSON scalar (no map per customer, no key allocations) and
//! applies the very same rules as the general path; any body it does not
//! accept as valid is parsed again by the general path, which reports every
//! error. Only the speed differs, never the answer.

use serde::Deserialize;
use serde_json::Value;

use super::batch::parse_batch;
use super::customer::{
    Customer, FeatureValue, FieldError, Loc, customer, parse_customer, parse_customer_id, parse_value,
};
use super::feature::Feature;

/// One customer as serde sees it: aliases as in the general path.
#[derive(Deserialize)]
struct Typed {
    customer_id: Option<Value>,
    #[serde(alias = "CreditScore")]
    credit_score: Value,
    #[serde(alias = "Geography")]
    geography: Value,
    #[serde(alias = "Gender")]
    gender: Value,
    #[serde(alias = "Age")]
    age: Value,
    #[serde(alias = "Tenure")]
    tenure: Value,
    #[serde(alias = "Balance")]
    balance: Value,
    #[serde(alias = "NumOfProducts")]
    num_of_products: Value,
    #[serde(alias = "HasCrCard")]
    has_cr_card: Value,
    #[serde(alias = "IsActiveMember")]
    is_active_member: Value,
    #[serde(alias = "EstimatedSalary")]
    estimated_salary: Value,
}

#[derive(Deserialize)]
struct TypedBatch {
    customers: Vec<Typed>,
}

impl Typed {
    fn field(&self, feature: Feature) -> &Value {
        match feature {
            Feature::CreditScore => &self.credit_score,
            Feature::Geography => &self.geography,
            Feature::Gender => &self.gender,
            Feature::Age => &self.age,
            Feature::Tenure => &self.tenure,
            Feature::Balance => &self.balance,
            Feature::NumOfProducts => &self.num_of_products,
            Feature::HasCrCard => &self.has_cr_card,
            Feature::IsActiveMember => &self.is_active_member,
            Feature::EstimatedSalary => &self.estimated_salary,
        }
    }

    /// `None` when any rule fails: the general path then explains why.
    fn validate(&self) -> Option<Customer> {
        let customer_id = parse_customer_id(self.customer_id.as_ref(), &[]).ok()?;
        let mut values = [FeatureValue::Number(0.0); 10];
        for feature in Feature::ALL {
            values[feature as usize] = parse_value(feature.kind(), self.field(feature)).ok()?;
        }
        Some(customer(customer_id, values))
    }
}

/// The body of `POST /api/v1/predict`.
pub fn customer_from_json(bytes: &[u8]) -> Result<Customer, Vec<FieldError>> {
    if let Some(c) = serde_json::from_slice::<Typed>(bytes).ok().and_then(|t| t.validate()) {
        return Ok(c);
    }
    parse_customer(&general(bytes)?, &[Loc::from("body")])
}

/// The body of `POST /api/v1/predict/batch`, 1..=`max` customers.
pub fn batch_from_json(bytes: &[u8], max: usize) -> Result<Vec<Customer>, Vec<FieldError>> {
    let fast = serde_json::from_slice::<TypedBatch>(bytes)
        .ok()
        .filter(|b| (1..=max).contains(&b.customers.len()))
        .and_then(|b| b.customers.iter().map(Typed::validate).collect::<Option<Vec<_>>>());
    match fast {
        Some(customers) => Ok(customers),
        None => parse_batch(&general(bytes)?, max),
    }
}

fn general(bytes: &[u8]) -> Result<Value, Vec<FieldError>> {
    serde_json::from_slice(bytes).map_err(|e| vec![FieldError::json_invalid(e.to_string())])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "customer_id": "c1", "credit_score": 619, "geography": "France", "gender": "Female", "age": 42,
            "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": true,
            "is_active_member": 1, "estimated_salary": 101348.88
        })
    }

    /// Both paths must agree on every body: same customer, or same errors.
    fn agree(body: &Value) {
        let bytes = body.to_string().into_bytes();
        let general = parse_customer(body, &[Loc::from("body")]);
        assert_eq!(customer_from_json(&bytes), general, "{body}");
        let batch = json!({ "customers": [body, body] });
        assert_eq!(
            batch_from_json(batch.to_string().as_bytes(), 10),
            parse_batch(&batch, 10),
            "{batch}"
        );
    }

    #[test]
    fn fast_and_general_paths_agree() {
        agree(&valid());
        let aliased = json!({
            "CreditScore": 619, "Geography": "France", "Gender": "Female", "Age": 42, "Tenure": 2,
            "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1, "IsActiveMember": 1, "EstimatedSalary": 1.5
        });
        agree(&aliased);
        let mut both_spellings = valid();
        both_spellings["Age"] = json!(99);
        agree(&both_spellings);
        for (field, bad) in [
            ("age", json!(17)),
            ("age", json!(30.5)),
            ("age", json!("30")),
            ("geography", json!("Italy")),
            ("has_cr_card", json!(2)),
            ("customer_id", json!(5)),
            ("customer_id", Value::Null),
            ("balance", json!(-1)),
            ("extra", json!({"nested": [1, 2]})),
        ] {
            let mut body = valid();
            body[field] = bad;
            agree(&body);
        }
        let mut missing = valid();
        missing.as_object_mut().unwrap().remove("tenure");
        agree(&missing);
    }

    #[test]
    fn malformed_json_and_batch_limits_are_reported() {
        let err = customer_from_json(b"{not json").unwrap_err();
        assert_eq!(err[0].kind, "json_invalid");
        assert_eq!(
            batch_from_json(br#"{"customers": []}"#, 10).unwrap_err()[0].kind,
            "too_short"
        );
        let three = json!({ "customers": [valid(), valid(), valid()] }).to_string();
        assert_eq!(batch_from_json(three.as_bytes(), 2).unwrap_err()[0].kind, "too_long");
        assert_eq!(batch_from_json(three.as_bytes(), 3).unwrap().len(), 3);
    }
}
