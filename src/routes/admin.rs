//! `POST /admin/model/reload`: look at the model source now and swap in a
//! changed model (the same as SIGHUP, but the caller learns the outcome).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::error::AppError;
use crate::lifecycle::{ReloadError, Reloaded, Trigger};
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct ReloadResponse {
    /// `swapped` or `unchanged`.
    pub result: Reloaded,
    /// The model serving now.
    pub model_version: String,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_version: Option<String>,
}

/// 200 with the serving model; 502 if the source could not be read, 422 if
/// its model failed a check (the serving model stays in both cases).
pub async fn reload_model(State(state): State<AppState>) -> Result<Json<ReloadResponse>, AppError> {
    // Its own task: a client that gives up (or the request timeout) must not
    // cut a reload short halfway.
    let models = state.models.clone();
    let result = tokio::spawn(async move { models.reload(Trigger::Api).await })
        .await
        .map_err(|e| AppError::Internal(format!("model reload stopped: {e}")))?
        .map_err(|e| match e {
            ReloadError::Unavailable(reason) => AppError::ModelSourceUnavailable(reason),
            ReloadError::Rejected(reason) => AppError::ModelRejected(reason),
        })?;
    let serving = state.models.current();
    Ok(Json(ReloadResponse {
        result,
        model_version: serving.info.version.to_string(),
        sha256: serving.info.sha256.clone(),
        registry_version: serving.origin.as_ref().and_then(|o| o.registry_version.clone()),
    }))
}
