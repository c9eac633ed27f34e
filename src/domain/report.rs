//! The body as the reporting path reads it: a `serde_json::Value` that keeps
//! everything validation looks at and nothing else, so that a hostile body
//! costs about its own size in memory, not dozens of times that.
//!
//! A plain `Value` of a 2 MiB array of `1,1,1,...` holds a million 32-byte
//! values; echoing it in an error copies it again. Here:
//! - object keys that the API does not read are skipped unread;
//! - the `customers` list is counted in full (its length is reported) but
//!   only its first `max_items` customers are kept;
//! - any other array, and an object given as a field's value, keeps its first
//!   [`ECHO_ITEMS`] elements, and containers inside those are kept empty: a
//!   field's error depends only on its JSON type, and the `input` echoed in
//!   the error stays small.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::feature::Feature;

/// Elements kept of an array that is not the `customers` list.
pub const ECHO_ITEMS: usize = 8;

/// A body parsed for reporting, and the true length of its `customers` list
/// when it has one (kept customers may be fewer).
pub struct ReportBody {
    pub value: Value,
    pub customers_len: Option<usize>,
}

pub fn report_body(bytes: &[u8], max_items: usize) -> Result<ReportBody, serde_json::Error> {
    let customers_len = Cell::new(None);
    let seed = Node {
        role: Role::Top,
        max_items,
        customers_len: &customers_len,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = seed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(ReportBody {
        value,
        customers_len: customers_len.get(),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// The whole body: a customer, or a batch.
    Top,
    /// The value of a batch's `customers` key.
    Customers,
    /// One element of the `customers` list.
    Customer,
    /// The value of a field; containers in it only need their type.
    Field,
    /// Inside a container that only needs its type: kept empty.
    Inside,
}

fn is_read(key: &str) -> bool {
    key == "customers" || key == "customer_id" || Feature::from_key(key).is_some()
}

#[derive(Clone, Copy)]
struct Node<'c> {
    role: Role,
    max_items: usize,
    customers_len: &'c Cell<Option<usize>>,
}

impl Node<'_> {
    fn with(self, role: Role) -> Self {
        Node { role, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(n.into())
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let (keep, element) = match self.role {
            Role::Customers => (self.max_items, Role::Customer),
            Role::Top | Role::Customer => (ECHO_ITEMS, Role::Field),
            Role::Field => (ECHO_ITEMS, Role::Inside),
            Role::Inside => (0, Role::Inside),
        };
        let mut items = Vec::new();
        let mut len = 0;
        loop {
            let more = if len < keep {
                seq.next_element_seed(self.with(element))?.map(|v| items.push(v))
            } else {
                seq.next_element::<IgnoredAny>()?.map(drop)
            };
            if more.is_none() {
                break;
            }
            len += 1;
        }
        if self.role == Role::Customers {
            self.customers_len.set(Some(len));
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let role = match (self.role, key.as_str()) {
                (Role::Top, "customers") => Some(Role::Customers),
                (Role::Top | Role::Customer, k) => is_read(k).then_some(Role::Field),
                (Role::Field, _) => (object.len() < ECHO_ITEMS).then_some(Role::Inside),
                (Role::Customers | Role::Inside, _) => None,
            };
            match role {
                Some(role) => {
                    let value = map.next_value_seed(self.with(role))?;
                    object.insert(key, value);
                }
                None => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(body: &str) -> ReportBody {
        report_body(body.as_bytes(), 3).unwrap()
    }

    #[test]
    fn keeps_what_validation_reads_and_drops_the_rest() {
        let body = parsed(r#"{"age": 42, "Geography": "France", "surname": "x", "extra": [1, 2]}"#);
        assert_eq!(body.value, json!({"age": 42, "Geography": "France"}));
        assert_eq!(body.customers_len, None);
    }

    #[test]
    fn the_customers_list_is_counted_in_full_but_kept_only_up_to_the_maximum() {
        let body = parsed(r#"{"customers": [{"age": 1}, {"age": 2}, {"age": 3}, {"age": 4}, 5]}"#);
        assert_eq!(body.value, json!({"customers": [{"age": 1}, {"age": 2}, {"age": 3}]}));
        assert_eq!(body.customers_len, Some(5));
    }

    #[test]
    fn other_arrays_keep_a_few_elements_and_containers_in_fields_are_empty() {
        let long: Vec<u32> = (0..100).collect();
        let body =
            parsed(&json!({"age": long, "tenure": {"a": [1], "b": 2}, "balance": [[1, 2], {"b": 1}]}).to_string());
        assert_eq!(
            body.value,
            json!({"age": [0, 1, 2, 3, 4, 5, 6, 7], "tenure": {"a": [], "b": 2}, "balance": [[], {}]})
        );
        let top = parsed(&json!(long).to_string());
        assert_eq!(top.value.as_array().map(Vec::len), Some(ECHO_ITEMS));
    }

    #[test]
    fn syntax_errors_are_serde_jsons_own() {
        let error = report_body(b"{\"age\": }", 3).err().unwrap();
        assert!(error.is_syntax(), "{error}");
        assert!(report_body(b"{} x", 3).err().unwrap().is_syntax());
    }
}
