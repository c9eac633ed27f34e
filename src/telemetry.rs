//! Logging: JSON lines for containers, readable text for terminals; one line
//! per request with method, route, status, latency and request id. Bodies are
//! never logged: churn data is personal.

use std::io::IsTerminal;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Keeps the log writer thread alive; dropping it flushes what is queued.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

/// Installs the global subscriber; a second call (e.g. in tests) is a no-op.
/// Lines go through a writer thread into a buffered stderr: request threads
/// never wait on a `write(2)` per line, and the writer flushes whenever its
/// queue is empty, so one system call carries every line queued under load
/// while a lone line still goes out at once. `lossy(false)`: a full buffer slows requests
/// down rather than dropping log lines.
pub fn init(level: &str, format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    // Colours only for a person at a terminal, never in files or collectors.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
    guard
}

/// Writes the one line per request: method, route template, request id,
/// status and latency as the fields of a single event. No per-request span:
/// creating, entering, recording and closing one cost more than the line.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let request_id = request.headers().get(REQUEST_ID_HEADER).cloned();
    let response = next.run(request).await;
    tracing::info!(
        method = %method,
        route = route.as_ref().map_or("unmatched", |p| p.as_str()),
        request_id = request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request served"
    );
    response
}
