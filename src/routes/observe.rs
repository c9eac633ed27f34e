//! One middleware per request for what operators see: the Prometheus
//! request metrics and the request's log line. One layer rather than two:
//! each `from_fn` layer clones the inner service and boxes a future per
//! request.

use std::time::{Instant, SystemTime};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::IntGauge;

use crate::state::AppState;
use crate::telemetry::{self, AccessRecord, REQUEST_ID_HEADER};

/// Counts and times every request by route *template*, so that paths such as
/// `/v2/models/{name}` or random 404 probes cannot explode label cardinality,
/// then hands the request's log line (method, route, request id, status,
/// latency) to the log thread. Bodies are never logged: churn data is
/// personal.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // MatchedPath is an Arc: cloning it costs no allocation per request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = telemetry::route_label(matched.as_ref());
    let method = request.method().clone();
    let request_id = request.headers().get(REQUEST_ID_HEADER).cloned();
    let m = &state.metrics.requests;
    let in_flight = InFlight::enter(&m.http_in_flight);
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    drop(in_flight);
    m.http_duration
        .with_label_values(&[method.as_str(), route])
        .observe(elapsed);
    m.http_requests
        .with_label_values(&[method.as_str(), route, response.status().as_str()])
        .inc();
    if tracing::enabled!(target: telemetry::ACCESS_TARGET, tracing::Level::INFO) {
        telemetry::access_log(AccessRecord {
            method,
            route: matched,
            request_id,
            status: response.status(),
            latency: elapsed,
            at: SystemTime::now(),
        });
    }
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
