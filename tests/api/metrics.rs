//! GET /metrics: Prometheus text that moves as requests arrive.

use serde_json::{Value, json};

use super::helpers::{
    DEFAULT_RULE, MAIN_GOLDEN, MAIN_METADATA, MAIN_MODEL, PartialRequest, TIMEOUT, eventually, expected_decision,
    golden, repo_path, spawn_app, valid_customer,
};

const REQUESTS: &str = "churn_http_requests_total";

fn requests(method: &'static str, route: &'static str, status: &'static str) -> [(&'static str, &'static str); 3] {
    [("method", method), ("route", route), ("status", status)]
}

#[tokio::test]
async fn metrics_endpoint_serves_prometheus_text() {
    let app = spawn_app().await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(content_type.contains("version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    for family in [
        "churn_http_requests_in_flight",
        "churn_model_info",
        "churn_requests_rejected_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(text.contains(&format!("# TYPE {family} ")), "no {family} in:\n{text}");
    }
}

#[tokio::test]
async fn http_requests_are_counted_by_method_route_template_and_status() {
    let app = spawn_app().await;
    for _ in 0..3 {
        assert_eq!(app.predict(&valid_customer()).await.status(), 200);
    }
    assert_eq!(app.predict(&json!({})).await.status(), 422);
    let batch = json!({"customers": [valid_customer()]});
    assert_eq!(app.predict_batch(&batch).await.status(), 200);
    assert_eq!(app.get("/health").await.status(), 200);

    let m = app.metrics().await;
    assert_eq!(
        m.value(REQUESTS, &requests("POST", "/api/v1/predict", "200")),
        3.0,
        "{}",
        m.text
    );
    assert_eq!(m.value(REQUESTS, &requests("POST", "/api/v1/predict", "422")), 1.0);
    assert_eq!(
        m.value(REQUESTS, &requests("POST", "/api/v1/predict/batch", "200")),
        1.0
    );
    assert_eq!(m.value(REQUESTS, &requests("GET", "/health", "200")), 1.0);
    // The scrape that produced `m` is counted after it answered; the next one sees it.
    let m = app.metrics().await;
    assert_eq!(m.value(REQUESTS, &requests("GET", "/metrics", "200")), 1.0);
}

#[tokio::test]
async fn counters_increase_with_each_request() {
    let app = spawn_app().await;
    let labels = requests("POST", "/api/v1/predict", "200");
    let before = app.metrics().await.value(REQUESTS, &labels);
    for expected in 1..=3 {
        app.predict_ok(&valid_customer()).await;
        let now = app.metrics().await.value(REQUESTS, &labels);
        assert_eq!(now, before + f64::from(expected));
    }
}

#[tokio::test]
async fn unknown_paths_are_labelled_unmatched_not_by_raw_path() {
    let app = spawn_app().await;
    for path in ["/wp-admin/setup.php", "/random-probe-8c1f", "/api/v1/predict/extra"] {
        assert_eq!(app.get(path).await.status(), 404);
    }
    let m = app.metrics().await;
    assert_eq!(
        m.value(REQUESTS, &requests("GET", "unmatched", "404")),
        3.0,
        "{}",
        m.text
    );
    for raw in ["wp-admin", "random-probe", "/extra"] {
        assert!(!m.text.contains(raw), "raw path {raw} leaked into labels:\n{}", m.text);
    }
}

#[tokio::test]
async fn path_parameters_are_labelled_by_the_route_template() {
    let app = spawn_app().await;
    for name in ["churn_pipeline", "some-other-model-1f2e"] {
        app.get(&format!("/v2/models/{name}")).await;
    }
    let m = app.metrics().await;
    let total: f64 = m
        .series(REQUESTS)
        .iter()
        .filter(|(labels, _)| labels["route"] == "/v2/models/{name}")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, 2.0, "{}", m.text);
    assert!(!m.text.contains("some-other-model"), "{}", m.text);
}

#[tokio::test]
async fn wrong_methods_are_labelled_by_route_template() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/predict").await.status(), 405);
    let m = app.metrics().await;
    assert_eq!(
        m.value(REQUESTS, &requests("GET", "/api/v1/predict", "405")),
        1.0,
        "{}",
        m.text
    );
}

#[tokio::test]
async fn request_durations_are_observed_per_route() {
    let app = spawn_app().await;
    app.predict_ok(&valid_customer()).await;
    app.predict_ok(&valid_customer()).await;
    let m = app.metrics().await;
    let labels = [("method", "POST"), ("route", "/api/v1/predict")];
    assert_eq!(m.value("churn_http_request_duration_seconds_count", &labels), 2.0);
    assert!(m.value("churn_http_request_duration_seconds_sum", &labels) > 0.0);
    let mut inf = labels.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(m.value("churn_http_request_duration_seconds_bucket", &inf), 2.0);
}

#[tokio::test]
async fn predictions_are_counted_by_outcome_and_risk_level() {
    let app = spawn_app().await;
    let rows: Vec<_> = golden(MAIN_GOLDEN).into_iter().take(300).collect();
    let mut expected = std::collections::BTreeMap::<(&str, &str), f64>::new();
    for row in &rows {
        *expected
            .entry(expected_decision(row.probability, DEFAULT_RULE))
            .or_default() += 1.0;
    }
    assert!(expected.len() >= 3, "the sample covers several bands: {expected:?}");
    let customers: Vec<&Value> = rows.iter().map(|r| &r.customer).collect();
    let response = app.predict_batch(&json!({ "customers": &customers[1..] })).await;
    assert_eq!(response.status(), 200);
    app.predict_ok(customers[0]).await;

    let m = app.metrics().await;
    for ((outcome, risk), count) in &expected {
        let labels = [("outcome", *outcome), ("risk_level", *risk)];
        assert_eq!(m.value("churn_predictions_total", &labels), *count, "{outcome}/{risk}");
    }
    let total: f64 = m.series("churn_predictions_total").iter().map(|(_, v)| v).sum();
    assert_eq!(total, 300.0);
    assert_eq!(m.value("churn_prediction_probability_count", &[]), 300.0);
    let sum: f64 = rows.iter().map(|r| r.probability).sum();
    let observed = m.value("churn_prediction_probability_sum", &[]);
    assert!((observed - sum).abs() < 1e-3, "{observed} vs {sum}");
}

#[tokio::test]
async fn rejected_requests_are_not_counted_as_predictions() {
    let app = spawn_app().await;
    assert_eq!(app.predict(&json!({"age": 3})).await.status(), 422);
    let m = app.metrics().await;
    assert!(m.series("churn_predictions_total").iter().all(|(_, v)| *v == 0.0));
    assert_eq!(m.value("churn_prediction_probability_count", &[]), 0.0);
}

#[tokio::test]
async fn inference_duration_is_observed_per_onnx_call() {
    let app = spawn_app().await;
    let before = app.metrics().await.value("churn_inference_duration_seconds_count", &[]);
    app.predict_ok(&valid_customer()).await;
    app.predict_ok(&valid_customer()).await;
    let m = app.metrics().await;
    let count = m.value("churn_inference_duration_seconds_count", &[]);
    assert_eq!(count - before, 2.0, "{}", m.text);
    assert!(m.value("churn_inference_duration_seconds_sum", &[]) > 0.0);
}

#[tokio::test]
async fn in_flight_gauge_counts_requests_being_served() {
    let app = spawn_app().await;
    // The scrape itself is in flight while it renders.
    let idle = app.metrics().await.value("churn_http_requests_in_flight", &[]);
    assert_eq!(idle, 1.0);
    let slow = PartialRequest::start(app.port, "/api/v1/predict", &valid_customer()).await;
    eventually(TIMEOUT, "the half-sent request to be in flight", || async {
        let now = app.metrics().await.value("churn_http_requests_in_flight", &[]);
        (now == 2.0).then_some(())
    })
    .await;
    let (status, answer) = slow.finish().await;
    assert_eq!(status, 200, "{answer}");
    let after = app.metrics().await.value("churn_http_requests_in_flight", &[]);
    assert_eq!(after, 1.0);
}

#[tokio::test]
async fn model_info_names_the_served_model_with_value_1() {
    let app = spawn_app().await;
    let bytes = std::fs::read(repo_path(MAIN_MODEL)).unwrap();
    let sha256 = churn_serve::model::sha256_hex(&bytes);
    let metadata: Value = serde_json::from_str(&std::fs::read_to_string(repo_path(MAIN_METADATA)).unwrap()).unwrap();
    assert_eq!(metadata["sha256"], sha256, "the metadata describes the shipped model");
    let m = app.metrics().await;
    let series = m.series("churn_model_info");
    assert_eq!(series.len(), 1, "{series:?}");
    let (labels, value) = &series[0];
    assert_eq!(*value, 1.0);
    assert_eq!(labels["name"], "churn_pipeline");
    assert_eq!(labels["version"], "1.0.0");
    assert_eq!(labels["sha256"], sha256);
}

#[tokio::test]
async fn process_metrics_are_exported() {
    let app = spawn_app().await;
    let m = app.metrics().await;
    assert!(m.value("process_resident_memory_bytes", &[]) > 0.0, "{}", m.text);
    assert!(m.value("process_open_fds", &[]) > 0.0);
    assert!(m.has_metric("process_start_time_seconds"));
}

#[tokio::test]
async fn each_application_counts_its_own_requests() {
    let a = spawn_app().await;
    let b = spawn_app().await;
    a.predict_ok(&valid_customer()).await;
    let labels = requests("POST", "/api/v1/predict", "200");
    assert_eq!(a.metrics().await.value(REQUESTS, &labels), 1.0);
    assert_eq!(b.metrics().await.value(REQUESTS, &labels), 0.0);
}
