//! Explanations by occlusion: for each feature, how much the churn
//! probability moves when that feature alone is set to its training baseline
//! (median or mode). Cheap and honest; not SHAP.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::{Customer, Feature, FeatureValue};

/// Rows scored per customer: the original, then one per occluded feature.
pub const ROWS_PER_CUSTOMER: usize = 1 + Feature::ALL.len();

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contribution {
    /// Feature name (API spelling).
    pub feature: &'static str,
    #[schema(value_type = Value)]
    pub value: Value,
    /// The training baseline the feature was replaced by.
    #[schema(value_type = Value)]
    pub baseline: Value,
    /// p(customer) − p(customer with this feature at baseline): positive
    /// means this value raises the churn probability.
    pub contribution: f64,
}

/// Each customer followed by its ten occluded copies.
pub fn occlusion_rows(customers: Vec<Customer>, baseline: &[FeatureValue]) -> Vec<Customer> {
    customers
        .into_iter()
        .flat_map(|c| {
            let copies: Vec<Customer> = Feature::ALL.iter().map(|&f| c.with(f, baseline[f as usize])).collect();
            std::iter::once(c).chain(copies)
        })
        .collect()
}

/// From one customer's `ROWS_PER_CUSTOMER` probabilities, its own
/// probability and contributions sorted by absolute effect.
pub fn contributions(customer: &Customer, baseline: &[FeatureValue], probabilities: &[f64]) -> Vec<Contribution> {
    let own = probabilities[0];
    let mut out: Vec<Contribution> = Feature::ALL
        .iter()
        .zip(&probabilities[1..])
        .map(|(&f, &occluded)| Contribution {
            feature: f.api_name(),
            value: customer.get(f).to_json(),
            baseline: baseline[f as usize].to_json(),
            contribution: own - occluded,
        })
        .collect();
    out.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::parse_customer;

    fn customer() -> Customer {
        let body = json!({
            "credit_score": 600, "geography": "Germany", "gender": "Female", "age": 60, "tenure": 3,
            "balance": 1000.0, "num_of_products": 3, "has_cr_card": 1, "is_active_member": 0,
            "estimated_salary": 5000.0
        });
        parse_customer(&body, &[], crate::domain::Coercion::Strict).unwrap()
    }

    #[test]
    fn rows_are_the_customer_then_one_occlusion_per_feature() {
        let baseline: Vec<_> = Feature::ALL.iter().map(|f| customer().get(*f)).collect();
        let mut base = baseline.clone();
        base[Feature::Age as usize] = FeatureValue::Number(37.0);
        let rows = occlusion_rows(vec![customer(), customer()], &base);
        assert_eq!(rows.len(), 2 * ROWS_PER_CUSTOMER);
        assert_eq!(rows[0], customer());
        let age_row = &rows[1 + Feature::Age as usize];
        assert_eq!(age_row.get(Feature::Age), FeatureValue::Number(37.0));
        assert_eq!(age_row.get(Feature::Geography), FeatureValue::Category("Germany"));
    }

    #[test]
    fn contributions_are_differences_sorted_by_magnitude() {
        let baseline: Vec<_> = Feature::ALL.iter().map(|f| customer().get(*f)).collect();
        let mut probs = vec![0.5; ROWS_PER_CUSTOMER];
        probs[1 + Feature::Age as usize] = 0.2; // age raises churn by 0.3
        probs[1 + Feature::Tenure as usize] = 0.6; // tenure lowers it by 0.1
        let c = contributions(&customer(), &baseline, &probs);
        assert_eq!(c[0].feature, "age");
        assert!((c[0].contribution - 0.3).abs() < 1e-12);
        assert_eq!(c[1].feature, "tenure");
        assert!((c[1].contribution + 0.1).abs() < 1e-12);
    }
}
