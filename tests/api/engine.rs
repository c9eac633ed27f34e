//! The inference engine: adaptive batching must never mix up callers or
//! change a single bit of any answer.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{GoldenRow, MAIN_GOLDEN, golden, spawn_app_with};

/// The `churn_probability` of a 200 answer, bit for bit.
fn probability(body: &Value) -> u64 {
    body["churn_probability"].as_f64().expect("a probability").to_bits()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_each_get_their_own_row_bit_for_bit() {
    // One worker and many concurrent callers: requests queue up and are
    // served in shared ONNX calls.
    let app = spawn_app_with(|s| s.workers = 1).await;
    let rows: Vec<GoldenRow> = golden(MAIN_GOLDEN).into_iter().take(300).collect();

    let mut alone = HashMap::new();
    for row in &rows {
        let body = app.predict_ok(&row.customer).await;
        alone.insert(
            row.customer["customer_id"].as_str().unwrap().to_owned(),
            probability(&body),
        );
    }
    let batches_before = app.metrics().await.value("churn_inference_batch_rows_count", &[]);
    let calls_before = app.metrics().await.value("churn_inference_batch_rows_sum", &[]);

    let tasks: Vec<_> = rows
        .iter()
        .map(|row| {
            let (client, url, customer) = (app.client.clone(), app.url("/api/v1/predict"), row.customer.clone());
            tokio::spawn(async move {
                let answer: Value = client
                    .post(url)
                    .json(&customer)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (customer["customer_id"].as_str().unwrap().to_owned(), answer)
            })
        })
        .collect();
    for task in tasks {
        let (id, answer) = task.await.unwrap();
        assert_eq!(answer["customer_id"], json!(id), "answer went to the wrong caller");
        assert_eq!(
            probability(&answer),
            alone[&id],
            "batched result differs from the unbatched one for {id}"
        );
    }

    let after = app.metrics().await;
    let calls = after.value("churn_inference_batch_rows_count", &[]) - batches_before;
    let rows_scored = after.value("churn_inference_batch_rows_sum", &[]) - calls_before;
    assert_eq!(rows_scored, rows.len() as f64);
    assert!(
        calls < rows.len() as f64,
        "300 concurrent requests ran in {calls} ONNX calls: no batching happened"
    );
}

#[tokio::test]
async fn large_batches_are_split_across_workers_and_keep_request_order() {
    let app = spawn_app_with(|s| {
        s.workers = 2;
        s.max_batch_rows = 64;
    })
    .await;
    let rows: Vec<GoldenRow> = golden(MAIN_GOLDEN).into_iter().take(1000).collect();
    let customers: Vec<Value> = rows.iter().map(|r| r.customer.clone()).collect();
    let response = app.predict_batch(&json!({ "customers": customers })).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["count"], 1000);
    let predictions = body["predictions"].as_array().unwrap();
    for (row, prediction) in rows.iter().zip(predictions) {
        assert_eq!(prediction["customer_id"], row.customer["customer_id"]);
        let p = prediction["churn_probability"].as_f64().unwrap();
        assert!((p - row.probability).abs() <= 1e-5, "{p} vs {}", row.probability);
    }
    let metrics = app.metrics().await;
    let calls = metrics.value("churn_inference_batch_rows_count", &[]);
    assert!(
        calls >= 1000.0 / 64.0,
        "1000 rows with max_batch_rows=64 took only {calls} calls"
    );
}
