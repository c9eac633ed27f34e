//! Status codes and the error shape: 404, 405, 413, 415, 422 json_invalid,
//! and (with fake predictors driving the router in-process) 500, 503, 504.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use churn_serve::config::Settings;
use churn_serve::domain::Customer;
use churn_serve::metrics::Metrics as AppMetrics;
use churn_serve::model::{ModelInfo, PredictError, PredictFuture, Predictor};
use churn_serve::state::AppState;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::helpers::{
    Metrics, PartialRequest, error_body, field_errors, parse_http, read_some, spawn_app, spawn_app_with,
    valid_customer, write_all,
};

// ---------------------------------------------------------------- real server

#[tokio::test]
async fn unknown_route_answers_404_as_json() {
    let app = spawn_app().await;
    for path in ["/nope", "/api/v1/predictions", "/api/v2/predict", "/api/v1/predict/"] {
        let body = error_body(app.get(path).await, 404).await;
        assert_eq!(body["detail"], "Not Found", "{path}");
    }
    let body = error_body(app.predict_batch(&json!({})).await, 422).await;
    assert!(body["detail"].is_array());
    let body = error_body(app.post_json("/unknown", &valid_customer()).await, 404).await;
    assert_eq!(body["detail"], "Not Found");
}

#[tokio::test]
async fn wrong_method_answers_405_as_json() {
    let app = spawn_app().await;
    let cases = [
        (reqwest::Method::GET, "/api/v1/predict"),
        (reqwest::Method::PUT, "/api/v1/predict"),
        (reqwest::Method::GET, "/api/v1/predict/batch"),
        (reqwest::Method::DELETE, "/health"),
        (reqwest::Method::POST, "/metrics"),
    ];
    for (method, path) in cases {
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        let body = error_body(response, 405).await;
        assert_eq!(body["detail"], "Method Not Allowed", "{method} {path}");
    }
}

#[tokio::test]
async fn a_path_that_is_not_utf8_answers_400_as_json_with_the_request_id() {
    let app = spawn_app().await;
    let cases = [
        ("/v2/models/%ff/infer", "error"),
        ("/v2/models/%ff", "error"),
        ("/docs/%ff", "detail"),
    ];
    for (path, key) in cases {
        let request = app.client.get(app.url(path));
        let request = if path.ends_with("infer") {
            app.client.post(app.url(path)).json(&json!({"inputs": []}))
        } else {
            request
        };
        let response = request.header("x-request-id", "utf8-probe").send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        assert_eq!(response.headers()["x-request-id"], "utf8-probe", "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body[key].as_str().is_some_and(|m| !m.is_empty()), "{path}: {body}");
        if key == "detail" {
            assert_eq!(body["request_id"], "utf8-probe", "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn wrong_content_type_answers_415() {
    let app = spawn_app().await;
    let json = valid_customer().to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        None,
    ] {
        let response = app.post_raw("/api/v1/predict", content_type, json.clone()).await;
        let body = error_body(response, 415).await;
        assert!(body["detail"].is_string(), "{content_type:?}: {body}");
        let response = app.post_raw("/api/v1/predict/batch", content_type, json.clone()).await;
        error_body(response, 415).await;
    }
}

#[tokio::test]
async fn json_content_type_with_charset_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .post_raw(
            "/api/v1/predict",
            Some("application/json; charset=utf-8"),
            valid_customer().to_string(),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn malformed_json_answers_422_json_invalid() {
    let app = spawn_app().await;
    let bodies: [&[u8]; 6] = [
        b"{\"age\": }",
        b"{\"age\": 4",
        b"   ",
        b"{'age': 40}",
        b"{} trailing",
        b"{\"balance\": NaN}",
    ];
    for raw in bodies {
        for path in ["/api/v1/predict", "/api/v1/predict/batch"] {
            let response = app.post_raw(path, Some("application/json"), raw.to_vec()).await;
            let errors = field_errors(response).await;
            assert_eq!(errors.len(), 1, "{:?}: {errors:?}", String::from_utf8_lossy(raw));
            assert_eq!(errors[0]["type"], "json_invalid", "{errors:?}");
            assert_eq!(errors[0]["loc"][0], "body", "{errors:?}");
        }
    }
}

#[tokio::test]
async fn an_empty_body_is_a_missing_body_as_fastapi_reports_it() {
    let app = spawn_app().await;
    for path in ["/api/v1/predict", "/api/v1/predict/batch"] {
        let errors = field_errors(app.post_raw(path, Some("application/json"), Vec::new()).await).await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (&errors[0]["type"], &errors[0]["loc"]),
            (&json!("missing"), &json!(["body"]))
        );
        assert_eq!(errors[0]["msg"], "Field required");
    }
}

#[tokio::test]
async fn body_over_max_body_bytes_answers_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 1024).await;
    let small = valid_customer();
    assert!(small.to_string().len() < 1024);
    assert_eq!(app.predict(&small).await.status(), 200);
    let big = super::helpers::with(valid_customer(), "notes", json!("x".repeat(2000)));
    let body = error_body(app.predict(&big).await, 413).await;
    assert!(body["detail"].is_string(), "{body}");
    let batch = json!({"customers": vec![valid_customer(); 10]});
    error_body(app.predict_batch(&batch).await, 413).await;
}

#[tokio::test]
async fn chunked_body_over_max_body_bytes_answers_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 1024).await;
    let body = super::helpers::with(valid_customer(), "notes", json!("y".repeat(4000))).to_string();
    let mut chunked = Vec::new();
    for chunk in body.as_bytes().chunks(500) {
        chunked.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend(chunk);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let head = "POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    write_all(&stream, head.as_bytes()).await;
    // The body fits the socket buffers, so this cannot block on a server that
    // answers early.
    write_all(&stream, &chunked).await;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(super::helpers::TIMEOUT, read_some(&stream, &mut buf))
            .await
            .expect("an answer within the bound");
        raw.extend_from_slice(&buf[..n]);
        if n == 0 || parse_http(&raw).is_some() {
            break;
        }
    }
    let (status, body) = parse_http(&raw).unwrap_or_else(|| panic!("an answer: {}", String::from_utf8_lossy(&raw)));
    assert_eq!(status, 413, "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn errors_carry_the_given_request_id_in_header_and_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/predict"))
        .header("x-request-id", "err-req-7")
        .json(&json!({"age": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "err-req-7");
    let body = error_body(response, 422).await;
    assert_eq!(body["request_id"], "err-req-7");

    let response = app
        .client
        .get(app.url("/missing"))
        .header("x-request-id", "err-req-8")
        .send()
        .await
        .unwrap();
    let body = error_body(response, 404).await;
    assert_eq!(body["request_id"], "err-req-8");
}

#[tokio::test]
async fn errors_without_a_request_id_get_a_generated_one_in_header_and_body() {
    let app = spawn_app().await;
    let body = error_body(app.predict(&json!({})).await, 422).await;
    let id = body["request_id"].as_str().expect("a generated request id");
    uuid::Uuid::parse_str(id).expect("a UUID");
    let body = error_body(app.get("/nope").await, 404).await;
    assert!(body["request_id"].is_string());
}

#[tokio::test]
async fn a_batch_that_overflows_the_inference_queue_answers_503_with_retry_after() {
    // One-row ONNX calls and a queue of two: a 200-row batch is 200 jobs, far
    // more than the queue holds, so the pool refuses instead of queueing.
    let app = spawn_app_with(|s| {
        s.workers = 1;
        s.max_batch_rows = 1;
        s.queue_capacity = 2;
    })
    .await;
    let batch = json!({"customers": vec![valid_customer(); 200]});
    let response = app.predict_batch(&batch).await;
    let retry_after = response.headers().get("retry-after").cloned();
    let body = error_body(response, 503).await;
    assert!(body["detail"].is_string(), "{body}");
    assert_eq!(retry_after.as_ref().map(|v| v.to_str().unwrap()), Some("1"));
    let m = app.metrics().await;
    assert_eq!(
        m.value("churn_requests_rejected_total", &[("reason", "overloaded")]),
        1.0
    );
    // The pool recovers once the queue drains.
    super::helpers::eventually(super::helpers::TIMEOUT, "the pool to accept work again", || async {
        (app.predict(&valid_customer()).await.status() == 200).then_some(())
    })
    .await;
}

// ----------------------------------------------------- in-process, fake models

/// A predictor whose answer the test chooses.
enum Fake {
    Probabilities(Vec<f64>),
    Fail(&'static str),
    Overloaded,
    Stopped,
    Never,
}

struct FakePredictor {
    behaviour: Fake,
    calls: AtomicUsize,
}

impl Predictor for FakePredictor {
    fn predict(&self, rows: Vec<Customer>) -> PredictFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let result = match &self.behaviour {
            Fake::Probabilities(p) => Ok(p.iter().copied().cycle().take(rows.len()).collect()),
            Fake::Fail(cause) => Err(PredictError::Failed((*cause).to_owned())),
            Fake::Overloaded => Err(PredictError::Overloaded),
            Fake::Stopped => Err(PredictError::Stopped),
            Fake::Never => return Box::pin(std::future::pending()),
        };
        Box::pin(async move { result })
    }
}

fn fake_state(behaviour: Fake) -> (AppState, Arc<FakePredictor>) {
    let predictor = Arc::new(FakePredictor {
        behaviour,
        calls: AtomicUsize::new(0),
    });
    let model = ModelInfo {
        name: "fake".into(),
        version: "fake-1".into(),
        sha256: "0".repeat(64),
        metadata: None,
        baseline: None,
        inputs: Vec::new(),
        golden: Vec::new(),
    };
    let settings = Settings {
        request_timeout_ms: 300,
        ..Settings::default()
    };
    let state = AppState::new(&settings, predictor.clone(), model, Arc::new(AppMetrics::new()));
    (state, predictor)
}

async fn call(state: &AppState, method: &str, uri: &str, body: Option<&Value>) -> Response<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-request-id", "fake-req-1");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    churn_serve::routes::app(state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .expect("the router is infallible")
}

async fn json_of(response: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&bytes)))
}

async fn predict_fake(behaviour: Fake) -> (StatusCode, axum::http::HeaderMap, Value) {
    let (state, _) = fake_state(behaviour);
    let response = call(&state, "POST", "/api/v1/predict", Some(&valid_customer())).await;
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, json_of(response).await)
}

#[tokio::test]
async fn inference_failure_answers_500_with_request_id_and_no_internals() {
    let cause = "ort: Non-zero status code returned while running TreeEnsemble node /secret/path";
    let (status, headers, body) = predict_fake(Fake::Fail(cause)).await;
    assert_eq!(status, 500);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-request-id"], "fake-req-1");
    assert_eq!(
        body,
        json!({"detail": "Internal Server Error", "request_id": "fake-req-1"})
    );
    let text = body.to_string();
    for leak in ["ort", "TreeEnsemble", "secret", "Non-zero"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
}

#[tokio::test]
async fn inference_failure_in_a_batch_answers_500() {
    let (state, _) = fake_state(Fake::Fail("boom"));
    let body = json!({"customers": [valid_customer(), valid_customer()]});
    let response = call(&state, "POST", "/api/v1/predict/batch", Some(&body)).await;
    assert_eq!(response.status(), 500);
    let body = json_of(response).await;
    assert_eq!(body["detail"], "Internal Server Error");
}

#[tokio::test]
async fn overload_answers_503_with_retry_after() {
    let (status, headers, body) = predict_fake(Fake::Overloaded).await;
    assert_eq!(status, 503);
    let retry = headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap();
    assert!(retry.parse::<u64>().is_ok_and(|s| s >= 1), "{retry}");
    assert_eq!(body["request_id"], "fake-req-1");
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn overload_is_counted_as_a_rejection() {
    let (state, _) = fake_state(Fake::Overloaded);
    let before = Metrics::parse(&state.metrics.render());
    assert_eq!(
        before.get("churn_requests_rejected_total", &[("reason", "overloaded")]),
        Some(0.0)
    );
    call(&state, "POST", "/api/v1/predict", Some(&valid_customer())).await;
    let after = Metrics::parse(&state.metrics.render());
    assert_eq!(
        after.value("churn_requests_rejected_total", &[("reason", "overloaded")]),
        1.0
    );
    assert_eq!(
        after.value(
            "churn_http_requests_total",
            &[("method", "POST"), ("route", "/api/v1/predict"), ("status", "503")]
        ),
        1.0
    );
}

#[tokio::test]
async fn stopped_engine_answers_503() {
    let (status, _, body) = predict_fake(Fake::Stopped).await;
    assert_eq!(status, 503);
    assert_eq!(body["request_id"], "fake-req-1");
}

#[tokio::test]
async fn inference_that_never_finishes_answers_504_after_the_request_timeout() {
    let (state, _) = fake_state(Fake::Never);
    let response = tokio::time::timeout(
        super::helpers::TIMEOUT,
        call(&state, "POST", "/api/v1/predict", Some(&valid_customer())),
    )
    .await
    .expect("the request timeout ends the request");
    assert_eq!(response.status(), 504);
    assert_eq!(response.headers()["x-request-id"], "fake-req-1");
    let body = json_of(response).await;
    assert_eq!(body["request_id"], "fake-req-1");
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_answers_408_not_504() {
    let app = spawn_app_with(|s| s.request_timeout_ms = 300).await;
    let request = PartialRequest::start(app.port, "/api/v1/predict", &valid_customer()).await;
    let (status, body) = request.answer_without_finishing().await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["request_id"], "in-flight", "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("body")), "{body}");
    let metrics = app.metrics().await;
    let labels = [("method", "POST"), ("route", "/api/v1/predict"), ("status", "408")];
    let timeouts = metrics.get("churn_http_requests_total", &labels);
    assert_eq!(timeouts, Some(1.0), "counted under 408, not as a 5xx");
}

#[tokio::test]
async fn bodies_past_the_in_flight_budget_answer_503_and_the_budget_comes_back() {
    let app = spawn_app_with(|s| {
        s.max_body_bytes = 1024;
        s.max_inflight_body_bytes = 1024;
    })
    .await;
    // Half a body announced: its share (1 KiB) is the whole budget.
    let held = PartialRequest::start(app.port, "/api/v1/predict", &valid_customer()).await;
    let refused = app.predict(&valid_customer()).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let (status, _) = held.finish().await;
    assert_eq!(status, 200);
    assert_eq!(
        app.predict(&valid_customer()).await.status(),
        200,
        "the share was given back"
    );
}

#[tokio::test]
async fn invalid_requests_never_reach_the_model() {
    let (state, predictor) = fake_state(Fake::Probabilities(vec![0.5]));
    let response = call(&state, "POST", "/api/v1/predict", Some(&json!({"age": 5}))).await;
    assert_eq!(response.status(), 422);
    let batch = json!({"customers": [valid_customer(), {"age": 5}]});
    let response = call(&state, "POST", "/api/v1/predict/batch", Some(&batch)).await;
    assert_eq!(response.status(), 422);
    assert_eq!(predictor.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn decision_rule_edges_belong_to_the_higher_band() {
    let cases = [
        (0.0, "no_churn", 0, "LOW"),
        (0.299_999, "no_churn", 0, "LOW"),
        (0.3, "no_churn", 0, "MEDIUM"),
        (0.499_999, "no_churn", 0, "MEDIUM"),
        (0.5, "churn", 1, "MEDIUM"),
        (0.699_999, "churn", 1, "MEDIUM"),
        (0.7, "churn", 1, "HIGH"),
        (1.0, "churn", 1, "HIGH"),
    ];
    let probabilities: Vec<f64> = cases.iter().map(|c| c.0).collect();
    let (state, _) = fake_state(Fake::Probabilities(probabilities));
    let body = json!({"customers": vec![valid_customer(); cases.len()]});
    let response = call(&state, "POST", "/api/v1/predict/batch", Some(&body)).await;
    assert_eq!(response.status(), 200);
    let answer = json_of(response).await;
    assert_eq!(answer["model_version"], "fake-1");
    for ((p, outcome, flag, risk), got) in cases.iter().zip(answer["predictions"].as_array().unwrap()) {
        assert_eq!(got["churn_probability"].as_f64(), Some(*p), "{got}");
        assert_eq!(got["prediction"], *outcome, "p = {p}");
        assert_eq!(got["churn_prediction"], *flag, "p = {p}");
        assert_eq!(got["risk_level"], *risk, "p = {p}");
    }
}

#[tokio::test]
async fn the_router_answers_404_and_405_in_process() {
    let (state, _) = fake_state(Fake::Probabilities(vec![0.5]));
    let response = call(&state, "GET", "/does-not-exist", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        json_of(response).await,
        json!({"detail": "Not Found", "request_id": "fake-req-1"})
    );
    let response = call(&state, "GET", "/api/v1/predict", None).await;
    assert_eq!(response.status(), 405);
    assert_eq!(
        json_of(response).await,
        json!({"detail": "Method Not Allowed", "request_id": "fake-req-1"})
    );
}
