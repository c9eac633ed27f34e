//! Types that exist to describe the API in OpenAPI. Request bodies are parsed
//! by hand (`domain`) so that every bad field is reported at once; the
//! customer's schema is built from the same feature table the parser reads.

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::{Feature, Kind, MAX_CUSTOMER_ID_CHARS, example_customer};

/// One bank customer, documented from the feature table (`domain::Feature`:
/// names, ranges, categories, descriptions, example), the same table the
/// parser reads, so the two cannot drift apart.
pub struct CustomerRequest;

impl ToSchema for CustomerRequest {}

impl PartialSchema for CustomerRequest {
    fn schema() -> RefOr<Schema> {
        let id = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some("Optional caller reference, echoed in the response."))
            .max_length(Some(MAX_CUSTOMER_ID_CHARS));
        let mut customer = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "One bank customer. The data set's column names (`CreditScore`, `Geography`, ...) \
                 are accepted as aliases of these fields.",
            ))
            .property("customer_id", id);
        for feature in Feature::ALL {
            customer = customer
                .property(feature.api_name(), feature_schema(feature))
                .required(feature.api_name());
        }
        // `example` (not 3.1's `examples`): Swagger UI fills "Try it out" from it.
        #[allow(deprecated)]
        let customer = customer.example(Some(example_customer()));
        Schema::Object(customer.build()).into()
    }
}

fn feature_schema(feature: Feature) -> Schema {
    let description = feature.description();
    let number = |kind: KnownFormat| {
        ObjectBuilder::new()
            .format(Some(SchemaFormat::KnownFormat(kind)))
            .description(description)
    };
    match feature.kind() {
        Kind::Integer { min, max } => number(KnownFormat::Int64)
            .schema_type(Type::Integer)
            .minimum(Some(min))
            .maximum(Some(max))
            .into(),
        Kind::Number { min } => number(KnownFormat::Double)
            .schema_type(Type::Number)
            .minimum(Some(min))
            .into(),
        Kind::Category(values) => ObjectBuilder::new()
            .schema_type(Type::String)
            .description(description)
            .enum_values(Some(values.iter().copied()))
            .into(),
        // The integers 0 and 1, or the booleans `false` and `true`.
        Kind::Flag => Schema::OneOf(
            OneOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0))
                        .maximum(Some(1)),
                )
                .item(ObjectBuilder::new().schema_type(Type::Boolean))
                .description(description)
                .build(),
        ),
    }
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
    use super::*;

    fn customer_schema() -> Value {
        serde_json::to_value(CustomerRequest::schema()).unwrap()
    }

    #[test]
    fn every_feature_is_a_required_property_and_customer_id_is_optional() {
        let schema = customer_schema();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let features: Vec<&str> = Feature::ALL.iter().map(|f| f.api_name()).collect();
        assert_eq!(required, features);
        assert_eq!(schema["properties"]["customer_id"]["maxLength"], 256);
    }

    #[test]
    fn ranges_categories_and_flags_are_documented_as_the_parser_reads_them() {
        let schema = customer_schema();
        let age = &schema["properties"]["age"];
        assert_eq!(
            (age["type"].as_str(), age["minimum"].as_f64(), age["maximum"].as_f64()),
            (Some("integer"), Some(18.0), Some(100.0))
        );
        assert_eq!(
            schema["properties"]["geography"]["enum"],
            serde_json::json!(["France", "Spain", "Germany"])
        );
        assert_eq!(schema["properties"]["has_cr_card"]["oneOf"][1]["type"], "boolean");
        assert_eq!(schema["properties"]["balance"]["minimum"].as_f64(), Some(0.0));
        assert_eq!(schema["example"], example_customer());
    }
}
