//! Kubernetes probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `healthy`, or `draining` once shutdown has begun.
    pub status: &'static str,
    pub model_loaded: bool,
    pub model_version: String,
    pub uptime_seconds: f64,
}

/// 200 while serving; 503 once draining, so Kubernetes stops routing here.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Serving", body = HealthResponse),
              (status = 503, description = "Draining: shutdown has begun", body = HealthResponse)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let draining = state.health.is_draining();
    let body = HealthResponse {
        status: if draining { "draining" } else { "healthy" },
        model_loaded: true,
        model_version: state.models.current().info.version.to_string(),
        uptime_seconds: state.health.uptime().as_secs_f64(),
    };
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(body))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeResponse {
    pub status: &'static str,
}

/// Liveness: the process answers. Never fails while draining, so Kubernetes
/// does not restart a pod that is shutting down cleanly.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process is up", body = ProbeResponse)))]
pub async fn live() -> Json<ProbeResponse> {
    Json(ProbeResponse { status: "alive" })
}

/// Readiness: model loaded (always, once serving) and not draining.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, description = "Ready for traffic", body = ProbeResponse),
              (status = 503, description = "Draining", body = ProbeResponse)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ProbeResponse>) {
    if state.health.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ProbeResponse { status: "draining" }),
        )
    } else {
        (StatusCode::OK, Json(ProbeResponse { status: "ready" }))
    }
}
