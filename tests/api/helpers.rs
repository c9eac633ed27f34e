//! In-process test servers, request helpers, golden files, metric parsing.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use churn_serve::config::Settings;
use churn_serve::startup::Application;
use churn_serve::state::AppState;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Absolute path of a file in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub const MAIN_MODEL: &str = "models/churn_pipeline.onnx";
pub const MAIN_GOLDEN: &str = "models/golden.jsonl";
pub const MAIN_METADATA: &str = "models/churn_pipeline.json";
pub const ZIPMAP_MODEL: &str = "tests/fixtures/churn_zipmap_snake.onnx";
pub const FLOAT32_MODEL: &str = "tests/fixtures/churn_float32.onnx";
pub const WRONG_INPUTS_MODEL: &str = "tests/fixtures/wrong_inputs.onnx";
pub const CORRUPT_MODEL: &str = "tests/fixtures/corrupt.onnx";

/// Largest difference from scikit-learn's probability the service may show.
pub const PARITY_TOLERANCE: f64 = 1e-5;

/// Bounded waits: generous for a loaded 2-core machine, never needed in full
/// when things work.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Defaults, but on an ephemeral loopback port with one inference worker
/// (tests run in parallel on few cores) and the main model by absolute path.
pub fn test_settings() -> Settings {
    Settings {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        model_path: repo_path(MAIN_MODEL),
        workers: 1,
        shutdown_grace_secs: 5,
        ..Settings::default()
    }
}

/// A server running in this process on an ephemeral port; stops on drop.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    configure(&mut settings);
    try_spawn_app(settings)
        .await
        .unwrap_or_else(|e| panic!("the test server failed to start: {e}"))
}

pub async fn try_spawn_app(settings: Settings) -> Result<TestApp, churn_serve::startup::StartupError> {
    let app = Application::build(settings).await?;
    let port = app.port();
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    Ok(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: client(),
        state,
        shutdown: Some(tx),
        server: Some(server),
    })
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("a reqwest client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET succeeds")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST succeeds")
    }

    /// POSTs raw bytes with the given content type (None: no header at all).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send().await.expect("POST succeeds")
    }

    pub async fn predict(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/v1/predict", body).await
    }

    pub async fn predict_batch(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/v1/predict/batch", body).await
    }

    /// Predicts one valid customer and returns the JSON answer.
    pub async fn predict_ok(&self, body: &Value) -> Value {
        let response = self.predict(body).await;
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).expect("JSON answer")
    }

    pub async fn metrics(&self) -> Metrics {
        let response = self.get("/metrics").await;
        assert_eq!(response.status(), 200);
        Metrics::parse(&response.text().await.expect("metrics text"))
    }

    /// Starts shutdown, as SIGTERM does in the binary.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits (bounded) for the server task to finish.
    pub async fn stopped(&mut self, within: Duration) {
        let server = self.server.take().expect("server still owned");
        tokio::time::timeout(within, server)
            .await
            .expect("the server stops within the bound")
            .expect("the server task does not panic")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_shutdown();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Polls `check` until it returns `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A valid customer in the API's snake_case spelling.
pub fn valid_customer() -> Value {
    json!({
        "credit_score": 619, "geography": "France", "gender": "Female", "age": 42,
        "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": 1,
        "is_active_member": 1, "estimated_salary": 101348.88
    })
}

/// The same customer in the data set's column spelling.
pub fn valid_customer_aliased() -> Value {
    json!({
        "CreditScore": 619, "Geography": "France", "Gender": "Female", "Age": 42,
        "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
        "IsActiveMember": 1, "EstimatedSalary": 101348.88
    })
}

pub fn with(mut customer: Value, field: &str, value: Value) -> Value {
    customer[field] = value;
    customer
}

pub fn without(mut customer: Value, field: &str) -> Value {
    customer.as_object_mut().expect("an object").remove(field);
    customer
}

/// The default decision rule: (threshold, medium band, high band).
pub const DEFAULT_RULE: (f64, f64, f64) = (0.5, 0.3, 0.7);

/// A decision rule written out independently of the service's code:
/// (`prediction`, `risk_level`) for probability `p`.
pub fn expected_decision(p: f64, (threshold, medium, high): (f64, f64, f64)) -> (&'static str, &'static str) {
    let outcome = if p >= threshold { "churn" } else { "no_churn" };
    let risk = if p >= high {
        "HIGH"
    } else if p >= medium {
        "MEDIUM"
    } else {
        "LOW"
    };
    (outcome, risk)
}

/// One line of a golden file: a POSTable customer and scikit-learn's answer.
#[derive(Debug, Clone)]
pub struct GoldenRow {
    pub customer: Value,
    pub probability: f64,
}

pub fn golden(relative: &str) -> Vec<GoldenRow> {
    let text = std::fs::read_to_string(repo_path(relative)).unwrap_or_else(|e| panic!("reading {relative}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let row: Value = serde_json::from_str(line).expect("a golden line is JSON");
            GoldenRow {
                customer: row["customer"].clone(),
                probability: row["churn_probability"]
                    .as_f64()
                    .expect("churn_probability is a number"),
            }
        })
        .collect()
}

/// Asserts a response is an error in the service's shape and returns its body.
pub async fn error_body(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let header_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "error bodies are JSON: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("error body is JSON");
    assert!(body.get("detail").is_some(), "no detail: {body}");
    assert_eq!(
        body["request_id"].as_str(),
        header_id.as_deref(),
        "the body's request_id is the x-request-id header: {body}"
    );
    body
}

/// The field errors of a 422 answer.
pub async fn field_errors(response: reqwest::Response) -> Vec<Value> {
    let body = error_body(response, 422).await;
    let errors = body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("422 detail is a list: {body}"))
        .clone();
    for e in &errors {
        assert!(e["type"].is_string(), "{e}");
        assert!(e["loc"].is_array(), "{e}");
        assert!(e["msg"].is_string(), "{e}");
    }
    errors
}

/// Sends a request's head and the first part of its body, leaving it in flight
/// until the rest is sent with [`PartialRequest::finish`].
pub struct PartialRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl PartialRequest {
    pub async fn start(port: u16, path: &str, body: &Value) -> PartialRequest {
        let body = body.to_string().into_bytes();
        let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nx-request-id: in-flight\r\n\r\n",
            body.len()
        );
        let split = body.len() / 2;
        write_all(&stream, head.as_bytes()).await;
        write_all(&stream, &body[..split]).await;
        PartialRequest {
            stream,
            rest: body[split..].to_vec(),
        }
    }

    /// Reads the answer the server gives before the rest of the body came.
    pub async fn answer_without_finishing(self) -> (u16, Value) {
        read_answer(&self.stream).await
    }

    /// Sends the rest of the body and reads the answer: (status, body).
    pub async fn finish(self) -> (u16, Value) {
        write_all(&self.stream, &self.rest).await;
        read_answer(&self.stream).await
    }
}

/// Reads one answer: (status, body). The server may close the connection
/// after it (e.g. once draining); otherwise reads until the announced body
/// length has arrived.
pub async fn read_answer(stream: &TcpStream) -> (u16, Value) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(TIMEOUT, read_some(stream, &mut buf))
            .await
            .expect("an answer within the bound");
        raw.extend_from_slice(&buf[..n]);
        if n == 0 || parse_http(&raw).is_some() {
            break;
        }
    }
    parse_http(&raw).unwrap_or_else(|| panic!("incomplete answer: {}", String::from_utf8_lossy(&raw)))
}

/// Writes all of `bytes` (tokio's `io-util` extension traits are not enabled).
pub async fn write_all(stream: &TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        stream.writable().await.expect("writable");
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("write: {e}"),
        }
    }
}

/// Reads what is available (0 at end of stream or on a reset).
pub async fn read_some(stream: &TcpStream, buf: &mut [u8]) -> usize {
    loop {
        stream.readable().await.expect("readable");
        match stream.try_read(buf) {
            Ok(n) => return n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return 0,
        }
    }
}

/// Parses a complete HTTP/1.1 answer with a Content-Length body.
pub fn parse_http(raw: &[u8]) -> Option<(u16, Value)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    if body.len() < length {
        return None;
    }
    let value = serde_json::from_str(&body[..length]).unwrap_or(Value::Null);
    Some((status, value))
}

/// A parsed Prometheus text exposition.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("`series value`");
                let value: f64 = value.parse().expect("a numeric sample");
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                    None => (series, BTreeMap::new()),
                };
                (name.to_owned(), labels, value)
            })
            .collect();
        Metrics {
            text: text.to_owned(),
            samples,
        }
    }

    /// The sample with exactly these labels (in any order), if any.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.samples
            .iter()
            .find(|(n, l, _)| n == name && *l == wanted)
            .map(|(_, _, v)| *v)
    }

    /// The sample's value, 0 when the series does not exist yet.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Every series of a metric.
    pub fn series(&self, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone(), *v))
            .collect()
    }

    pub fn has_metric(&self, name: &str) -> bool {
        self.samples.iter().any(|(n, _, _)| n == name)
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        value.push(match next {
                            'n' => '\n',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    labels
}
