//! What the native and the Open Inference Protocol routes both call between
//! HTTP and the model: score customers through the [`Predictor`](crate::model::Predictor), count
//! rejections, apply the decision rule and record the prediction metrics.
//! The routes import this module, never `model`.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Customer, Outcome, RiskLevel};
use crate::error::AppError;
use crate::explain::{Contribution, ROWS_PER_CUSTOMER, contributions, occlusion_rows};
pub use crate::lifecycle::Serving;
pub use crate::model::{ElementType, PredictError};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PredictionResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The model's probability of churn, unrounded.
    #[schema(example = 0.1842)]
    pub churn_probability: f64,
    pub prediction: Outcome,
    /// 1 for churn, 0 otherwise (the FastAPI service's field).
    #[schema(example = 0)]
    pub churn_prediction: u8,
    pub risk_level: RiskLevel,
    #[schema(value_type = String, example = "1.0.0")]
    pub model_version: Arc<str>,
    /// With `?explain=true`: effect of each feature vs its training baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_contributions: Option<Vec<Contribution>>,
}

/// Predictions by one model, named by the version that made them.
pub struct Scored {
    pub model_version: Arc<str>,
    pub predictions: Vec<PredictionResponse>,
}

/// Runs the serving model (with occluded copies when explaining) and applies
/// the decision rule. The model is taken once: a swap meanwhile does not
/// change which model answers this request.
pub async fn score(state: &AppState, customers: Vec<Customer>, explain: bool) -> Result<Scored, AppError> {
    let serving = state.models.current();
    let version = serving.info.version.clone();
    let predictions = if explain {
        let baseline = serving.info.baseline.clone().ok_or_else(|| {
            AppError::BadRequest("explanations need a training baseline; this model's metadata has none".into())
        })?;
        let rows = occlusion_rows(customers.clone(), &baseline);
        let scored = probabilities(state, &serving, rows, ROWS_PER_CUSTOMER).await?;
        customers
            .into_iter()
            .zip(scored.chunks_exact(ROWS_PER_CUSTOMER))
            .map(|(c, probs)| {
                let explained = contributions(&c, &baseline, probs);
                decide(state, &version, c.customer_id, probs[0], Some(explained))
            })
            .collect()
    } else {
        let ids: Vec<Option<String>> = customers.iter().map(|c| c.customer_id.clone()).collect();
        let scored = probabilities(state, &serving, customers, 1).await?;
        ids.into_iter()
            .zip(scored)
            .map(|(id, p)| decide(state, &version, id, p, None))
            .collect()
    };
    Ok(Scored {
        model_version: version,
        predictions,
    })
}

/// Probabilities for `rows` from `serving`, in groups of `group` rows per
/// model call.
pub async fn probabilities(
    state: &AppState,
    serving: &Serving,
    rows: Vec<Customer>,
    group: usize,
) -> Result<Vec<f64>, AppError> {
    // A customer's bins, taken before the rows go to the model; an
    // explained customer's occluded copies are not customers.
    let bins = serving
        .drift
        .as_ref()
        .map(|drift| drift.bins(rows.iter().step_by(group.max(1))));
    let result = serving.predictor.predict_grouped(rows, group).await;
    if let (Some(drift), Some(bins), Ok(probabilities)) = (&serving.drift, bins, &result) {
        drift.record(bins, probabilities.iter().step_by(group.max(1)).copied());
    }
    if let Err(PredictError::Overloaded) = result {
        state.metrics.rejected.with_label_values(&["overloaded"]).inc();
    }
    Ok(result?)
}

fn decide(
    state: &AppState,
    model_version: &Arc<str>,
    customer_id: Option<String>,
    probability: f64,
    feature_contributions: Option<Vec<Contribution>>,
) -> PredictionResponse {
    let prediction = state.rule.outcome(probability);
    let risk_level = state.rule.risk(probability);
    state
        .metrics
        .requests
        .record_prediction(prediction, risk_level, probability);
    PredictionResponse {
        customer_id,
        churn_probability: probability,
        prediction,
        churn_prediction: u8::from(prediction == Outcome::Churn),
        risk_level,
        model_version: model_version.clone(),
        feature_contributions,
    }
}
