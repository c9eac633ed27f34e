//! The router: `app(state)` builds it without I/O, so tests can drive it
//! in-process with `tower::ServiceExt::oneshot`.

mod admin;
mod auth;
mod deadline;
pub mod docs;
mod drift;
mod extract;
mod fallback;
mod health;
mod metrics;
mod model;
mod observe;
mod predict;
mod schema;
mod v2;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::render_errors;
use crate::state::AppState;
use crate::telemetry;

pub fn app(state: AppState) -> Router {
    let limits = state.limits;
    Router::new()
        .merge(protected_routes(state.clone()))
        .merge(admin_routes(state.clone()))
        .merge(open_routes())
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        // Router::layer wraps each route, so these see the matched route template.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                // Inside the request-id layers (the line carries the id), outside
                // the timeout and body limit (their rejections are counted too).
                .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
                .option_layer(cors(&state.security.cors_allowed_origins))
                .layer(middleware::from_fn(render_errors))
                .layer(middleware::from_fn_with_state(
                    limits.request_timeout,
                    deadline::deadline,
                ))
                .layer(DefaultBodyLimit::max(limits.max_body_bytes)),
        )
        .with_state(state)
}

/// Prediction, model and inference routes: behind API keys when configured
/// (without keys the layer is left out: one less clone and box per request).
fn protected_routes(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/api/v1/predict", post(predict::predict))
        .route("/api/v1/predict/batch", post(predict::predict_batch))
        .route("/api/v1/model", get(model::model))
        .route("/api/v1/model/drift", get(drift::drift))
        .route("/v2/models/{name}", get(v2::model_metadata))
        .route("/v2/models/{name}/ready", get(v2::model_ready))
        .route("/v2/models/{name}/infer", post(v2::infer));
    if state.security.api_keys.is_empty() {
        return routes;
    }
    routes.route_layer(middleware::from_fn_with_state(state, auth::require_api_key))
}

/// Model reloads, behind the admin keys; without admin keys they do not exist.
fn admin_routes(state: AppState) -> Router<AppState> {
    if state.security.admin_api_keys.is_empty() {
        return Router::new();
    }
    Router::new()
        .route("/admin/model/reload", post(admin::reload_model))
        .route_layer(middleware::from_fn_with_state(state, auth::require_admin_key))
}

/// Probes, metrics and docs stay open for the platform.
fn open_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/v2", get(v2::server_metadata))
        .route("/v2/health/live", get(v2::live))
        .route("/v2/health/ready", get(v2::ready))
        .merge(docs::swagger_ui())
}

/// CORS is off unless origins are configured (validated at startup). Off
/// means no layer at all: an empty `CorsLayer` still added three `Vary`
/// headers to every response and answered preflights itself.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let layer = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static(auth::API_KEY_HEADER),
        ])
        .expose_headers([HeaderName::from_static(telemetry::REQUEST_ID_HEADER)]);
    Some(layer)
}
