//! Turning a churn probability into the decision clients act on.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Churn,
    NoChurn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Churn => "churn",
            Outcome::NoChurn => "no_churn",
        }
    }
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "LOW",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::High => "HIGH",
        }
    }
}

/// Threshold and risk bands (validated by `config`): probability `>=
/// threshold` is churn; LOW < `medium` <= MEDIUM < `high` <= HIGH.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRule {
    pub threshold: f64,
    pub medium: f64,
    pub high: f64,
}

impl DecisionRule {
    pub fn outcome(&self, probability: f64) -> Outcome {
        if probability >= self.threshold {
            Outcome::Churn
        } else {
            Outcome::NoChurn
        }
    }

    pub fn risk(&self, probability: f64) -> RiskLevel {
        if probability >= self.high {
            RiskLevel::High
        } else if probability >= self.medium {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: DecisionRule = DecisionRule {
        threshold: 0.5,
        medium: 0.3,
        high: 0.7,
    };

    #[test]
    fn band_edges_belong_to_the_higher_band() {
        assert_eq!(RULE.risk(0.299_999), RiskLevel::Low);
        assert_eq!(RULE.risk(0.3), RiskLevel::Medium);
        assert_eq!(RULE.risk(0.699_999), RiskLevel::Medium);
        assert_eq!(RULE.risk(0.7), RiskLevel::High);
        assert_eq!(RULE.outcome(0.5), Outcome::Churn);
        assert_eq!(RULE.outcome(0.499_999), Outcome::NoChurn);
    }
}
