//! Request data parsed into validated domain types ("parse, don't validate").

mod batch;
mod body;
mod customer;
mod feature;
mod field;
mod lax;
mod report;

pub use batch::parse_batch;
pub use body::{batch_from_json, customer_from_json};
pub use customer::{Customer, FeatureValue, FieldError, Loc, MAX_CUSTOMER_ID_CHARS, parse_customer};
pub use feature::{Feature, GENDERS, GEOGRAPHIES, Kind, example_customer};
pub use field::{Coercion, parse_value};
mod decision;
pub use decision::{DecisionRule, Outcome, RiskLevel};
