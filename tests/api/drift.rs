//! Drift against the training data, through the HTTP API: the held-out test
//! split shows none; a shifted population shows in the shifted features only.

use serde_json::{Value, json};

use super::helpers::*;

/// The 1000 golden rows are the first 1000 rows of the held-out test split.
fn test_split() -> Vec<Value> {
    golden(MAIN_GOLDEN).into_iter().map(|row| row.customer).collect()
}

async fn send(app: &TestApp, customers: &[Value]) {
    for chunk in customers.chunks(500) {
        let response = app.predict_batch(&json!({ "customers": chunk })).await;
        assert_eq!(response.status(), 200);
    }
}

fn psi_of(drift: &Value) -> Vec<(String, f64)> {
    drift["features"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&drift["prediction"]])
        .map(|q| {
            (
                q["name"].as_str().unwrap().to_owned(),
                q["psi"].as_f64().expect("a score"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_held_out_test_split_shows_no_drift() {
    let app = spawn_app().await;
    let before: Value = app.get("/api/v1/model/drift").await.json().await.unwrap();
    assert_eq!(
        (before["observations"].as_u64(), before["window"].as_u64()),
        (Some(0), Some(1000))
    );
    assert!(before["features"][0]["psi"].is_null(), "no score without observations");
    send(&app, &test_split()).await;
    let drift: Value = app.get("/api/v1/model/drift").await.json().await.unwrap();
    assert_eq!(drift["observations"], 1000);
    for (name, psi) in psi_of(&drift) {
        assert!(psi < 0.1, "{name}: PSI {psi} on the test split");
    }
    let metrics = app.metrics().await;
    assert_eq!(metrics.series("churn_feature_drift_psi").len(), 10);
    assert!(metrics.value("churn_prediction_drift_psi", &[]) < 0.1);
}

#[tokio::test]
async fn a_shifted_population_shows_in_the_shifted_features_only() {
    let app = spawn_app().await;
    let shifted: Vec<Value> = test_split()
        .into_iter()
        .map(|mut c| {
            c["geography"] = json!("Germany");
            c["age"] = json!((c["age"].as_i64().unwrap() + 15).min(100));
            c
        })
        .collect();
    send(&app, &shifted).await;
    let drift: Value = app.get("/api/v1/model/drift").await.json().await.unwrap();
    for (name, psi) in psi_of(&drift) {
        match name.as_str() {
            "geography" | "age" | "prediction" => assert!(psi > 0.25, "{name}: PSI {psi}"),
            _ => assert!(psi < 0.1, "{name}: PSI {psi}"),
        }
    }
}

#[tokio::test]
async fn drift_can_be_switched_off() {
    let app = spawn_app_with(|s| s.drift_window = 0).await;
    assert_eq!(app.get("/api/v1/model/drift").await.status(), 404);
    send(&app, &test_split()[..10]).await;
    assert!(!app.metrics().await.has_metric("churn_drift_reference_share"));
}
