//! POST /api/v1/predict/batch.

use serde_json::{Value, json};

use super::helpers::{
    MAIN_GOLDEN, PARITY_TOLERANCE, field_errors, golden, spawn_app, spawn_app_with, valid_customer,
    valid_customer_aliased, with,
};

fn customers(n: usize) -> Vec<Value> {
    golden(MAIN_GOLDEN).into_iter().take(n).map(|r| r.customer).collect()
}

#[tokio::test]
async fn batch_returns_predictions_in_request_order_with_count_and_version() {
    let app = spawn_app().await;
    let rows: Vec<_> = golden(MAIN_GOLDEN).into_iter().take(25).collect();
    let body = json!({"customers": rows.iter().map(|r| &r.customer).collect::<Vec<_>>()});
    let response = app.predict_batch(&body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["count"], 25);
    assert_eq!(answer["model_version"], "1.0.0");
    let predictions = answer["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 25);
    for (row, prediction) in rows.iter().zip(predictions) {
        assert_eq!(prediction["customer_id"], row.customer["customer_id"]);
        let p = prediction["churn_probability"].as_f64().unwrap();
        assert!((p - row.probability).abs() <= PARITY_TOLERANCE, "{prediction}");
        assert_eq!(prediction["model_version"], "1.0.0");
        assert!(prediction["prediction"].is_string());
        assert!(prediction["risk_level"].is_string());
        assert!(prediction["churn_prediction"].is_u64());
    }
}

#[tokio::test]
async fn batch_answers_equal_single_answers() {
    let app = spawn_app_with(|s| s.workers = 2).await;
    let rows = customers(7);
    let answer: Value = app
        .predict_batch(&json!({ "customers": rows }))
        .await
        .json()
        .await
        .unwrap();
    for (customer, batch) in rows.iter().zip(answer["predictions"].as_array().unwrap()) {
        let single = app.predict_ok(customer).await;
        assert_eq!(&single, batch);
    }
}

#[tokio::test]
async fn batch_of_one_is_accepted() {
    let app = spawn_app().await;
    let response = app.predict_batch(&json!({"customers": [valid_customer()]})).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["count"], 1);
    assert!(answer["predictions"][0].get("customer_id").is_none());
}

#[tokio::test]
async fn batch_accepts_aliases_and_boolean_flags() {
    let app = spawn_app().await;
    let aliased = with(valid_customer_aliased(), "HasCrCard", json!(true));
    let body = json!({"customers": [valid_customer(), aliased]});
    let answer: Value = app.predict_batch(&body).await.json().await.unwrap();
    let p = |i: usize| answer["predictions"][i]["churn_probability"].as_f64().unwrap();
    assert_eq!(p(0), p(1), "{answer}");
}

#[tokio::test]
async fn batch_error_names_the_index_of_the_bad_customer() {
    let app = spawn_app().await;
    let mut rows = customers(5);
    rows[3]["age"] = json!(12);
    let errors = field_errors(app.predict_batch(&json!({ "customers": rows })).await).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["loc"], json!(["body", "customers", 3, "age"]));
    assert_eq!(errors[0]["type"], "greater_than_equal");
    assert_eq!(errors[0]["input"], 12);
}

#[tokio::test]
async fn batch_lists_every_bad_field_of_every_customer() {
    let app = spawn_app().await;
    let mut rows = customers(4);
    rows[0]["gender"] = json!("X");
    rows[2]["tenure"] = json!(99);
    rows[2].as_object_mut().unwrap().remove("balance");
    rows[3] = json!("not a customer");
    let errors = field_errors(app.predict_batch(&json!({ "customers": rows })).await).await;
    let locs: Vec<Value> = errors.iter().map(|e| e["loc"].clone()).collect();
    assert_eq!(
        locs,
        [
            json!(["body", "customers", 0, "gender"]),
            json!(["body", "customers", 2, "tenure"]),
            json!(["body", "customers", 2, "balance"]),
            json!(["body", "customers", 3]),
        ]
    );
    assert_eq!(errors[3]["type"], "model_attributes_type");
}

#[tokio::test]
async fn batch_rejects_an_empty_list_with_422_too_short() {
    let app = spawn_app().await;
    let errors = field_errors(app.predict_batch(&json!({"customers": []})).await).await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["type"], "too_short");
    assert_eq!(errors[0]["loc"], json!(["body", "customers"]));
}

#[tokio::test]
async fn batch_rejects_more_than_max_batch_size_with_422_too_long() {
    let app = spawn_app_with(|s| s.max_batch_size = 3).await;
    let ok = app.predict_batch(&json!({ "customers": customers(3) })).await;
    assert_eq!(ok.status(), 200);
    let errors = field_errors(app.predict_batch(&json!({ "customers": customers(4) })).await).await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["type"], "too_long");
    assert_eq!(errors[0]["loc"], json!(["body", "customers"]));
    assert_eq!(errors[0]["ctx"]["max_length"], 3);
}

#[tokio::test]
async fn batch_default_limit_is_1000_customers() {
    let app = spawn_app().await;
    let mut rows = customers(1000);
    rows.push(valid_customer());
    let errors = field_errors(app.predict_batch(&json!({ "customers": rows })).await).await;
    assert_eq!(errors[0]["type"], "too_long");
    assert_eq!(errors[0]["ctx"]["max_length"], 1000);
}

#[tokio::test]
async fn batch_rejects_a_missing_customers_key_with_422() {
    let app = spawn_app().await;
    for body in [json!({}), json!({"customer": [valid_customer()]})] {
        let errors = field_errors(app.predict_batch(&body).await).await;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["type"], "missing");
        assert_eq!(errors[0]["loc"], json!(["body", "customers"]));
    }
}

#[tokio::test]
async fn batch_rejects_customers_that_is_not_a_list_with_422() {
    let app = spawn_app().await;
    for customers in [valid_customer(), json!("x"), json!(3), Value::Null] {
        let errors = field_errors(app.predict_batch(&json!({ "customers": customers })).await).await;
        assert_eq!(errors.len(), 1, "{customers}");
        assert_eq!(errors[0]["type"], "list_type", "{customers}");
        assert_eq!(errors[0]["loc"], json!(["body", "customers"]));
    }
}

#[tokio::test]
async fn batch_rejects_a_body_that_is_not_an_object_with_422() {
    let app = spawn_app().await;
    let response = app.predict_batch(&json!([valid_customer()])).await;
    let errors = field_errors(response).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["loc"][0], "body");
}
