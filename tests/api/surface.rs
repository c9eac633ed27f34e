//! The FastAPI-equivalent surface: OpenAPI and docs, model metadata,
//! explanations, the Open Inference Protocol, API keys and CORS.

use serde_json::{Value, json};

use crate::helpers::{MAIN_GOLDEN, ZIPMAP_MODEL, golden, repo_path, spawn_app, spawn_app_with, valid_customer, with};

#[tokio::test]
async fn openapi_document_and_docs_page_are_served() {
    let app = spawn_app().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    assert_eq!(spec["info"]["title"], "Churn Prediction API");
    assert!(spec["paths"]["/api/v1/predict"]["post"]["responses"]["422"].is_object());
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
}

#[tokio::test]
async fn model_endpoint_describes_the_served_model_and_its_contract() {
    let app = spawn_app().await;
    let model: Value = app.get("/api/v1/model").await.json().await.unwrap();
    let metadata: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("models/churn_pipeline.json")).unwrap()).unwrap();
    assert_eq!(model["name"], metadata["name"]);
    assert_eq!(model["version"], metadata["version"]);
    assert_eq!(model["sha256"], metadata["sha256"]);
    assert_eq!(model["created_at"], metadata["trained_at"]);
    assert_eq!(model["metrics"], metadata["metrics"]);
    assert_eq!(model["threshold"], 0.5);
    assert_eq!(model["risk_bands"], json!({"medium": 0.3, "high": 0.7}));
    let inputs = model["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 10);
    let age = inputs.iter().find(|i| i["name"] == "age").unwrap();
    assert_eq!(
        (age["minimum"].as_f64(), age["maximum"].as_f64()),
        (Some(18.0), Some(100.0))
    );
    assert_eq!(age["model_dtype"], "float64");
    let geography = inputs.iter().find(|i| i["name"] == "geography").unwrap();
    assert_eq!(geography["categories"], json!(["France", "Spain", "Germany"]));
}

#[tokio::test]
async fn explanations_are_real_occlusion_effects_sorted_by_size() {
    let app = spawn_app().await;
    let customer = json!({
        "credit_score": 600, "geography": "Germany", "gender": "Female", "age": 60, "tenure": 3,
        "balance": 100000.0, "num_of_products": 3, "has_cr_card": 1, "is_active_member": 0,
        "estimated_salary": 50000
    });
    let explained: Value = app
        .post_json("/api/v1/predict?explain=true", &customer)
        .await
        .json()
        .await
        .unwrap();
    let plain = app.predict_ok(&customer).await;
    assert_eq!(explained["churn_probability"], plain["churn_probability"]);
    let p = plain["churn_probability"].as_f64().unwrap();
    let contributions = explained["feature_contributions"].as_array().unwrap();
    assert_eq!(contributions.len(), 10);
    let sizes: Vec<f64> = contributions
        .iter()
        .map(|c| c["contribution"].as_f64().unwrap().abs())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "not sorted: {sizes:?}");
    // Each contribution is p minus the prediction with that feature at its baseline.
    for c in contributions {
        let occluded = with(customer.clone(), c["feature"].as_str().unwrap(), c["baseline"].clone());
        let q = app.predict_ok(&occluded).await["churn_probability"].as_f64().unwrap();
        let expected = p - q;
        assert!(
            (c["contribution"].as_f64().unwrap() - expected).abs() < 1e-12,
            "{c} vs {expected}"
        );
    }
    assert!(sizes[0] > 0.0, "no feature moved the prediction");
}

#[tokio::test]
async fn batch_explanations_belong_to_their_customers() {
    let app = spawn_app().await;
    let rows: Vec<Value> = golden(MAIN_GOLDEN).into_iter().take(3).map(|r| r.customer).collect();
    let body: Value = app
        .post_json("/api/v1/predict/batch?explain=true", &json!({ "customers": rows }))
        .await
        .json()
        .await
        .unwrap();
    for (row, prediction) in rows.iter().zip(body["predictions"].as_array().unwrap()) {
        assert_eq!(prediction["customer_id"], row["customer_id"]);
        let contributions = prediction["feature_contributions"].as_array().unwrap();
        let age = contributions.iter().find(|c| c["feature"] == "age").unwrap();
        assert_eq!(age["value"], row["age"]);
    }
}

#[tokio::test]
async fn explain_without_a_baseline_is_a_clear_400() {
    let app = spawn_app_with(|s| s.model_path = repo_path(ZIPMAP_MODEL)).await;
    let response = app.post_json("/api/v1/predict?explain=true", &valid_customer()).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("baseline"), "{body}");
}

/// Three golden rows as Open Inference Protocol tensors.
fn v2_request(rows: &[Value]) -> Value {
    let spec = [
        ("CreditScore", "credit_score", "INT64"),
        ("Geography", "geography", "BYTES"),
        ("Gender", "gender", "BYTES"),
        ("Age", "age", "INT64"),
        ("Tenure", "tenure", "INT64"),
        ("Balance", "balance", "FP64"),
        ("NumOfProducts", "num_of_products", "INT64"),
        ("HasCrCard", "has_cr_card", "INT64"),
        ("IsActiveMember", "is_active_member", "INT64"),
        ("EstimatedSalary", "estimated_salary", "FP64"),
    ];
    let inputs: Vec<Value> = spec
        .iter()
        .map(|(name, field, datatype)| {
            let data: Vec<Value> = rows.iter().map(|r| r[*field].clone()).collect();
            json!({"name": name, "shape": [rows.len(), 1], "datatype": datatype, "data": data})
        })
        .collect();
    json!({ "id": "three-rows", "inputs": inputs })
}

#[tokio::test]
async fn v2_infer_returns_exactly_the_batch_endpoints_probabilities() {
    let app = spawn_app().await;
    let rows: Vec<Value> = golden(MAIN_GOLDEN)
        .into_iter()
        .skip(10)
        .take(3)
        .map(|r| r.customer)
        .collect();
    let batch: Value = app
        .predict_batch(&json!({ "customers": rows }))
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .post_json("/v2/models/churn_pipeline/infer", &v2_request(&rows))
        .await;
    assert_eq!(response.status(), 200);
    let v2: Value = response.json().await.unwrap();
    assert_eq!(v2["model_name"], "churn_pipeline");
    assert_eq!(v2["id"], "three-rows");
    let output = &v2["outputs"][0];
    assert_eq!(output["name"], "probabilities");
    assert_eq!(output["shape"], json!([3, 2]));
    let data = output["data"].as_array().unwrap();
    for (i, prediction) in batch["predictions"].as_array().unwrap().iter().enumerate() {
        assert_eq!(data[2 * i + 1], prediction["churn_probability"], "row {i}");
    }
}

#[tokio::test]
async fn v2_metadata_health_and_errors_follow_the_protocol() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v2/health/live").await.status(), 200);
    assert_eq!(app.get("/v2/health/ready").await.status(), 200);
    assert_eq!(app.get("/v2/models/churn_pipeline/ready").await.status(), 200);
    let server: Value = app.get("/v2").await.json().await.unwrap();
    assert_eq!(server["name"], "churn-serve");
    let model: Value = app.get("/v2/models/churn_pipeline").await.json().await.unwrap();
    assert_eq!(model["inputs"].as_array().unwrap().len(), 10);
    assert_eq!(model["outputs"][0]["name"], "probabilities");

    let unknown = app.get("/v2/models/other").await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("other"), "{body}");

    let rows: Vec<Value> = golden(MAIN_GOLDEN).into_iter().take(1).map(|r| r.customer).collect();
    let mut wrong_type = v2_request(&rows);
    wrong_type["inputs"][1]["datatype"] = json!("FP32");
    let response = app.post_json("/v2/models/churn_pipeline/infer", &wrong_type).await;
    assert_eq!(response.status(), 400);
    assert!(
        response.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("Geography")
    );

    let mut too_young = v2_request(&rows);
    too_young["inputs"][3]["data"] = json!([12]);
    let response = app.post_json("/v2/models/churn_pipeline/infer", &too_young).await;
    assert_eq!(response.status(), 422);
    let message = response.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("inputs.0.age") && message.contains("18"), "{message}");
}

#[tokio::test]
async fn api_keys_guard_predictions_but_not_probes_metrics_or_docs() {
    let app = spawn_app_with(|s| s.api_keys = vec!["k-one".into(), "k-two".into()]).await;
    let anonymous = app.predict(&valid_customer()).await;
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["detail"], "missing or invalid API key");
    let wrong = app
        .client
        .post(app.url("/api/v1/predict"))
        .bearer_auth("k-three")
        .json(&valid_customer());
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    let bearer = app
        .client
        .post(app.url("/api/v1/predict"))
        .bearer_auth("k-two")
        .json(&valid_customer());
    assert_eq!(bearer.send().await.unwrap().status(), 200);
    // RFC 9110: the scheme name is case-insensitive.
    for scheme in ["bearer", "BEARER"] {
        let request = app
            .client
            .get(app.url("/api/v1/model"))
            .header("authorization", format!("{scheme} k-one"));
        assert_eq!(request.send().await.unwrap().status(), 200, "{scheme}");
    }
    let header = app.client.get(app.url("/api/v1/model")).header("x-api-key", "k-one");
    assert_eq!(header.send().await.unwrap().status(), 200);
    assert_eq!(app.get("/v2/models/churn_pipeline").await.status(), 401);
    for open in [
        "/health",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs/",
        "/v2/health/ready",
    ] {
        assert_eq!(app.get(open).await.status(), 200, "{open}");
    }
}

#[tokio::test]
async fn cors_is_off_by_default_and_allows_only_configured_origins() {
    let preflight = |app: &crate::helpers::TestApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/predict"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let closed = spawn_app().await;
    let answer = preflight(&closed, "https://app.example.com").await.unwrap();
    assert!(answer.headers().get("access-control-allow-origin").is_none());

    let open = spawn_app_with(|s| s.cors_allowed_origins = vec!["https://app.example.com".into()]).await;
    let allowed = preflight(&open, "https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let other = preflight(&open, "https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
