//! AWS Lambda (`--features lambda`): API Gateway HTTP API, REST API and
//! function-URL events, as AWS sends them (tests/fixtures/lambda), go through
//! lambda_http's own event and response types to the same router the server
//! uses; and the `lambda` binary answers an invocation from a Runtime API.

use std::future::pending;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use churn_serve::lambda::Handler;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::binary::{Process, command, run_to_exit};
use super::helpers::{MAIN_GOLDEN, PARITY_TOLERANCE, TIMEOUT, golden, repo_path, test_settings};

fn event(name: &str) -> Value {
    let path = repo_path(&format!("tests/fixtures/lambda/{name}"));
    serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture is JSON")
}

/// The probability scikit-learn gave for the golden row the fixtures carry.
fn golden_1() -> f64 {
    golden(MAIN_GOLDEN)
        .into_iter()
        .find(|row| row.customer["customer_id"] == "golden-1")
        .expect("golden-1 in the golden file")
        .probability
}

/// One event through lambda_http's adapter (what `lambda_http::run` does for
/// each invocation), the response as the JSON Lambda would return.
async fn invoke(handler: &Handler, event: Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event).expect("lambda_http reads the event");
    let mut adapter = Adapter::from(handler.clone());
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the router is infallible");
    serde_json::to_value(&response).expect("the response serializes")
}

async fn handler_with(configure: impl FnOnce(&mut churn_serve::config::Settings)) -> Handler {
    let mut settings = test_settings();
    configure(&mut settings);
    churn_serve::lambda::handler(&settings).await.expect("the model loads")
}

fn body(response: &Value) -> Value {
    let text = response["body"]
        .as_str()
        .unwrap_or_else(|| panic!("a body: {response}"));
    assert_eq!(response["isBase64Encoded"], false, "JSON answers are text: {response}");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("a JSON body ({e}): {text}"))
}

#[tokio::test]
async fn an_http_api_event_is_answered_by_the_predict_route_with_the_golden_probability() {
    let handler = handler_with(|_| {}).await;
    let response = invoke(&handler, event("apigw_http_v2_predict.json")).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert!(response["headers"]["x-request-id"].is_string(), "{response}");
    let answer = body(&response);
    assert_eq!(answer["customer_id"], "golden-1");
    assert_eq!(answer["model_version"], "1.0.0");
    let p = answer["churn_probability"].as_f64().expect("a probability");
    assert!((p - golden_1()).abs() <= PARITY_TOLERANCE, "{p} vs {}", golden_1());
}

#[tokio::test]
async fn a_function_url_event_with_a_base64_body_reaches_the_v2_infer_route() {
    let handler = handler_with(|_| {}).await;
    let event = event("function_url_v2_infer.json");
    assert_eq!(event["isBase64Encoded"], true, "the fixture exercises decoding");
    let response = invoke(&handler, event).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let answer = body(&response);
    assert_eq!(answer["id"], "golden-1");
    let probabilities = answer["outputs"]
        .as_array()
        .and_then(|o| o.iter().find(|t| t["name"] == "probabilities"))
        .unwrap_or_else(|| panic!("a probabilities output: {answer}"));
    let p = probabilities["data"][1].as_f64().expect("P(churn)");
    assert!((p - golden_1()).abs() <= PARITY_TOLERANCE, "{p} vs {}", golden_1());
}

#[tokio::test]
async fn a_rest_api_event_reaches_the_health_route() {
    let handler = handler_with(|_| {}).await;
    let response = invoke(&handler, event("apigw_rest_v1_health.json")).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(body(&response)["status"], "healthy");
}

#[tokio::test]
async fn a_named_stage_is_taken_off_the_path_and_the_query_kept() {
    // The REST fixture is on stage "prod" already; here an HTTP API stage,
    // whose rawPath carries the stage, with explain=true in the query.
    let handler = handler_with(|_| {}).await;
    let mut event = event("apigw_http_v2_predict.json");
    event["requestContext"]["stage"] = json!("prod");
    event["rawPath"] = json!("/prod/api/v1/predict");
    event["rawQueryString"] = json!("explain=true");
    event["queryStringParameters"] = json!({"explain": "true"});
    let response = invoke(&handler, event).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(body(&response)["feature_contributions"].is_array(), "{response}");
}

#[tokio::test]
async fn an_invalid_customer_gets_the_documented_422_through_lambda() {
    let handler = handler_with(|_| {}).await;
    let mut event = event("apigw_http_v2_predict.json");
    let mut customer: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    customer["credit_score"] = json!(100);
    event["body"] = json!(customer.to_string());
    let response = invoke(&handler, event).await;
    assert_eq!(response["statusCode"], 422, "{response}");
    let detail = &body(&response)["detail"];
    assert_eq!(detail[0]["loc"], json!(["body", "credit_score"]), "{detail}");
    assert_eq!(detail[0]["type"], "greater_than_equal");
}

#[tokio::test]
async fn unknown_paths_get_the_json_404_through_lambda() {
    let handler = handler_with(|_| {}).await;
    let mut event = event("apigw_http_v2_predict.json");
    event["rawPath"] = json!("/api/v1/nothing");
    event["requestContext"]["http"]["path"] = json!("/api/v1/nothing");
    let response = invoke(&handler, event).await;
    assert_eq!(response["statusCode"], 404, "{response}");
    assert!(body(&response)["detail"].is_string());
}

#[tokio::test]
async fn api_keys_guard_lambda_events_as_they_guard_the_server() {
    let handler = handler_with(|s| s.api_keys = vec!["lambda-key".into()]).await;
    let response = invoke(&handler, event("apigw_http_v2_predict.json")).await;
    assert_eq!(response["statusCode"], 401, "{response}");
    let mut event = event("apigw_http_v2_predict.json");
    event["headers"]["x-api-key"] = json!("lambda-key");
    assert_eq!(invoke(&handler, event).await["statusCode"], 200);
}

// ---- the binary against a Lambda Runtime API ---------------------------------

/// What the function sent back: the response or error of an invocation, or
/// an init error.
#[derive(Debug)]
struct Reply {
    path: String,
    body: Value,
}

/// A Runtime API on loopback, serving `event` as the first invocation and
/// holding every later `next` open (as Lambda does until the next event).
async fn runtime_api(event: Value) -> (u16, mpsc::Receiver<Reply>) {
    let (tx, rx) = mpsc::channel(8);
    let served = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let next = get(move || {
        let (served, event) = (served.clone(), event.clone());
        async move {
            if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                pending::<()>().await;
            }
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", "inv-1".parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:eu-west-1:123456789012:function:churn-serve"
                    .parse()
                    .unwrap(),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                "Root=1-6751a8c0-3f1e2d4c5b6a79880a1b2c3d".parse().unwrap(),
            );
            (headers, axum::Json(event))
        }
    });
    let reply = |State(tx): State<mpsc::Sender<Reply>>, uri: axum::http::Uri, body: String| async move {
        let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
        let _ = tx
            .send(Reply {
                path: uri.path().to_owned(),
                body,
            })
            .await;
        StatusCode::ACCEPTED
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", next)
        .route("/2018-06-01/runtime/invocation/{id}/response", post(reply))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(reply))
        .route("/2018-06-01/runtime/init/error", post(reply))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, rx)
}

#[tokio::test]
async fn the_lambda_binary_answers_an_invocation_from_the_runtime_api() {
    let (port, mut replies) = runtime_api(event("apigw_http_v2_predict.json")).await;
    let mut cmd = command();
    cmd.arg("lambda")
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "churn-serve")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/churn-serve");
    let started = Instant::now();
    let mut process = Process::spawn(cmd);
    let reply = tokio::time::timeout(TIMEOUT, replies.recv())
        .await
        .expect("the function answers within the timeout")
        .expect("a reply");
    let elapsed = started.elapsed();
    assert_eq!(reply.path, "/2018-06-01/runtime/invocation/inv-1/response", "{reply:?}");
    assert_eq!(reply.body["statusCode"], 200, "{reply:?}");
    let answer: Value = serde_json::from_str(reply.body["body"].as_str().expect("a body")).unwrap();
    let p = answer["churn_probability"].as_f64().expect("a probability");
    assert!((p - golden_1()).abs() <= PARITY_TOLERANCE, "{p} vs {}", golden_1());
    eprintln!("process start to first Lambda answer (debug build): {elapsed:?}");

    // Outside Lambda (an emulator, a container's PID 1) it stops on SIGTERM.
    process.signal("TERM");
    assert!(process.wait_exit(TIMEOUT).success(), "{}", process.stderr_text());
}

#[test]
fn the_lambda_command_outside_lambda_exits_with_one_line() {
    let mut cmd = command();
    cmd.arg("lambda");
    let (status, lines) = run_to_exit(cmd);
    assert_eq!(status.code(), Some(1), "{lines:?}");
    let last = lines.last().expect("an error line");
    assert!(
        last.starts_with("error: AWS_LAMBDA_RUNTIME_API is not set"),
        "{lines:?}"
    );
}
