//! POST /api/v1/predict: answer shape, aliases, decision rule, request ids.

use serde_json::{Value, json};

use super::helpers::{
    DEFAULT_RULE, MAIN_GOLDEN, PARITY_TOLERANCE, expected_decision, golden, spawn_app, spawn_app_with, valid_customer,
    valid_customer_aliased, with, without,
};

fn probability(answer: &Value) -> f64 {
    answer["churn_probability"]
        .as_f64()
        .unwrap_or_else(|| panic!("churn_probability is a number: {answer}"))
}

#[tokio::test]
async fn predict_returns_probability_decision_risk_and_model_version() {
    let app = spawn_app().await;
    let answer = app.predict_ok(&valid_customer()).await;
    let p = probability(&answer);
    assert!((0.0..=1.0).contains(&p), "{answer}");
    let (outcome, risk) = expected_decision(p, DEFAULT_RULE);
    assert_eq!(answer["prediction"], outcome);
    assert_eq!(answer["churn_prediction"], u8::from(outcome == "churn"));
    assert_eq!(answer["risk_level"], risk);
    assert_eq!(answer["model_version"], "1.0.0");
    assert!(
        answer.get("customer_id").is_none(),
        "no customer_id when none was sent: {answer}"
    );
}

#[tokio::test]
async fn predict_answers_with_a_json_content_type() {
    let app = spawn_app().await;
    let response = app.predict(&valid_customer()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"].to_str().unwrap(), "application/json");
}

#[tokio::test]
async fn predict_returns_the_unrounded_probability_of_the_golden_file() {
    let app = spawn_app().await;
    let row = &golden(MAIN_GOLDEN)[1];
    let answer = app.predict_ok(&row.customer).await;
    let p = probability(&answer);
    assert!(
        (p - row.probability).abs() <= PARITY_TOLERANCE,
        "{p} vs {}",
        row.probability
    );
    // Unrounded: far more digits than any 4- or 6-decimal rounding would keep.
    assert_ne!(p, (p * 1e6).round() / 1e6, "{p} looks rounded");
}

#[tokio::test]
async fn predict_echoes_the_customer_id() {
    let app = spawn_app().await;
    let answer = app
        .predict_ok(&with(valid_customer(), "customer_id", json!("cust-42")))
        .await;
    assert_eq!(answer["customer_id"], "cust-42");
}

#[tokio::test]
async fn predict_echoes_a_unicode_customer_id_unchanged() {
    let app = spawn_app().await;
    let id = "Zoë-𝔘ñí©ødé-顧客-🦀";
    let answer = app.predict_ok(&with(valid_customer(), "customer_id", json!(id))).await;
    assert_eq!(answer["customer_id"], id);
}

#[tokio::test]
async fn predict_treats_a_null_customer_id_as_absent() {
    let app = spawn_app().await;
    let answer = app
        .predict_ok(&with(valid_customer(), "customer_id", Value::Null))
        .await;
    assert!(answer.get("customer_id").is_none(), "{answer}");
}

#[tokio::test]
async fn predict_accepts_the_data_set_column_names_as_aliases() {
    let app = spawn_app().await;
    let snake = app.predict_ok(&valid_customer()).await;
    let aliased = app.predict_ok(&valid_customer_aliased()).await;
    assert_eq!(probability(&snake), probability(&aliased));
}

#[tokio::test]
async fn predict_accepts_each_alias_mixed_with_snake_case_names() {
    let app = spawn_app().await;
    let expected = probability(&app.predict_ok(&valid_customer()).await);
    let aliased = valid_customer_aliased();
    for (alias, value) in aliased.as_object().unwrap() {
        let snake_name = super::validation::snake_name(alias);
        let mixed = with(without(valid_customer(), &snake_name), alias, value.clone());
        let answer = app.predict_ok(&mixed).await;
        assert_eq!(probability(&answer), expected, "alias {alias}");
    }
}

#[tokio::test]
async fn predict_accepts_true_and_false_for_the_flags() {
    let app = spawn_app().await;
    let numeric = with(
        with(valid_customer(), "has_cr_card", json!(1)),
        "is_active_member",
        json!(0),
    );
    let boolean = with(
        with(valid_customer(), "has_cr_card", json!(true)),
        "is_active_member",
        json!(false),
    );
    let a = app.predict_ok(&numeric).await;
    let b = app.predict_ok(&boolean).await;
    assert_eq!(probability(&a), probability(&b));
}

#[tokio::test]
async fn predict_flags_change_the_probability() {
    // Guards against flags being ignored on the way into the model.
    let app = spawn_app().await;
    let active = app
        .predict_ok(&with(valid_customer(), "is_active_member", json!(1)))
        .await;
    let inactive = app
        .predict_ok(&with(valid_customer(), "is_active_member", json!(0)))
        .await;
    assert_ne!(probability(&active), probability(&inactive));
}

#[tokio::test]
async fn predict_accepts_whole_numbers_written_as_floats() {
    let app = spawn_app().await;
    let ints = app.predict_ok(&valid_customer()).await;
    let floats = with(with(valid_customer(), "age", json!(42.0)), "credit_score", json!(619.0));
    let floats = app.predict_ok(&floats).await;
    assert_eq!(probability(&ints), probability(&floats));
}

#[tokio::test]
async fn predict_ignores_unknown_extra_fields() {
    let app = spawn_app().await;
    let expected = probability(&app.predict_ok(&valid_customer()).await);
    let extra = with(valid_customer(), "surname", json!("Hargrave"));
    let extra = with(extra, "row_number", json!(1));
    assert_eq!(probability(&app.predict_ok(&extra).await), expected);
}

#[tokio::test]
async fn predict_accepts_every_boundary_value() {
    let app = spawn_app().await;
    let cases = [
        ("credit_score", json!(300)),
        ("credit_score", json!(850)),
        ("age", json!(18)),
        ("age", json!(100)),
        ("tenure", json!(0)),
        ("tenure", json!(10)),
        ("balance", json!(0)),
        ("balance", json!(1e12)),
        ("num_of_products", json!(1)),
        ("num_of_products", json!(4)),
        ("has_cr_card", json!(0)),
        ("is_active_member", json!(1)),
        ("estimated_salary", json!(0)),
        ("estimated_salary", json!(1e300)),
        ("geography", json!("Spain")),
        ("geography", json!("Germany")),
        ("gender", json!("Male")),
    ];
    for (field, value) in cases {
        let response = app.predict(&with(valid_customer(), field, value.clone())).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{field} = {value}: {body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert!((0.0..=1.0).contains(&probability(&answer)), "{field} = {value}: {body}");
    }
}

#[tokio::test]
async fn predict_threshold_is_configurable_and_inclusive() {
    let app = spawn_app().await;
    let row = &golden(MAIN_GOLDEN)[1];
    let p = probability(&app.predict_ok(&row.customer).await);
    drop(app);

    // threshold == p: the edge belongs to "churn".
    let at = spawn_app_with(|s| s.threshold = p).await;
    let answer = at.predict_ok(&row.customer).await;
    assert_eq!(answer["prediction"], "churn");
    assert_eq!(answer["churn_prediction"], 1);

    let above = spawn_app_with(|s| s.threshold = (p + 0.01).min(1.0)).await;
    let answer = above.predict_ok(&row.customer).await;
    assert_eq!(answer["prediction"], "no_churn");
    assert_eq!(answer["churn_prediction"], 0);
}

#[tokio::test]
async fn predict_risk_bands_are_configurable_with_inclusive_lower_edges() {
    let row = &golden(MAIN_GOLDEN)[1];
    let app = spawn_app().await;
    let p = probability(&app.predict_ok(&row.customer).await);
    assert_eq!(app.predict_ok(&row.customer).await["risk_level"], "MEDIUM");
    drop(app);

    let high = spawn_app_with(|s| {
        s.risk_medium = p / 2.0;
        s.risk_high = p;
    })
    .await;
    assert_eq!(high.predict_ok(&row.customer).await["risk_level"], "HIGH");

    let medium = spawn_app_with(|s| {
        s.risk_medium = p;
        s.risk_high = (p + 0.1).min(1.0);
    })
    .await;
    assert_eq!(medium.predict_ok(&row.customer).await["risk_level"], "MEDIUM");

    let low = spawn_app_with(|s| {
        s.risk_medium = (p + 0.01).min(0.99);
        s.risk_high = 1.0;
    })
    .await;
    assert_eq!(low.predict_ok(&row.customer).await["risk_level"], "LOW");
}

#[tokio::test]
async fn predict_propagates_a_given_x_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/predict"))
        .header("x-request-id", "trace-abc-123")
        .json(&valid_customer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
}

#[tokio::test]
async fn predict_generates_a_unique_uuid_x_request_id_when_none_is_given() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response = app.predict(&valid_customer()).await;
        assert_eq!(response.status(), 200);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("{id} is not a UUID: {e}"));
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "request ids are unique");
}

#[tokio::test]
async fn predict_is_deterministic_for_the_same_customer() {
    let app = spawn_app_with(|s| s.workers = 2).await;
    let first = probability(&app.predict_ok(&valid_customer()).await);
    for _ in 0..5 {
        assert_eq!(probability(&app.predict_ok(&valid_customer()).await), first);
    }
}
