//! `POST /api/v1/predict` and `POST /api/v1/predict/batch`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiQuery, JsonBody};
use super::schema::{BatchRequest, CustomerRequest, ErrorBody};
use crate::domain::{FieldError, batch_from_json, customer_from_json};
use crate::error::AppError;
use crate::predictions::{PredictionResponse, score};
use crate::state::AppState;

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
    JsonBody(body, _held): JsonBody,
) -> Result<Json<PredictionResponse>, AppError> {
    let customer = customer_from_json(&body, state.coercion).map_err(|errors| rejected(&body, errors))?;
    let mut answers = score(&state, vec![customer], params.explain).await?.predictions;
    answers
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::Internal("model returned no prediction".into()))
}

/// A body that is not UTF-8 gets FastAPI's 400 (it decodes the body before
/// parsing it); any other rejected body, its validation errors. Checked only
/// for rejected bodies: valid ones were UTF-8.
fn rejected(body: &[u8], errors: Vec<FieldError>) -> AppError {
    if std::str::from_utf8(body).is_err() {
        AppError::BadRequest("There was an error parsing the body".into())
    } else {
        AppError::Validation(errors)
    }
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
    JsonBody(body, _held): JsonBody,
) -> Result<Json<BatchResponse>, AppError> {
    let customers = batch_from_json(&body, state.limits.max_batch_size, state.coercion)
        .map_err(|errors| rejected(&body, errors))?;
    let scored = score(&state, customers, params.explain).await?;
    Ok(Json(BatchResponse {
        count: scored.predictions.len(),
        model_version: scored.model_version,
        predictions: scored.predictions,
    }))
}
