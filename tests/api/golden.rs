//! Parity with scikit-learn: every golden row through the HTTP API.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::helpers::{
    DEFAULT_RULE, FLOAT32_MODEL, GoldenRow, MAIN_GOLDEN, PARITY_TOLERANCE, TestApp, ZIPMAP_MODEL, expected_decision,
    golden, repo_path, spawn_app_with,
};

/// Concurrent single-customer requests.
const CONCURRENCY: usize = 8;

fn check(row: &GoldenRow, answer: &Value, rule: (f64, f64, f64), version: &str) -> Option<String> {
    let p = answer["churn_probability"].as_f64()?;
    let (outcome, risk) = expected_decision(p, rule);
    let ok = (p - row.probability).abs() <= PARITY_TOLERANCE
        && answer["prediction"] == outcome
        && answer["churn_prediction"] == u8::from(outcome == "churn")
        && answer["risk_level"] == risk
        && answer["model_version"] == version
        && answer["customer_id"] == row.customer["customer_id"];
    (!ok).then(|| {
        format!(
            "{}: expected p={} got {answer}",
            row.customer["customer_id"], row.probability
        )
    })
}

/// Sends every row to /api/v1/predict, CONCURRENCY at a time; returns failures.
async fn single_mismatches(app: &TestApp, rows: &[GoldenRow], version: &str) -> Vec<String> {
    let rows = Arc::new(rows.to_vec());
    let url = app.url("/api/v1/predict");
    let mut tasks = JoinSet::new();
    for worker in 0..CONCURRENCY {
        let (rows, url, client) = (rows.clone(), url.clone(), app.client.clone());
        let version = version.to_owned();
        tasks.spawn(async move {
            let mut bad = Vec::new();
            for row in rows.iter().skip(worker).step_by(CONCURRENCY) {
                let response = client.post(&url).json(&row.customer).send().await;
                let response = response.expect("the request is answered");
                let status = response.status();
                let answer: Value = response.json().await.expect("a JSON answer");
                if status != 200 {
                    bad.push(format!("status {status}: {answer}"));
                } else if let Some(e) = check(row, &answer, DEFAULT_RULE, &version) {
                    bad.push(e);
                }
            }
            bad
        });
    }
    let mut bad = Vec::new();
    while let Some(result) = tasks.join_next().await {
        bad.extend(result.expect("a golden task does not panic"));
    }
    bad
}

/// Sends every row to /api/v1/predict/batch in batches of `size`.
async fn batch_mismatches(app: &TestApp, rows: &[GoldenRow], size: usize, version: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for chunk in rows.chunks(size) {
        let customers: Vec<&Value> = chunk.iter().map(|r| &r.customer).collect();
        let response = app.predict_batch(&json!({ "customers": customers })).await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["count"], chunk.len());
        assert_eq!(answer["model_version"], version);
        let predictions = answer["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), chunk.len());
        for (row, prediction) in chunk.iter().zip(predictions) {
            bad.extend(check(row, prediction, DEFAULT_RULE, version));
        }
    }
    bad
}

fn assert_none(bad: Vec<String>, total: usize) {
    assert!(
        bad.is_empty(),
        "{} of {total} golden rows differ; first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_golden_row_matches_scikit_learn_through_the_single_endpoint() {
    let rows = golden(MAIN_GOLDEN);
    assert_eq!(rows.len(), 1000);
    let app = spawn_app_with(|s| s.workers = 2).await;
    assert_none(single_mismatches(&app, &rows, "1.0.0").await, rows.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_golden_row_matches_scikit_learn_in_one_batch_of_1000() {
    let rows = golden(MAIN_GOLDEN);
    let app = spawn_app_with(|s| s.workers = 2).await;
    assert_none(batch_mismatches(&app, &rows, 1000, "1.0.0").await, rows.len());
}

#[tokio::test]
async fn golden_rows_match_through_batches_split_over_small_onnx_calls() {
    // max_batch_rows smaller than the request: the pool splits and reassembles.
    let rows = golden(MAIN_GOLDEN);
    let app = spawn_app_with(|s| {
        s.workers = 2;
        s.max_batch_rows = 7;
    })
    .await;
    assert_none(batch_mismatches(&app, &rows[..200], 97, "1.0.0").await, 200);
}

#[tokio::test]
async fn zipmap_model_with_snake_case_float64_inputs_matches_its_golden_file() {
    let rows = golden("tests/fixtures/churn_zipmap_snake.golden.jsonl");
    assert!(!rows.is_empty());
    let app = spawn_app_with(|s| s.model_path = repo_path(ZIPMAP_MODEL)).await;
    assert_none(single_mismatches(&app, &rows, "unknown").await, rows.len());
    assert_none(batch_mismatches(&app, &rows, rows.len(), "unknown").await, rows.len());
}

#[tokio::test]
async fn float32_model_matches_its_golden_file() {
    let rows = golden("tests/fixtures/churn_float32.golden.jsonl");
    assert!(!rows.is_empty());
    let app = spawn_app_with(|s| s.model_path = repo_path(FLOAT32_MODEL)).await;
    assert_none(single_mismatches(&app, &rows, "unknown").await, rows.len());
    assert_none(batch_mismatches(&app, &rows, rows.len(), "unknown").await, rows.len());
}
