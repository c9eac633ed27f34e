//! Hostile input must never panic the server or earn a 5xx.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::helpers::{PartialRequest, TIMEOUT, TestApp, field_errors, spawn_app, spawn_app_with, valid_customer, with};

async fn still_healthy(app: &TestApp) {
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200, "the server still answers");
    assert_eq!(app.predict(&valid_customer()).await.status(), 200);
}

async fn post_bytes(app: &TestApp, path: &str, raw: Vec<u8>) -> reqwest::Response {
    app.post_raw(path, Some("application/json"), raw).await
}

#[tokio::test]
async fn deeply_nested_json_is_rejected_with_422_without_crashing() {
    let app = spawn_app().await;
    let depth = 100_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let in_field = format!("{{\"credit_score\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    for body in [arrays, objects, in_field] {
        for path in ["/api/v1/predict", "/api/v1/predict/batch"] {
            // Nesting in a part the parser reads is past serde_json's depth
            // limit (json_invalid); in a part it skips, the value's type is
            // the error (model_attributes_type, int_type; missing fields when
            // the nesting is under a key the API does not read). Never a crash.
            let errors = field_errors(post_bytes(&app, path, body.clone().into_bytes()).await).await;
            let kind = errors[0]["type"].as_str().unwrap_or_default();
            assert!(
                ["json_invalid", "model_attributes_type", "int_type", "missing"].contains(&kind),
                "{errors:?}"
            );
        }
    }
    still_healthy(&app).await;
}

#[tokio::test]
async fn nesting_just_inside_the_parser_limit_is_a_validation_error() {
    let app = spawn_app().await;
    let mut nested = json!(1);
    for _ in 0..100 {
        nested = json!([nested]);
    }
    let errors = field_errors(app.predict(&with(valid_customer(), "age", nested)).await).await;
    assert_eq!(errors[0]["type"], "int_type");
    still_healthy(&app).await;
}

#[tokio::test]
async fn numbers_beyond_f64_are_rejected_with_422() {
    let app = spawn_app().await;
    let template = valid_customer().to_string();
    for literal in ["1e400", "-1e400", "1e999999999"] {
        let body = template.replace("\"age\":42", &format!("\"age\":{literal}"));
        assert_ne!(body, template, "the template spells age as \"age\":42");
        let errors = field_errors(post_bytes(&app, "/api/v1/predict", body.into_bytes()).await).await;
        assert_eq!(errors[0]["type"], "json_invalid", "{literal}: {errors:?}");
    }
    still_healthy(&app).await;
}

#[tokio::test]
async fn hundred_digit_integers_are_range_errors_not_crashes() {
    let app = spawn_app().await;
    let template = valid_customer().to_string();
    let digits = "9".repeat(100);
    for field in ["\"age\":42", "\"credit_score\":619", "\"tenure\":2"] {
        let name = field.split(':').next().unwrap();
        let body = template.replace(field, &format!("{name}:{digits}"));
        let response = post_bytes(&app, "/api/v1/predict", body.into_bytes()).await;
        let errors = field_errors(response).await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["type"], "less_than_equal", "{errors:?}");
    }
    let body = template.replace("\"balance\":0.0", &format!("\"balance\":{digits}"));
    assert_eq!(
        post_bytes(&app, "/api/v1/predict", body.into_bytes()).await.status(),
        200
    );
    still_healthy(&app).await;
}

#[tokio::test]
async fn huge_but_finite_amounts_are_served() {
    let app = spawn_app().await;
    let body = with(valid_customer(), "balance", json!(f64::MAX));
    let body = with(body, "estimated_salary", json!(f64::MAX));
    let answer = app.predict_ok(&body).await;
    let p = answer["churn_probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{answer}");
    let tiny = with(valid_customer(), "balance", json!(f64::MIN_POSITIVE));
    app.predict_ok(&tiny).await;
}

#[tokio::test]
async fn unicode_everywhere_is_handled() {
    let app = spawn_app().await;
    let cases: [Value; 6] = [
        with(valid_customer(), "geography", json!("Франция")),
        with(valid_customer(), "gender", json!("👩")),
        with(valid_customer(), "geography", json!("France\u{0}")),
        with(valid_customer(), "geography", json!("Fr\u{200b}ance")),
        with(valid_customer(), "gender", json!("Ｍａｌｅ")),
        with(valid_customer(), "age", json!("四十二")),
    ];
    for body in cases {
        let errors = field_errors(app.predict(&body).await).await;
        assert_eq!(errors.len(), 1, "{body}: {errors:?}");
    }
    let keys = with(valid_customer(), "ünïcødé_kéy_🦀", json!("value ✓"));
    assert_eq!(app.predict(&keys).await.status(), 200);
    still_healthy(&app).await;
}

#[tokio::test]
async fn lone_surrogates_and_control_bytes_are_json_errors() {
    let app = spawn_app().await;
    let bodies: [&[u8]; 3] = [
        br#"{"geography": "\ud800"}"#,
        b"{\"geography\": \"Fr\x01ance\"}",
        b"\x00\x00\x00",
    ];
    for raw in bodies {
        let response = post_bytes(&app, "/api/v1/predict", raw.to_vec()).await;
        let errors = field_errors(response).await;
        assert_eq!(errors[0]["type"], "json_invalid", "{:?}", String::from_utf8_lossy(raw));
    }
    // Not UTF-8 at all: FastAPI's 400, in the JSON shape.
    for path in ["/api/v1/predict", "/api/v1/predict/batch"] {
        let response = post_bytes(&app, path, b"{\"geography\": \"\xc3\x28\"}".to_vec()).await;
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["detail"], "There was an error parsing the body");
    }
    still_healthy(&app).await;
}

#[tokio::test]
async fn duplicate_keys_never_crash() {
    let app = spawn_app().await;
    let body = valid_customer().to_string().replace('}', ",\"age\":200}");
    let status = post_bytes(&app, "/api/v1/predict", body.into_bytes()).await.status();
    assert!(status == 200 || status == 422, "{status}");
    still_healthy(&app).await;
}

#[tokio::test]
async fn a_long_customer_id_within_the_body_limit_is_rejected_cleanly() {
    let app = spawn_app().await;
    let body = with(valid_customer(), "customer_id", json!("z".repeat(1_000_000)));
    let errors = field_errors(app.predict(&body).await).await;
    assert_eq!(errors[0]["type"], "string_too_long");
    // The bad input is echoed, as pydantic does; the answer stays well-formed.
    still_healthy(&app).await;
}

#[tokio::test]
async fn a_batch_of_non_objects_is_rejected_item_by_item() {
    let app = spawn_app().await;
    let body = json!({"customers": [null, 1, "x", [], {}, true]});
    let errors = field_errors(app.predict_batch(&body).await).await;
    // Five non-objects, plus ten missing fields of the empty object.
    assert_eq!(errors.len(), 5 + 10, "{errors:?}");
    still_healthy(&app).await;
}

#[tokio::test]
async fn many_concurrent_bad_and_good_requests_leave_the_server_healthy() {
    let app = spawn_app_many().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/predict"));
        tasks.spawn(async move {
            let body = if i % 2 == 0 {
                valid_customer().to_string()
            } else {
                format!("{{\"age\": {}", "[".repeat(i * 10))
            };
            client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    while let Some(result) = tasks.join_next().await {
        let status = result.unwrap().expect("answered");
        assert!(status == 200 || status == 422, "{status}");
    }
    still_healthy(&app).await;
}

async fn spawn_app_many() -> TestApp {
    super::helpers::spawn_app_with(|s| s.workers = 2).await
}

#[tokio::test]
async fn amounts_beyond_float32_never_yield_a_200_without_a_probability() {
    // The float32 fixture casts inputs to f32: 1e39 becomes +inf, and the
    // model's output is NaN, which JSON can only spell as null. A client must
    // get either a probability or an error, never `null` labelled "no_churn".
    let app = super::helpers::spawn_app_with(|s| {
        s.model_path = super::helpers::repo_path(super::helpers::FLOAT32_MODEL);
    })
    .await;
    for amount in [json!(1e39), json!(f64::MAX)] {
        let body = with(valid_customer(), "balance", amount.clone());
        let body = with(body, "estimated_salary", amount.clone());
        for (path, request) in [
            ("/api/v1/predict", body.clone()),
            ("/api/v1/predict/batch", json!({"customers": [body.clone()]})),
        ] {
            let response = app.post_json(path, &request).await;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap();
            if status == 200 {
                let prediction = if path.ends_with("batch") {
                    &answer["predictions"][0]
                } else {
                    &answer
                };
                let p = prediction["churn_probability"].as_f64();
                assert!(
                    p.is_some_and(|p| (0.0..=1.0).contains(&p)),
                    "{path} with amounts {amount}: 200 without a probability: {answer}"
                );
            } else {
                assert!(status == 422 || status == 500, "{path}: {status} {answer}");
                assert!(answer["request_id"].is_string(), "{answer}");
            }
        }
    }
    still_healthy(&app).await;
}

#[tokio::test]
async fn a_client_that_closes_its_sending_side_after_the_request_still_gets_the_answer() {
    use std::io::{Read, Write};
    let app = spawn_app().await;
    let body = valid_customer().to_string();
    let request = format!(
        "POST /api/v1/predict HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let port = app.port;
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(super::helpers::TIMEOUT)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        // Half-close, as `nc -N` and some proxies do: "no more requests, answer this one".
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).map(|_| response)
    })
    .await
    .unwrap()
    .expect("the server answers, then closes");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"churn_probability\""), "{response}");
    still_healthy(&app).await;
}

/// Sends `sent` on a fresh connection, then waits (bounded) for the server to
/// close it: Ok(seconds until it closed), Err(what it answered) if it
/// answered instead.
async fn closes_after(port: u16, sent: &[u8], bound: Duration) -> Result<Duration, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    super::helpers::write_all(&stream, sent).await;
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let read = tokio::time::timeout(bound, super::helpers::read_some(&stream, &mut buf)).await;
        match read {
            Err(_) => return Err(format!("still open after {bound:?}")),
            Ok(0) if received.is_empty() => return Ok(started.elapsed()),
            Ok(0) => return Err(String::from_utf8_lossy(&received).into_owned()),
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

const HALF_A_HEAD: &[u8] = b"POST /api/v1/predict HTTP/1.1\r\nhost: localhost\r\ncontent-type: appl";

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    let app = spawn_app_with(|s| s.header_read_timeout_ms = 300).await;
    let closed = closes_after(app.port, HALF_A_HEAD, TIMEOUT)
        .await
        .expect("closed without an answer");
    assert!(
        closed >= Duration::from_millis(250),
        "closed after {closed:?}, before the timeout"
    );
    let silent = closes_after(app.port, b"", TIMEOUT)
        .await
        .expect("an idle connection is closed");
    assert!(silent >= Duration::from_millis(250), "closed after {silent:?}");
    still_healthy(&app).await;
}

#[tokio::test]
async fn a_slow_head_within_the_timeout_and_a_body_that_takes_longer_are_served() {
    let app = spawn_app_with(|s| s.header_read_timeout_ms = 400).await;
    let body = valid_customer();
    // The head arrives at once; the body after more than the header timeout:
    // the body is bounded by request_timeout_ms, not by this one.
    let request = PartialRequest::start(app.port, "/api/v1/predict", &body).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, answer) = request.finish().await;
    assert_eq!(status, 200, "{answer}");
    // A head sent in two parts, 200 ms apart, is within the 400 ms.
    let stream = TcpStream::connect(("127.0.0.1", app.port)).await.expect("connect");
    let text = body.to_string();
    let rest = format!("ication/json\r\ncontent-length: {}\r\n\r\n{text}", text.len());
    super::helpers::write_all(&stream, HALF_A_HEAD).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    super::helpers::write_all(&stream, rest.as_bytes()).await;
    let (status, answer) = super::helpers::read_answer(&stream).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_header_timeout_of_zero_never_disconnects_a_waiting_client() {
    let app = spawn_app_with(|s| s.header_read_timeout_ms = 0).await;
    let outcome = closes_after(app.port, HALF_A_HEAD, Duration::from_millis(800)).await;
    assert_eq!(outcome, Err("still open after 800ms".to_string()));
}
