//! Property-based fuzzing of everything a client controls, through the real
//! router in process (a fake model): bodies of the native, batch and Open
//! Inference Protocol endpoints, in both coercion modes, and the
//! `Authorization`/`X-API-Key` headers. Every answer must be a documented
//! status with a JSON body in the documented shape, and nothing may panic.
//!
//! `cargo test --test fuzz` runs FUZZ_CASES cases per property (default 2,000,
//! what CI runs); `make fuzz` runs 1,000,000 per property.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use churn_serve::config::Settings;
use churn_serve::domain::{Coercion, Customer, Feature};
use churn_serve::metrics::Metrics;
use churn_serve::model::{ModelInfo, PredictFuture, Predictor};
use churn_serve::state::AppState;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

struct FakePredictor;

impl Predictor for FakePredictor {
    fn predict(&self, rows: Vec<Customer>) -> PredictFuture {
        let n = rows.len();
        Box::pin(async move { Ok(vec![0.25; n]) })
    }
}

fn state(coercion: Coercion, api_keys: Vec<String>) -> AppState {
    let settings = Settings {
        coercion,
        api_keys,
        max_batch_size: 50,
        max_body_bytes: 64 * 1024,
        ..Settings::default()
    };
    let model = ModelInfo::from_metadata(None, "churn_pipeline", "0".repeat(64)).expect("a model without metadata");
    AppState::new(&settings, Arc::new(FakePredictor), model, Arc::new(Metrics::new()))
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// Keys a client might send: the API's names, the data set's, near misses.
fn key() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = Feature::ALL
        .iter()
        .flat_map(|f| [f.api_name().to_owned(), f.column_name().to_owned()])
        .collect();
    names.extend(
        [
            "customer_id",
            "customers",
            "inputs",
            "name",
            "shape",
            "datatype",
            "data",
            "id",
            "Age ",
        ]
        .map(String::from),
    );
    prop_oneof![
        8 => proptest::sample::select(names),
        1 => "[a-zA-Z_]{0,12}",
    ]
}

/// Scalars a client might send: in range, out of range, spelled as strings,
/// pydantic's boolean words, categories, junk.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..1000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        proptest::sample::select(vec![
            "France",
            "Spain",
            "Germany",
            "Male",
            "Female",
            "france",
            "yes",
            "off",
            "1",
            "0",
            "619",
            " 42 ",
            "42.0",
            "4_2",
            "1e3",
            "inf",
            "NaN",
            "",
            "INT64",
            "BYTES",
            "FP64",
            "BOOL",
            "churn_pipeline",
        ])
        .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 12, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..14)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A customer with some fields changed, missing or added.
fn customer() -> impl Strategy<Value = Value> {
    let valid = json!({
        "credit_score": 619, "geography": "France", "gender": "Female", "age": 42, "tenure": 2,
        "balance": 0.0, "num_of_products": 1, "has_cr_card": 1, "is_active_member": 1,
        "estimated_salary": 101348.88
    });
    proptest::collection::vec((key(), prop::option::of(json_value())), 0..4).prop_map(move |changes| {
        let mut body = valid.clone();
        for (k, v) in changes {
            match v {
                Some(v) => body[k.as_str()] = v,
                None => drop(body.as_object_mut().unwrap().remove(&k)),
            }
        }
        body
    })
}

fn tensor_request() -> impl Strategy<Value = Value> {
    let input = (
        key(),
        proptest::collection::vec(-2i64..60, 0..3),
        scalar(),
        json_value(),
    )
        .prop_map(
            |(name, shape, datatype, data)| json!({"name": name, "shape": shape, "datatype": datatype, "data": data}),
        );
    prop_oneof![
        proptest::collection::vec(input, 0..12).prop_map(|inputs| json!({"inputs": inputs})),
        json_value(),
    ]
}

/// Bodies: mostly JSON built from the strategies above, some arbitrary bytes.
fn body(shape: impl Strategy<Value = Value>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => shape.prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

/// One request through the router: the answer must be documented, JSON, in
/// the shape of its protocol.
async fn check(state: &AppState, path: &str, body: Vec<u8>, auth: Option<(&str, String)>) -> Result<(), String> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some((name, value)) = auth {
        request = request.header(name, value);
    }
    let request = request.body(Body::from(body)).map_err(|e| e.to_string())?;
    let response = churn_serve::routes::app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let allowed = [200, 400, 401, 404, 413, 422, 503];
    if !allowed.contains(&status.as_u16()) {
        return Err(format!("{path}: status {status}"));
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = to_bytes(response.into_body(), 1 << 20)
        .await
        .map_err(|e| e.to_string())?;
    if content_type.as_ref().and_then(|v| v.to_str().ok()) != Some("application/json") {
        return Err(format!("{path}: {status} with content type {content_type:?}"));
    }
    let answer: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {status}: not JSON: {e}"))?;
    let shaped = match (status, path.starts_with("/v2")) {
        (StatusCode::OK, _) => answer.is_object(),
        (_, true) => answer["error"].is_string(),
        (StatusCode::UNPROCESSABLE_ENTITY, false) => answer["detail"].as_array().is_some_and(|errors| {
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|e| e["type"].is_string() && e["msg"].is_string() && e["loc"].get(0) == Some(&json!("body")))
        }),
        (_, false) => answer["detail"].is_string(),
    };
    if shaped {
        Ok(())
    } else {
        Err(format!("{path}: {status}: shape of {answer}"))
    }
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), String>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |value| test(value).map_err(TestCaseError::fail))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn native_bodies_get_a_documented_answer_in_both_modes() {
    let lax = state(Coercion::Lax, Vec::new());
    let strict = state(Coercion::Strict, Vec::new());
    run(body(customer()), |bytes| {
        block_on(async {
            check(&lax, "/api/v1/predict", bytes.clone(), None).await?;
            check(&strict, "/api/v1/predict", bytes, None).await
        })
    });
}

#[test]
fn batch_bodies_get_a_documented_answer() {
    let lax = state(Coercion::Lax, Vec::new());
    let batch = proptest::collection::vec(prop_oneof![4 => customer(), 1 => json_value()], 0..8)
        .prop_map(|customers| json!({"customers": customers}));
    run(body(prop_oneof![4 => batch, 1 => json_value()]), |bytes| {
        block_on(check(&lax, "/api/v1/predict/batch", bytes, None))
    });
}

#[test]
fn open_inference_bodies_get_a_documented_answer() {
    let lax = state(Coercion::Lax, Vec::new());
    run(body(tensor_request()), |bytes| {
        block_on(check(&lax, "/v2/models/churn_pipeline/infer", bytes, None))
    });
}

#[test]
fn credentials_get_200_or_401_and_nothing_else() {
    let keyed = state(Coercion::Lax, vec!["k-1".into(), "secret-two".into()]);
    let valid = json!({
        "credit_score": 619, "geography": "France", "gender": "Female", "age": 42, "tenure": 2,
        "balance": 0.0, "num_of_products": 1, "has_cr_card": 1, "is_active_member": 1,
        "estimated_salary": 101348.88
    })
    .to_string()
    .into_bytes();
    let header_name = proptest::sample::select(vec!["authorization", "x-api-key"]);
    let value = prop_oneof![
        "(Bearer|bearer|BEARER|Basic|) ?(k-1|secret-two|k-2|)[ ]{0,2}",
        "[ -~]{0,40}",
    ];
    run((header_name, value), |(name, value)| {
        if axum::http::HeaderValue::from_str(&value).is_err() {
            return Ok(());
        }
        block_on(check(&keyed, "/api/v1/predict", valid.clone(), Some((name, value))))
    });
}
