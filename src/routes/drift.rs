//! `GET /api/v1/model/drift`: how far recent inputs and predictions are from
//! the serving model's training data (Population Stability Index).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::drift::Score;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct DriftResponse {
    /// The serving model's version: scores are against its training data.
    pub model_version: String,
    /// Recent predictions the scores cover at most (`drift_window`).
    pub window: usize,
    /// Predictions in the window now.
    pub observations: usize,
    /// Below this many observations scores are null.
    pub min_observations: usize,
    pub features: Vec<QuantityDrift>,
    pub prediction: QuantityDrift,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuantityDrift {
    /// Feature name, or `prediction`.
    #[schema(example = "age")]
    pub name: &'static str,
    /// PSI over the window; under 0.1 no shift, 0.1–0.2 moderate, over 0.2 significant.
    pub psi: Option<f64>,
    pub bins: Vec<BinDrift>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BinDrift {
    #[schema(example = "[40, 43)")]
    pub range: String,
    /// Share of the window's predictions in this bin.
    pub live: Option<f64>,
    /// Share of the training split in this bin.
    pub reference: f64,
}

#[utoipa::path(get, path = "/api/v1/model/drift", tag = "model",
    responses(
        (status = 200, description = "PSI per feature and for the prediction over the drift window", body = DriftResponse),
        (status = 401, description = "Missing or invalid API key (when keys are configured)", body = super::schema::ErrorBody),
        (status = 404, description = "Drift is off (drift_window 0), or the model's metadata has no reference distributions", body = super::schema::ErrorBody),
    ),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn drift(State(state): State<AppState>) -> Result<Json<DriftResponse>, AppError> {
    let serving = state.models.current();
    let monitor = serving.drift.as_ref().ok_or(AppError::NotFound)?;
    let scores = monitor.scores();
    Ok(Json(DriftResponse {
        model_version: serving.info.version.to_string(),
        window: scores.window,
        observations: scores.observations,
        min_observations: scores.min_observations,
        features: scores.features.into_iter().map(quantity).collect(),
        prediction: quantity(scores.prediction),
    }))
}

fn quantity(score: Score) -> QuantityDrift {
    QuantityDrift {
        name: score.name,
        psi: score.psi,
        bins: score
            .bins
            .into_iter()
            .map(|b| BinDrift {
                range: b.label,
                live: b.live,
                reference: b.reference,
            })
            .collect(),
    }
}
