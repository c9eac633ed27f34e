//! The HTTP ceiling for `benches/run.sh`: a bare axum server that reads
//! the same JSON body, parses and validates it with the service's own parser,
//! and answers a prediction-shaped JSON body without any model, middleware,
//! logging or metrics. What the real server loses against this is the cost of
//! inference, batching and operability; what this loses against the raw ONNX
//! rate is HTTP itself. It serves through the service's own accept loop
//! (`churn_serve::server::serve`), so both pay the same per-connection costs.
//!
//!     cargo run --release --example bare_http -- PORT [HTTP_THREADS]
//!
//! HTTP_THREADS defaults to the real server's default (half the cores).

use std::process::ExitCode;

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};
use churn_serve::config::Settings;
use churn_serve::domain::{Coercion, customer_from_json};
use serde::Serialize;

// The server's allocator, so that the ceiling is measured like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The real response's shape and size, typed as the real one is.
#[derive(Serialize)]
struct Answer {
    customer_id: Option<String>,
    churn_probability: f64,
    prediction: &'static str,
    churn_prediction: u8,
    risk_level: &'static str,
    model_version: &'static str,
}

async fn predict(body: Bytes) -> Result<Json<Answer>, StatusCode> {
    let customer = customer_from_json(&body, Coercion::Lax).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?;
    Ok(Json(Answer {
        customer_id: customer.customer_id,
        churn_probability: 0.11954694986343384,
        prediction: "no_churn",
        churn_prediction: 0,
        risk_level: "LOW",
        model_version: "1.0.0",
    }))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(port) = args.next().and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: bare_http PORT [HTTP_THREADS]");
        return ExitCode::FAILURE;
    };
    let threads = args
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| Settings::default().http_thread_count());
    // Threaded as the server is (`main.rs`).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let app = axum::Router::new()
            .route("/api/v1/predict", post(predict))
            .route("/health", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        eprintln!("bare_http listening on 127.0.0.1:{port} with {threads} HTTP threads");
        // The same connection settings as the server, header timer included.
        let options = churn_serve::server::Options::new(&Settings::default(), Default::default());
        churn_serve::server::serve(listener, app, options, std::future::pending()).await;
    });
    ExitCode::SUCCESS
}
