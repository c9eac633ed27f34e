//! The router: `app(state)` builds it without I/O, so tests can drive it
//! in-process with `tower::ServiceExt::oneshot`.

mod extract;
mod fallback;
mod health;
mod metrics;
mod predict;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use health::HealthResponse;
pub use predict::{BatchResponse, PredictionResponse};

use crate::error::render_errors;
use crate::state::AppState;
use crate::telemetry;

pub fn app(state: AppState) -> Router {
    let limits = state.limits;
    Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/predict", post(predict::predict))
        .route("/api/v1/predict/batch", post(predict::predict_batch))
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        // Router::layer wraps each route, so these see the matched route template.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(telemetry::request_span)
                        .on_request(())
                        .on_response(telemetry::log_response),
                )
                .layer(middleware::from_fn(render_errors))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::GATEWAY_TIMEOUT,
                    limits.request_timeout,
                ))
                .layer(DefaultBodyLimit::max(limits.max_body_bytes)),
        )
        // Outermost, so that timeouts and limit rejections are counted too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}
