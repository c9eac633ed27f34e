//! `POST /api/v1/predict` and `POST /api/v1/predict/batch`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiQuery, JsonBody};
use super::schema::{BatchRequest, CustomerRequest, ErrorBody};
use crate::domain::{Customer, Outcome, RiskLevel, batch_from_json, customer_from_json};
use crate::error::AppError;
use crate::explain::{Contribution, ROWS_PER_CUSTOMER, contributions, occlusion_rows};
use crate::model::PredictError;
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

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// In request order.
    pub predictions: Vec<PredictionResponse>,
    #[schema(value_type = String)]
    pub model_version: Arc<str>,
    pub count: usize,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PredictParams {
    /// Add `feature_contributions` (occlusion against the training baseline).
    #[serde(default)]
    explain: bool,
}

/// Errors both prediction endpoints share (422 differs and is listed on each).
#[allow(dead_code)] // read by utoipa only
#[derive(utoipa::IntoResponses)]
enum PredictionErrors {
    /// Explanations unavailable for this model
    #[response(status = 400)]
    NoBaseline(ErrorBody),
    /// Missing or invalid API key (when keys are configured)
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Body over the configured limit
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Content-Type is not application/json
    #[response(status = 415)]
    NotJson(ErrorBody),
    /// Overloaded (see Retry-After) or shutting down
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

#[utoipa::path(
    post, path = "/api/v1/predict", tag = "prediction",
    params(PredictParams),
    request_body = CustomerRequest,
    responses(
        (status = 200, description = "Churn prediction", body = PredictionResponse),
        (status = 422, description = "Invalid customer: every bad field is listed", body = ErrorBody),
        PredictionErrors,
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
pub async fn predict(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PredictParams>,
    JsonBody(body): JsonBody,
) -> Result<Json<PredictionResponse>, AppError> {
    let customer = customer_from_json(&body).map_err(AppError::Validation)?;
    let mut answers = score(&state, vec![customer], params.explain).await?;
    answers
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::Internal("model returned no prediction".into()))
}

#[utoipa::path(
    post, path = "/api/v1/predict/batch", tag = "prediction",
    params(PredictParams),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One prediction per customer, in request order", body = BatchResponse),
        (status = 422, description = "Invalid batch: errors name the index, e.g. [\"body\",\"customers\",3,\"age\"]", body = ErrorBody),
        PredictionErrors,
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
pub async fn predict_batch(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PredictParams>,
    JsonBody(body): JsonBody,
) -> Result<Json<BatchResponse>, AppError> {
    let customers = batch_from_json(&body, state.limits.max_batch_size).map_err(AppError::Validation)?;
    let predictions = score(&state, customers, params.explain).await?;
    Ok(Json(BatchResponse {
        count: predictions.len(),
        model_version: state.model.version.clone(),
        predictions,
    }))
}

/// Runs the model (with occluded copies when explaining) and applies the
/// decision rule.
pub async fn score(
    state: &AppState,
    customers: Vec<Customer>,
    explain: bool,
) -> Result<Vec<PredictionResponse>, AppError> {
    if !explain {
        let ids: Vec<Option<String>> = customers.iter().map(|c| c.customer_id.clone()).collect();
        let probabilities = run(state, customers, 1).await?;
        return Ok(ids
            .into_iter()
            .zip(probabilities)
            .map(|(id, p)| decide(state, id, p, None))
            .collect());
    }
    let baseline = state.model.baseline.clone().ok_or_else(|| {
        AppError::BadRequest("explanations need a training baseline; this model's metadata has none".into())
    })?;
    let rows = occlusion_rows(customers.clone(), &baseline);
    let probabilities = run(state, rows, ROWS_PER_CUSTOMER).await?;
    Ok(customers
        .into_iter()
        .zip(probabilities.chunks_exact(ROWS_PER_CUSTOMER))
        .map(|(c, probs)| {
            let explained = contributions(&c, &baseline, probs);
            decide(state, c.customer_id, probs[0], Some(explained))
        })
        .collect())
}

/// Probabilities for `rows`, scored in groups of `group` rows per model call.
pub async fn run(state: &AppState, rows: Vec<Customer>, group: usize) -> Result<Vec<f64>, AppError> {
    let result = state.predictor.predict_grouped(rows, group).await;
    if let Err(PredictError::Overloaded) = result {
        state.metrics.rejected.with_label_values(&["overloaded"]).inc();
    }
    Ok(result?)
}

fn decide(
    state: &AppState,
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
        model_version: state.model.version.clone(),
        feature_contributions,
    }
}
