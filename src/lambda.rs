//! AWS Lambda: the same router as the HTTP server (`routes::app`), answering
//! API Gateway (HTTP API and REST API) and function-URL events through
//! `lambda_http` instead of a TCP listener. Built only with `--features lambda`.
//!
//! What differs from `startup`, and why:
//! - No listener, so no connection limits or header timeouts: API Gateway and
//!   the function URL front end terminate the connections; body size and
//!   request deadlines still apply, as they are router layers.
//! - No triggers (SIGHUP, polling): Lambda freezes the process between
//!   invocations, so a poll timer would fire at random; a new model is a new
//!   function version (or image), which Lambda rolls out by itself.
//! - No drain: Lambda sends an invocation only to an environment that is
//!   waiting for one, and ends environments between invocations.
//! - A named API Gateway stage is taken off the path: lambda_http puts it in
//!   front (`/prod/health`), the routes are absolute (`/health`).

use std::sync::Arc;

use axum::Router;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::util::MapRequest;

use crate::config::Settings;
use crate::lifecycle::Models;
use crate::metrics::Metrics;
use crate::model::ModelError;
use crate::routes::app;
use crate::state::AppState;

/// What answers invocations: the server's router behind `without_stage`.
pub type Handler = MapRequest<Router, fn(Request) -> Request>;

/// Loads and checks the model as the server does at startup (the same
/// one-line errors), and returns the handler that will answer invocations.
pub async fn handler(settings: &Settings) -> Result<Handler, ModelError> {
    let metrics = Arc::new(Metrics::new());
    let models = Arc::new(Models::load(settings, metrics.clone()).await?);
    let serving = models.current();
    tracing::info!(
        model = %models.name(),
        model_version = %serving.info.version,
        sha256 = %serving.info.sha256,
        inference_workers = settings.worker_count(),
        "ready for Lambda invocations"
    );
    let router = app(AppState::with_models(settings, models, metrics));
    Ok(MapRequest::new(router, without_stage as fn(Request) -> Request))
}

/// `/prod/api/v1/predict` → `/api/v1/predict` when the event came through
/// API Gateway stage `prod`; anything else unchanged (the `$default` stage,
/// function URLs, a path outside the stage).
fn without_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") else {
        return request;
    };
    let uri = request.uri();
    let Some(rest) = uri
        .path()
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage.as_str()))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        return request;
    };
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(p) = PathAndQuery::try_from(path_and_query) {
        parts.path_and_query = Some(p);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Answers invocations from the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`)
/// until the environment is shut down.
pub async fn run(settings: &Settings) -> Result<(), String> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Err(
            "AWS_LAMBDA_RUNTIME_API is not set: `churn-serve lambda` runs inside AWS Lambda \
                    (or under the Lambda runtime interface emulator); use `serve` elsewhere"
                .into(),
        );
    }
    let handler = handler(settings).await.map_err(|e| e.to_string())?;
    // Lambda itself ends an environment without a signal, but a container
    // run elsewhere (the runtime interface emulator, podman as PID 1) is
    // stopped with SIGTERM: exit 0 then, as `serve` does.
    tokio::select! {
        result = lambda_http::run(handler) => result.map_err(|e| format!("the Lambda runtime stopped: {e}")),
        () = crate::shutdown::signal() => Ok(()),
    }
}
