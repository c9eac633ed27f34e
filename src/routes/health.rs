//! Kubernetes probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct HealthResponse {
    /// `healthy`, or `draining` once shutdown has begun.
    pub status: &'static str,
    pub model_loaded: bool,
    pub model_version: String,
    pub uptime_seconds: f64,
}

/// 200 while serving; 503 once draining, so Kubernetes stops routing here.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let draining = state.health.is_draining();
    let body = HealthResponse {
        status: if draining { "draining" } else { "healthy" },
        model_loaded: true,
        model_version: state.model.version.clone(),
        uptime_seconds: state.health.uptime().as_secs_f64(),
    };
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body))
}
