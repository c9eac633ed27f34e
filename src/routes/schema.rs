//! Types that exist to describe the API in OpenAPI. Request bodies are parsed
//! by hand (`domain`) so that every bad field is reported at once; these
//! structs document that contract, and a test keeps the two in step.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One bank customer. The data set's column names (`CreditScore`,
/// `Geography`, ...) are accepted as aliases of these fields.
#[allow(dead_code)] // read by utoipa only
#[derive(ToSchema)]
#[schema(example = json!({
    "customer_id": "C-1001", "credit_score": 619, "geography": "France", "gender": "Female",
    "age": 42, "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": 1,
    "is_active_member": 1, "estimated_salary": 101348.88
}))]
pub struct CustomerRequest {
    /// Optional caller reference, echoed in the response.
    #[schema(max_length = 256)]
    customer_id: Option<String>,
    #[schema(minimum = 300, maximum = 850)]
    credit_score: i64,
    geography: GeographyName,
    gender: GenderName,
    #[schema(minimum = 18, maximum = 100)]
    age: i64,
    /// Years as a customer.
    #[schema(minimum = 0, maximum = 10)]
    tenure: i64,
    #[schema(minimum = 0)]
    balance: f64,
    #[schema(minimum = 1, maximum = 4)]
    num_of_products: i64,
    /// 0 or 1 (`false`/`true` also accepted).
    #[schema(schema_with = flag)]
    has_cr_card: i64,
    /// 0 or 1 (`false`/`true` also accepted).
    #[schema(schema_with = flag)]
    is_active_member: i64,
    #[schema(minimum = 0)]
    estimated_salary: f64,
}

/// A 0/1 flag: the integers 0 and 1, or the booleans `false` and `true`.
fn flag() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(1)),
            )
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .description(Some("0 or 1 (`false`/`true` also accepted)."))
            .build(),
    )
}

/// Country of the customer's branch.
#[allow(dead_code)] // read by utoipa only
#[derive(ToSchema)]
pub enum GeographyName {
    France,
    Spain,
    Germany,
}

#[allow(dead_code)] // read by utoipa only
#[derive(ToSchema)]
pub enum GenderName {
    Male,
    Female,
}

/// Up to `max_batch_size` customers (default 1000).
#[allow(dead_code)] // read by utoipa only
#[derive(ToSchema)]
pub struct BatchRequest {
    #[schema(min_items = 1, max_items = 1000)]
    customers: Vec<CustomerRequest>,
}

/// Every error: `detail` is a message, or for 422 the list of field errors
/// (FastAPI's shape).
#[allow(dead_code)] // read by utoipa only
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(value_type = Value, example = json!([{
        "type": "greater_than_equal", "loc": ["body", "age"],
        "msg": "Input should be greater than or equal to 18", "input": 15, "ctx": {"ge": 18}
    }]))]
    detail: Value,
    /// The request's `x-request-id`.
    request_id: Option<String>,
}

/// Open Inference Protocol error.
#[allow(dead_code)] // read by utoipa only
#[derive(Serialize, ToSchema)]
pub struct V2ErrorBody {
    error: String,
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, schema::Schema};

    use super::*;
    use crate::domain::{Feature, GENDERS, GEOGRAPHIES};

    #[test]
    fn documented_fields_are_exactly_the_parsed_fields() {
        let RefOr::T(Schema::Object(object)) = CustomerRequest::schema() else {
            panic!("customer schema is an object");
        };
        let mut documented: Vec<_> = object.properties.keys().cloned().collect();
        let mut parsed: Vec<_> = Feature::ALL.iter().map(|f| f.api_name().to_owned()).collect();
        parsed.push("customer_id".into());
        documented.sort();
        parsed.sort();
        assert_eq!(documented, parsed);
    }

    #[test]
    fn documented_categories_are_exactly_the_parsed_categories() {
        let values = |schema: RefOr<Schema>| -> Vec<String> {
            let json = serde_json::to_value(schema).unwrap();
            json["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(values(GeographyName::schema()), GEOGRAPHIES);
        assert_eq!(values(GenderName::schema()), GENDERS);
    }
}
