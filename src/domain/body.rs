//! Request bodies from raw JSON bytes. A borrowing fast path reads each field
//! straight into a scalar that borrows strings from the body (no map per
//! customer, no key or category allocations) and accepts a body only if every
//! value already has its feature's JSON type (the strict rules, through
//! `JsonScalar`). Any other body is parsed again by the reporting path, with
//! the configured coercion, which also reports every error. A strictly valid
//! body means the same under lax rules, so only the speed differs, never the
//! answer.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::batch::parse_batch;
use super::customer::{
    Customer, FeatureValue, FieldError, JsonScalar, Loc, customer, parse_customer, parse_customer_id,
};
use super::feature::Feature;
use super::field::{Coercion, parse_value};
use super::report::{ReportBody, report_body};

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

/// One customer as the fast path reads it: each field's scalar, found by
/// the feature table's names and aliases (as the reporting path finds them).
/// A missing or repeated field, or a body that is not an object, fails the
/// fast path, and the reporting path then says why.
struct BorrowedCustomer<'a> {
    customer_id: Option<Scalar<'a>>,
    values: [Option<Scalar<'a>>; 10],
}

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedCustomer<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CustomerVisitor(PhantomData))
    }
}

struct CustomerVisitor<'a>(PhantomData<BorrowedCustomer<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for CustomerVisitor<'a> {
    type Value = BorrowedCustomer<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a customer object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BorrowedCustomer<'a>, A::Error> {
        // Outer `Some`: the key was seen (its value may still be null).
        let mut customer_id: Option<Option<Scalar<'a>>> = None;
        let mut values: [Option<Scalar<'a>>; 10] = Default::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::CustomerId if customer_id.is_none() => customer_id = Some(map.next_value()?),
                Key::Feature(f) if values[f as usize].is_none() => values[f as usize] = Some(map.next_value()?),
                Key::CustomerId | Key::Feature(_) => return Err(de::Error::custom("repeated field")),
                Key::Other => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(BorrowedCustomer {
            customer_id: customer_id.flatten(),
            values,
        })
    }
}

/// A key of a customer object, matched without allocating.
enum Key {
    CustomerId,
    Feature(Feature),
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Key, E> {
        if key == "customer_id" {
            return Ok(Key::CustomerId);
        }
        Ok(Feature::from_key(key).map_or(Key::Other, Key::Feature))
    }
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
    /// `None` when any strict rule fails: the reporting path then decides.
    fn validate(&self) -> Option<Customer> {
        let customer_id = parse_customer_id(self.customer_id.as_ref(), &[]).ok()?;
        let mut values = [FeatureValue::Number(0.0); 10];
        for feature in Feature::ALL {
            let scalar = self.values[feature as usize].as_ref()?;
            values[feature as usize] = parse_value(feature.kind(), scalar, Coercion::Strict).ok()?;
        }
        Some(customer(customer_id, values))
    }
}

/// The body of `POST /api/v1/predict`.
pub fn customer_from_json(bytes: &[u8], coercion: Coercion) -> Result<Customer, Vec<FieldError>> {
    if let Some(c) = serde_json::from_slice::<BorrowedCustomer>(bytes)
        .ok()
        .and_then(|t| t.validate())
    {
        return Ok(c);
    }
    parse_customer(&reported(bytes, 0)?.value, &[Loc::from("body")], coercion)
}

/// The body of `POST /api/v1/predict/batch`, 1..=`max` customers.
pub fn batch_from_json(bytes: &[u8], max: usize, coercion: Coercion) -> Result<Vec<Customer>, Vec<FieldError>> {
    match serde_json::from_slice::<BorrowedBatch>(bytes) {
        Ok(BorrowedBatch {
            customers: ValidCustomers(customers),
        }) if (1..=max).contains(&customers.len()) => Ok(customers),
        _ => {
            let body = reported(bytes, max)?;
            parse_batch(&body.value, body.customers_len, max, coercion)
        }
    }
}

/// The body as the reporting path reads it (`report`). An empty body is a
/// missing one, as FastAPI reports it.
fn reported(bytes: &[u8], max_customers: usize) -> Result<ReportBody, Vec<FieldError>> {
    if bytes.is_empty() {
        let missing = FieldError::new("missing", vec![Loc::from("body")], "Field required");
        return Err(vec![missing]);
    }
    report_body(bytes, max_customers).map_err(|e| vec![FieldError::json_syntax(&e, bytes)])
}

#[cfg(test)]
mod tests;
