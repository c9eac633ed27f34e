//! Prometheus scrape endpoint and the per-request HTTP metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::IntGauge;

use crate::state::AppState;

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// Counts and times every request by route *template*, so that paths such as
/// `/v2/models/{name}` or random 404 probes cannot explode label cardinality.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // MatchedPath is an Arc: cloning it costs no allocation per request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let method = request.method().clone();
    let m = &state.metrics;
    let _in_flight = InFlight::enter(&m.http_in_flight);
    let started = Instant::now();
    let response = next.run(request).await;
    m.http_duration
        .with_label_values(&[method.as_str(), route])
        .observe(started.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[method.as_str(), route, response.status().as_str()])
        .inc();
    response
}

/// Decrements the in-flight gauge even when the client disconnects and the
/// request future is dropped mid-way.
struct InFlight<'a>(&'a IntGauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
