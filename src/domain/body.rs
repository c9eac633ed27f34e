//! Request bodies from raw JSON bytes. A borrowing fast path reads each field
//! straight into a scalar that borrows strings from the body (no map per
//! customer, no key or category allocations) and applies the very same rules
//! as the reporting path (`JsonScalar`); any body it does not accept as valid
//! is parsed again by the reporting path, which reports every error. Only the
//! speed differs, never the answer.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::batch::parse_batch;
use super::customer::{
    Customer, FeatureValue, FieldError, JsonScalar, Loc, customer, parse_customer, parse_customer_id, parse_value,
};
use super::feature::Feature;

/// A JSON value as the fast path keeps it: strings borrowed from the body
/// when they hold no escapes, numbers as serde_json reads them for `Value`,
/// arrays and objects skipped (no field accepts one; the reporting path
/// reports them).
enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Text(Cow<'a, str>),
    Nested,
}

impl JsonScalar for Scalar<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor(PhantomData))
    }
}

struct ScalarVisitor<'a>(PhantomData<Scalar<'a>>);

/// Integers convert to f64 as `Value::as_f64` converts them.
impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Number(n as f64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Number(n as f64))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Number(n))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Text(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Text(Cow::Owned(s.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested)
    }
}

/// One customer as serde sees it: aliases as in the reporting path.
#[derive(Deserialize)]
struct BorrowedCustomer<'a> {
    #[serde(borrow)]
    customer_id: Option<Scalar<'a>>,
    #[serde(alias = "CreditScore", borrow)]
    credit_score: Scalar<'a>,
    #[serde(alias = "Geography", borrow)]
    geography: Scalar<'a>,
    #[serde(alias = "Gender", borrow)]
    gender: Scalar<'a>,
    #[serde(alias = "Age", borrow)]
    age: Scalar<'a>,
    #[serde(alias = "Tenure", borrow)]
    tenure: Scalar<'a>,
    #[serde(alias = "Balance", borrow)]
    balance: Scalar<'a>,
    #[serde(alias = "NumOfProducts", borrow)]
    num_of_products: Scalar<'a>,
    #[serde(alias = "HasCrCard", borrow)]
    has_cr_card: Scalar<'a>,
    #[serde(alias = "IsActiveMember", borrow)]
    is_active_member: Scalar<'a>,
    #[serde(alias = "EstimatedSalary", borrow)]
    estimated_salary: Scalar<'a>,
}

#[derive(Deserialize)]
struct BorrowedBatch {
    customers: ValidCustomers,
}

/// Customers validated as they are read: no list of raw customers is kept,
/// and the first invalid one ends the fast path.
struct ValidCustomers(Vec<Customer>);

impl<'de> Deserialize<'de> for ValidCustomers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ValidCustomersVisitor)
    }
}

struct ValidCustomersVisitor;

impl<'de> Visitor<'de> for ValidCustomersVisitor {
    type Value = ValidCustomers;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of valid customers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ValidCustomers, A::Error> {
        let mut customers = Vec::new();
        while let Some(typed) = seq.next_element::<BorrowedCustomer>()? {
            let customer = typed.validate().ok_or_else(|| de::Error::custom("invalid customer"))?;
            customers.push(customer);
        }
        Ok(ValidCustomers(customers))
    }
}

impl BorrowedCustomer<'_> {
    fn field(&self, feature: Feature) -> &Scalar<'_> {
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

    /// `None` when any rule fails: the reporting path then explains why.
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
    if let Some(c) = serde_json::from_slice::<BorrowedCustomer>(bytes)
        .ok()
        .and_then(|t| t.validate())
    {
        return Ok(c);
    }
    parse_customer(&json_value(bytes)?, &[Loc::from("body")])
}

/// The body of `POST /api/v1/predict/batch`, 1..=`max` customers.
pub fn batch_from_json(bytes: &[u8], max: usize) -> Result<Vec<Customer>, Vec<FieldError>> {
    match serde_json::from_slice::<BorrowedBatch>(bytes) {
        Ok(BorrowedBatch {
            customers: ValidCustomers(customers),
        }) if (1..=max).contains(&customers.len()) => Ok(customers),
        _ => parse_batch(&json_value(bytes)?, max),
    }
}

/// The whole body as a `Value`, for the reporting path.
fn json_value(bytes: &[u8]) -> Result<Value, Vec<FieldError>> {
    serde_json::from_slice(bytes).map_err(|e| vec![FieldError::json_invalid(e.to_string())])
}

#[cfg(test)]
mod tests;
