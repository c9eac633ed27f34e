//! Graceful shutdown: /health turns 503 while draining, in-flight requests
//! finish, the process exits 0 within the grace period.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::binary::{self, BlockingPartial, Process, http, http_text, poll_until, refuses_connections};
use super::helpers::{Metrics, PartialRequest, TIMEOUT, eventually, spawn_app, spawn_app_with, valid_customer};

async fn refused(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err()
}

// ------------------------------------------------------------------ in-process

#[tokio::test]
async fn health_answers_503_draining_once_shutdown_has_begun() {
    let mut app = spawn_app_with(|s| s.shutdown_drain_secs = 3).await;
    assert_eq!(app.get("/health").await.status(), 200);
    app.begin_shutdown();

    let body: Value = eventually(TIMEOUT, "/health to answer 503", || async {
        let response = app.get("/health").await;
        (response.status() == 503).then_some(())?;
        response.json().await.ok()
    })
    .await;
    assert_eq!(body["status"], "draining");
    assert_eq!(body["model_loaded"], true);
    assert_eq!(body["model_version"], "1.0.0");
    assert!(body["uptime_seconds"].as_f64().is_some(), "{body}");
    assert!(app.state.health.is_draining());

    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "draining");
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), 200, "liveness never fails while draining");
    // Requests arriving while load balancers catch up are still served.
    assert_eq!(app.predict(&valid_customer()).await.status(), 200);

    app.stopped(TIMEOUT).await;
    assert!(refused(app.port).await, "the listener is closed");
}

#[tokio::test]
async fn draining_keeps_the_listener_open_for_shutdown_drain_secs() {
    let mut app = spawn_app_with(|s| s.shutdown_drain_secs = 1).await;
    let started = Instant::now();
    app.begin_shutdown();
    app.stopped(TIMEOUT).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "stopped after {:?}, before the drain period",
        started.elapsed()
    );
}

#[tokio::test]
async fn shutdown_without_drain_stops_promptly() {
    let mut app = spawn_app().await;
    app.predict_ok(&valid_customer()).await;
    app.begin_shutdown();
    app.stopped(TIMEOUT).await;
    assert!(refused(app.port).await);
}

#[tokio::test]
async fn in_flight_request_finishes_after_the_listener_closes() {
    let mut app = spawn_app_with(|s| s.shutdown_grace_secs = 10).await;
    let slow = PartialRequest::start(app.port, "/api/v1/predict", &valid_customer()).await;
    eventually(TIMEOUT, "the request to be in flight", || async {
        let m: Metrics = app.metrics().await;
        (m.value("churn_http_requests_in_flight", &[]) == 2.0).then_some(())
    })
    .await;
    app.begin_shutdown();
    eventually(TIMEOUT, "the listener to close", || async {
        refused(app.port).await.then_some(())
    })
    .await;

    let (status, answer) = slow.finish().await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["churn_probability"].is_f64(), "{answer}");
    app.stopped(TIMEOUT).await;
}

#[tokio::test]
async fn server_stops_after_the_grace_period_when_a_request_never_finishes() {
    let mut app = spawn_app_with(|s| s.shutdown_grace_secs = 1).await;
    let _stuck = PartialRequest::start(app.port, "/api/v1/predict", &valid_customer()).await;
    eventually(TIMEOUT, "the request to be in flight", || async {
        let m = app.metrics().await;
        (m.value("churn_http_requests_in_flight", &[]) == 2.0).then_some(())
    })
    .await;
    let started = Instant::now();
    app.begin_shutdown();
    app.stopped(TIMEOUT).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "gave up after {:?}, before the grace period",
        started.elapsed()
    );
}

// -------------------------------------------------------------- real binary

#[test]
fn sigterm_drains_finishes_in_flight_requests_and_exits_0() {
    let mut cmd = binary::command();
    cmd.env("CHURN_SHUTDOWN_DRAIN_SECS", "3")
        .env("CHURN_SHUTDOWN_GRACE_SECS", "10");
    let mut server = Process::start(cmd);
    let port = server.port();
    assert_eq!(http(port, "GET", "/health", None).0, 200);

    let slow = BlockingPartial::start(port, "/api/v1/predict", &valid_customer());
    poll_until(TIMEOUT, "the request to be in flight", || {
        let (_, text) = http_text(port, "/metrics");
        Metrics::parse(&text).value("churn_http_requests_in_flight", &[]) == 2.0
    });

    let signalled = Instant::now();
    server.signal("TERM");
    let mut draining = Value::Null;
    poll_until(TIMEOUT, "/health to answer 503", || {
        let (status, body) = http(port, "GET", "/health", None);
        draining = body;
        status == 503
    });
    assert_eq!(draining["status"], "draining", "{draining}");
    poll_until(TIMEOUT, "the listener to close", || refuses_connections(port));

    let (status, answer) = slow.finish();
    assert_eq!(status, 200, "the in-flight request completes: {answer}");
    assert!(answer["churn_probability"].is_f64(), "{answer}");

    let exit = server.wait_exit(TIMEOUT);
    assert_eq!(exit.code(), Some(0), "stderr:\n{}", server.stderr_text());
    assert!(
        signalled.elapsed() < Duration::from_secs(3 + 10),
        "exited within drain + grace"
    );
    let stderr = server.final_stderr().join("\n");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(stderr.contains("\"draining\""), "{stderr}");
    assert!(stderr.contains("\"stopped\""), "{stderr}");
    assert!(!stderr.contains("grace period over"), "{stderr}");
}

#[test]
fn sigterm_with_a_stuck_request_exits_0_after_the_grace_period() {
    let mut cmd = binary::command();
    cmd.env("CHURN_SHUTDOWN_GRACE_SECS", "1");
    let mut server = Process::start(cmd);
    let port = server.port();
    let _stuck = BlockingPartial::start(port, "/api/v1/predict", &valid_customer());
    poll_until(TIMEOUT, "the request to be in flight", || {
        let (_, text) = http_text(port, "/metrics");
        Metrics::parse(&text).value("churn_http_requests_in_flight", &[]) == 2.0
    });
    server.signal("TERM");
    let exit = server.wait_exit(TIMEOUT);
    assert_eq!(exit.code(), Some(0), "stderr:\n{}", server.stderr_text());
    let stderr = server.final_stderr().join("\n");
    assert!(stderr.contains("grace period over"), "{stderr}");
}

#[test]
fn sigint_shuts_down_gracefully_with_exit_0() {
    let mut server = Process::start(binary::command());
    let port = server.port();
    assert_eq!(http(port, "POST", "/api/v1/predict", Some(&valid_customer())).0, 200);
    server.signal("INT");
    let exit = server.wait_exit(TIMEOUT);
    assert_eq!(exit.code(), Some(0), "stderr:\n{}", server.stderr_text());
    assert!(server.final_stderr().join("\n").contains("Ctrl+C received"));
}
