//! `POST /api/v1/predict` and `POST /api/v1/predict/batch`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;

use super::extract::ApiJson;
use crate::domain::{Customer, Loc, Outcome, RiskLevel, parse_batch, parse_customer};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct PredictionResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The model's probability of churn, unrounded.
    pub churn_probability: f64,
    pub prediction: Outcome,
    /// 1 for churn, 0 otherwise (the FastAPI service's field).
    pub churn_prediction: u8,
    pub risk_level: RiskLevel,
    pub model_version: String,
}

#[derive(Debug, Serialize)]
pub struct BatchResponse {
    pub predictions: Vec<PredictionResponse>,
    pub model_version: String,
    pub count: usize,
}

pub async fn predict(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PredictionResponse>, AppError> {
    let customer = parse_customer(&body, &[Loc::from("body")]).map_err(AppError::Validation)?;
    let mut answers = score(&state, vec![customer]).await?;
    answers
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::Internal("model returned no prediction".into()))
}

pub async fn predict_batch(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<BatchResponse>, AppError> {
    let customers =
        parse_batch(&body, state.limits.max_batch_size).map_err(AppError::Validation)?;
    let predictions = score(&state, customers).await?;
    Ok(Json(BatchResponse {
        count: predictions.len(),
        model_version: state.model.version.clone(),
        predictions,
    }))
}

/// Runs the model and applies the decision rule, recording outcome metrics.
async fn score(
    state: &AppState,
    customers: Vec<Customer>,
) -> Result<Vec<PredictionResponse>, AppError> {
    let ids: Vec<Option<String>> = customers.iter().map(|c| c.customer_id.clone()).collect();
    let probabilities = state.predictor.predict(customers).await.inspect_err(|e| {
        if matches!(e, crate::model::PredictError::Overloaded) {
            state
                .metrics
                .rejected
                .with_label_values(&["overloaded"])
                .inc();
        }
    })?;
    Ok(ids
        .into_iter()
        .zip(probabilities)
        .map(|(id, p)| decide(state, id, p))
        .collect())
}

fn decide(state: &AppState, customer_id: Option<String>, probability: f64) -> PredictionResponse {
    let prediction = state.rule.outcome(probability);
    let risk_level = state.rule.risk(probability);
    let m = &state.metrics;
    m.predictions
        .with_label_values(&[prediction.as_str(), risk_level.as_str()])
        .inc();
    m.probability.observe(probability);
    PredictionResponse {
        customer_id,
        churn_probability: probability,
        prediction,
        churn_prediction: u8::from(prediction == Outcome::Churn),
        risk_level,
        model_version: state.model.version.clone(),
    }
}
