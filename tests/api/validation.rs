//! Request validation: every rule, every bad field at once, pydantic's shape.

use serde_json::{Value, json};

use churn_serve::domain::Coercion;

use super::helpers::{field_errors, spawn_app, spawn_app_with, valid_customer, valid_customer_aliased, with, without};

pub const FIELDS: [&str; 10] = [
    "credit_score",
    "geography",
    "gender",
    "age",
    "tenure",
    "balance",
    "num_of_products",
    "has_cr_card",
    "is_active_member",
    "estimated_salary",
];

/// `NumOfProducts` → `num_of_products`.
pub fn snake_name(alias: &str) -> String {
    let mut out = String::new();
    for (i, c) in alias.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Posts `body` and asserts a single 422 error of `kind` at `["body", field]`,
/// echoing the bad input; returns the error.
async fn rejects(app: &super::helpers::TestApp, field: &str, value: Value, kind: &str) -> Value {
    let body = with(valid_customer(), field, value.clone());
    let errors = field_errors(app.predict(&body).await).await;
    assert_eq!(errors.len(), 1, "{field} = {value}: {errors:?}");
    let e = &errors[0];
    assert_eq!(e["type"], kind, "{field} = {value}: {e}");
    assert_eq!(e["loc"], json!(["body", field]), "{e}");
    assert_eq!(e["input"], value, "the bad input is echoed: {e}");
    e.clone()
}

#[tokio::test]
async fn predict_rejects_credit_score_below_300_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "credit_score", json!(299), "greater_than_equal").await;
    assert_eq!(e["msg"], "Input should be greater than or equal to 300");
    assert_eq!(e["ctx"]["ge"].as_f64(), Some(300.0));
}

#[tokio::test]
async fn predict_rejects_credit_score_above_850_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "credit_score", json!(851), "less_than_equal").await;
    assert_eq!(e["msg"], "Input should be less than or equal to 850");
    assert_eq!(e["ctx"]["le"].as_f64(), Some(850.0));
}

#[tokio::test]
async fn predict_rejects_age_below_18_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "age", json!(17), "greater_than_equal").await;
    assert_eq!(e["msg"], "Input should be greater than or equal to 18");
}

#[tokio::test]
async fn predict_rejects_age_above_100_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "age", json!(101), "less_than_equal").await;
    assert_eq!(e["msg"], "Input should be less than or equal to 100");
}

#[tokio::test]
async fn predict_rejects_negative_tenure_with_422() {
    let app = spawn_app().await;
    rejects(&app, "tenure", json!(-1), "greater_than_equal").await;
}

#[tokio::test]
async fn predict_rejects_tenure_above_10_with_422() {
    let app = spawn_app().await;
    rejects(&app, "tenure", json!(11), "less_than_equal").await;
}

#[tokio::test]
async fn predict_rejects_negative_balance_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "balance", json!(-0.01), "greater_than_equal").await;
    assert_eq!(e["ctx"]["ge"].as_f64(), Some(0.0));
}

#[tokio::test]
async fn predict_rejects_zero_products_with_422() {
    let app = spawn_app().await;
    rejects(&app, "num_of_products", json!(0), "greater_than_equal").await;
}

#[tokio::test]
async fn predict_rejects_more_than_4_products_with_422() {
    let app = spawn_app().await;
    rejects(&app, "num_of_products", json!(5), "less_than_equal").await;
}

#[tokio::test]
async fn predict_rejects_flags_that_are_not_booleans_as_pydantic_does() {
    let app = spawn_app().await;
    for flag in ["has_cr_card", "is_active_member"] {
        for bad in [
            json!(2),
            json!(-1),
            json!(2.0),
            json!("2"),
            json!("maybe"),
            json!(" yes"),
        ] {
            let e = rejects(&app, flag, bad, "bool_parsing").await;
            assert_eq!(e["msg"], "Input should be a valid boolean, unable to interpret input");
        }
        for bad in [json!(0.5), Value::Null, json!([1]), json!({})] {
            let e = rejects(&app, flag, bad, "bool_type").await;
            assert_eq!(e["msg"], "Input should be a valid boolean");
        }
    }
}

#[tokio::test]
async fn predict_accepts_what_fastapi_accepts_by_default() {
    let app = spawn_app().await;
    let reference = app.predict_ok(&valid_customer()).await;
    let coerced = [
        ("credit_score", json!("619")),
        ("credit_score", json!(" 619.0 ")),
        ("age", json!(42.0)),
        ("age", json!("4_2")),
        ("balance", json!("0")),
        ("balance", json!(false)),
        ("has_cr_card", json!("yes")),
        ("has_cr_card", json!("TRUE")),
        ("is_active_member", json!("1")),
        ("is_active_member", json!(1.0)),
    ];
    for (field, value) in coerced {
        let response = app.predict(&with(valid_customer(), field, value.clone())).await;
        assert_eq!(response.status().as_u16(), 200, "{field} = {value}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["churn_probability"], reference["churn_probability"],
            "{field} = {value}"
        );
    }
}

#[tokio::test]
async fn strict_coercion_wants_the_json_types_themselves() {
    let app = spawn_app_with(|s| s.coercion = Coercion::Strict).await;
    for flag in ["has_cr_card", "is_active_member"] {
        for bad in [json!(2), json!(0.5), json!("1"), json!("yes"), Value::Null] {
            rejects(&app, flag, bad, "literal_error").await;
        }
    }
    for bad in [json!("30"), json!(true)] {
        rejects(&app, "age", bad, "int_type").await;
    }
    for bad in [json!("1e3"), json!(false)] {
        rejects(&app, "balance", bad, "float_type").await;
    }
    let response = app.predict(&with(valid_customer(), "age", json!(42.0))).await;
    assert_eq!(
        response.status().as_u16(),
        200,
        "whole floats are integers in both modes"
    );
}

#[tokio::test]
async fn predict_rejects_negative_estimated_salary_with_422() {
    let app = spawn_app().await;
    rejects(&app, "estimated_salary", json!(-1), "greater_than_equal").await;
}

#[tokio::test]
async fn predict_rejects_an_unknown_geography_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "geography", json!("Italy"), "literal_error").await;
    assert_eq!(e["msg"], "Input should be 'France', 'Spain' or 'Germany'");
}

#[tokio::test]
async fn predict_rejects_geography_in_the_wrong_case_with_422() {
    let app = spawn_app().await;
    rejects(&app, "geography", json!("france"), "literal_error").await;
    rejects(&app, "geography", json!("FRANCE"), "literal_error").await;
    rejects(&app, "geography", json!(" France"), "literal_error").await;
}

#[tokio::test]
async fn predict_rejects_an_unknown_gender_with_422() {
    let app = spawn_app().await;
    let e = rejects(&app, "gender", json!("Other"), "literal_error").await;
    assert_eq!(e["msg"], "Input should be 'Male' or 'Female'");
    rejects(&app, "gender", json!("male"), "literal_error").await;
}

#[tokio::test]
async fn predict_rejects_non_string_categories_with_422() {
    let app = spawn_app().await;
    rejects(&app, "geography", json!(1), "literal_error").await;
    rejects(&app, "gender", json!(["Male"]), "literal_error").await;
}

#[tokio::test]
async fn predict_rejects_fractional_integers_with_422() {
    let app = spawn_app().await;
    for field in ["credit_score", "age", "tenure", "num_of_products"] {
        rejects(&app, field, json!(5.5), "int_from_float").await;
    }
}

#[tokio::test]
async fn predict_rejects_non_numeric_integers_with_422() {
    let app = spawn_app().await;
    for field in ["credit_score", "age", "tenure", "num_of_products"] {
        for bad in [Value::Null, json!([30]), json!({"v": 30})] {
            rejects(&app, field, bad, "int_type").await;
        }
        for bad in [json!("thirty"), json!("30.5"), json!("3 0"), json!("")] {
            let e = rejects(&app, field, bad, "int_parsing").await;
            assert_eq!(
                e["msg"],
                "Input should be a valid integer, unable to parse string as an integer"
            );
        }
    }
}

#[tokio::test]
async fn predict_rejects_non_numeric_amounts_with_422() {
    let app = spawn_app().await;
    for field in ["balance", "estimated_salary"] {
        for bad in [Value::Null, json!([1.5])] {
            rejects(&app, field, bad, "float_type").await;
        }
        let e = rejects(&app, field, json!("lots"), "float_parsing").await;
        assert_eq!(
            e["msg"],
            "Input should be a valid number, unable to parse string as a number"
        );
        for bad in [json!("inf"), json!("NaN")] {
            rejects(&app, field, bad, "finite_number").await;
        }
    }
}

#[tokio::test]
async fn predict_rejects_a_missing_field_with_422_missing() {
    let app = spawn_app().await;
    for field in FIELDS {
        let errors = field_errors(app.predict(&without(valid_customer(), field)).await).await;
        assert_eq!(errors.len(), 1, "{field}: {errors:?}");
        assert_eq!(errors[0]["type"], "missing");
        assert_eq!(errors[0]["loc"], json!(["body", field]));
        assert_eq!(errors[0]["msg"], "Field required");
    }
}

#[tokio::test]
async fn predict_lists_every_missing_field_of_an_empty_object() {
    let app = spawn_app().await;
    let errors = field_errors(app.predict(&json!({})).await).await;
    let locs: Vec<Value> = errors.iter().map(|e| e["loc"].clone()).collect();
    let expected: Vec<Value> = FIELDS.iter().map(|f| json!(["body", f])).collect();
    assert_eq!(locs, expected);
    assert!(errors.iter().all(|e| e["type"] == "missing"), "{errors:?}");
}

#[tokio::test]
async fn predict_lists_every_bad_field_at_once() {
    let app = spawn_app().await;
    let body = with(valid_customer(), "age", json!(12));
    let body = with(body, "geography", json!("Atlantis"));
    let body = with(body, "balance", json!(-5));
    let body = with(body, "has_cr_card", json!(3));
    let body = without(body, "tenure");
    let errors = field_errors(app.predict(&body).await).await;
    let mut found: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            (
                e["loc"][1].as_str().unwrap().to_owned(),
                e["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![
        ("age".to_owned(), "greater_than_equal".to_owned()),
        ("geography".into(), "literal_error".into()),
        ("balance".into(), "greater_than_equal".into()),
        ("has_cr_card".into(), "bool_parsing".into()),
        ("tenure".into(), "missing".into()),
    ];
    expected.sort();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn predict_reports_errors_of_aliased_fields_at_the_alias() {
    let app = spawn_app().await;
    let body = with(valid_customer_aliased(), "Age", json!(12));
    let errors = field_errors(app.predict(&body).await).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["loc"], json!(["body", "Age"]));
    assert_eq!(errors[0]["type"], "greater_than_equal");
}

#[tokio::test]
async fn predict_rejects_a_non_string_customer_id_with_422() {
    let app = spawn_app().await;
    rejects(&app, "customer_id", json!(12), "string_type").await;
}

#[tokio::test]
async fn predict_rejects_a_customer_id_over_256_characters_with_422() {
    let app = spawn_app().await;
    let ok = with(valid_customer(), "customer_id", json!("é".repeat(256)));
    assert_eq!(app.predict(&ok).await.status(), 200);
    let e = rejects(&app, "customer_id", json!("x".repeat(257)), "string_too_long").await;
    assert_eq!(e["ctx"]["max_length"], 256);
}

#[tokio::test]
async fn predict_rejects_a_body_that_is_not_an_object_with_422() {
    let app = spawn_app().await;
    for body in [json!([valid_customer()]), json!("customer"), json!(42), Value::Null] {
        let errors = field_errors(app.predict(&body).await).await;
        assert_eq!(errors.len(), 1, "{body}: {errors:?}");
        assert_eq!(errors[0]["type"], "model_attributes_type");
        assert_eq!(errors[0]["loc"], json!(["body"]));
    }
}

#[tokio::test]
async fn predict_rejects_huge_numbers_beyond_the_ranges_with_422() {
    let app = spawn_app().await;
    rejects(&app, "credit_score", json!(1e300), "less_than_equal").await;
    rejects(&app, "age", json!(u64::MAX), "less_than_equal").await;
    rejects(&app, "tenure", json!(i64::MIN), "greater_than_equal").await;
    rejects(&app, "balance", json!(-1e300), "greater_than_equal").await;
}

#[tokio::test]
async fn predict_error_messages_name_no_internals() {
    let app = spawn_app().await;
    let errors = field_errors(app.predict(&json!({"age": "x"})).await).await;
    let text = serde_json::to_string(&errors).unwrap();
    for leak in ["serde", "ort::", "onnx", "panicked", "src/"] {
        assert!(!text.to_lowercase().contains(leak), "{leak} in {text}");
    }
}
