//! The ten model features: their names in the API, in the original data set,
//! and the ranges the FastAPI service enforced.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    CreditScore,
    Geography,
    Gender,
    Age,
    Tenure,
    Balance,
    NumOfProducts,
    HasCrCard,
    IsActiveMember,
    EstimatedSalary,
}

/// How a feature's JSON value is parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Whole number within `[min, max]`.
    Integer { min: i64, max: i64 },
    /// Finite number `>= min`.
    Number { min: f64 },
    /// 0/1, also spelled false/true.
    Flag,
    /// One of a fixed set of strings.
    Category(&'static [&'static str]),
}

pub const GEOGRAPHIES: &[&str] = &["France", "Spain", "Germany"];
pub const GENDERS: &[&str] = &["Male", "Female"];

impl Feature {
    pub const ALL: [Feature; 10] = [
        Feature::CreditScore,
        Feature::Geography,
        Feature::Gender,
        Feature::Age,
        Feature::Tenure,
        Feature::Balance,
        Feature::NumOfProducts,
        Feature::HasCrCard,
        Feature::IsActiveMember,
        Feature::EstimatedSalary,
    ];

    /// Name in the service's API (snake_case).
    pub fn api_name(self) -> &'static str {
        match self {
            Feature::CreditScore => "credit_score",
            Feature::Geography => "geography",
            Feature::Gender => "gender",
            Feature::Age => "age",
            Feature::Tenure => "tenure",
            Feature::Balance => "balance",
            Feature::NumOfProducts => "num_of_products",
            Feature::HasCrCard => "has_cr_card",
            Feature::IsActiveMember => "is_active_member",
            Feature::EstimatedSalary => "estimated_salary",
        }
    }

    /// Name in the Churn_Modelling data set, accepted as an alias.
    pub fn column_name(self) -> &'static str {
        match self {
            Feature::CreditScore => "CreditScore",
            Feature::Geography => "Geography",
            Feature::Gender => "Gender",
            Feature::Age => "Age",
            Feature::Tenure => "Tenure",
            Feature::Balance => "Balance",
            Feature::NumOfProducts => "NumOfProducts",
            Feature::HasCrCard => "HasCrCard",
            Feature::IsActiveMember => "IsActiveMember",
            Feature::EstimatedSalary => "EstimatedSalary",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Feature::CreditScore => Kind::Integer { min: 300, max: 850 },
            Feature::Geography => Kind::Category(GEOGRAPHIES),
            Feature::Gender => Kind::Category(GENDERS),
            Feature::Age => Kind::Integer { min: 18, max: 100 },
            Feature::Tenure => Kind::Integer { min: 0, max: 10 },
            Feature::Balance | Feature::EstimatedSalary => Kind::Number { min: 0.0 },
            Feature::NumOfProducts => Kind::Integer { min: 1, max: 4 },
            Feature::HasCrCard | Feature::IsActiveMember => Kind::Flag,
        }
    }

    /// What the API documentation says about the field, beyond its range.
    pub fn description(self) -> Option<&'static str> {
        match self {
            Feature::Geography => Some("Country of the customer's branch."),
            Feature::Tenure => Some("Years as a customer."),
            Feature::HasCrCard | Feature::IsActiveMember => Some("0 or 1 (`false`/`true` also accepted)."),
            _ => None,
        }
    }

    /// The value in the documented example customer ([`example_customer`]).
    pub fn example(self) -> serde_json::Value {
        match self {
            Feature::CreditScore => 619.into(),
            Feature::Geography => "France".into(),
            Feature::Gender => "Female".into(),
            Feature::Age => 42.into(),
            Feature::Tenure => 2.into(),
            Feature::Balance => 0.0.into(),
            Feature::NumOfProducts | Feature::HasCrCard | Feature::IsActiveMember => 1.into(),
            Feature::EstimatedSalary => 101348.88.into(),
        }
    }

    pub fn is_categorical(self) -> bool {
        matches!(self.kind(), Kind::Category(_))
    }

    /// The feature a request body's key names: its API name, or its data-set
    /// column name (an alias). Exact match, as pydantic matches field names.
    pub fn from_key(key: &str) -> Option<Feature> {
        Feature::ALL
            .into_iter()
            .find(|f| f.api_name() == key || f.column_name() == key)
    }

    /// Matches a model input name to a feature ignoring case and underscores,
    /// so `CreditScore`, `credit_score` and `creditscore` all match.
    pub fn from_model_name(name: &str) -> Option<Feature> {
        let key = normalise(name);
        Feature::ALL.into_iter().find(|f| normalise(f.column_name()) == key)
    }
}

/// The example customer of the API documentation and the warm-up request:
/// `customer_id` "C-1001" and each feature's [`Feature::example`].
pub fn example_customer() -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("customer_id".into(), "C-1001".into());
    for feature in Feature::ALL {
        body.insert(feature.api_name().into(), feature.example());
    }
    body.into()
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_match_case_and_underscore_insensitively() {
        for f in Feature::ALL {
            assert_eq!(Feature::from_model_name(f.api_name()), Some(f));
            assert_eq!(Feature::from_model_name(f.column_name()), Some(f));
            assert_eq!(Feature::from_model_name(&f.api_name().to_uppercase()), Some(f));
        }
        assert_eq!(Feature::from_model_name("surname"), None);
    }

    #[test]
    fn the_example_customer_is_valid() {
        let customer =
            crate::domain::parse_customer(&example_customer(), &[], crate::domain::Coercion::Strict).unwrap();
        assert_eq!(customer.customer_id.as_deref(), Some("C-1001"));
    }
}
