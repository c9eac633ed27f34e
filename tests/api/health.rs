//! GET /health, /health/live and /health/ready.

use super::helpers::{FLOAT32_MODEL, repo_path, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_answers_200_healthy_with_model_version_and_uptime() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["model_loaded"], true);
    assert_eq!(body["model_version"], "1.0.0");
    let uptime = body["uptime_seconds"].as_f64().expect("uptime is a number");
    assert!(uptime.is_finite() && uptime >= 0.0, "{body}");
}

#[tokio::test]
async fn health_uptime_grows_between_calls() {
    let app = spawn_app().await;
    let uptime = |body: serde_json::Value| body["uptime_seconds"].as_f64().unwrap();
    let first = uptime(app.get("/health").await.json().await.unwrap());
    let second = super::helpers::eventually(super::helpers::TIMEOUT, "uptime to grow", || async {
        let now = uptime(app.get("/health").await.json().await.unwrap());
        (now > first).then_some(now)
    })
    .await;
    assert!(second > first);
}

#[tokio::test]
async fn health_reports_version_unknown_for_a_model_without_metadata() {
    let app = spawn_app_with(|s| s.model_path = repo_path(FLOAT32_MODEL)).await;
    let body: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["model_version"], "unknown");
}

#[tokio::test]
async fn liveness_probe_answers_200_alive() {
    let app = spawn_app().await;
    let response = app.get("/health/live").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "alive");
}

#[tokio::test]
async fn readiness_probe_answers_200_ready_while_serving() {
    let app = spawn_app().await;
    let response = app.get("/health/ready").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn health_responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert!(response.headers().contains_key("x-request-id"));
}
