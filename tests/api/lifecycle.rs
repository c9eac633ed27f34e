//! Model lifecycle in-process: sources, hot swap, rejected candidates, the
//! admin route, polling (file mtime, HTTP ETag) and SIGHUP on the binary.
//! The MLflow registry is tested against a real tracking server in the
//! `lifecycle` stage (scripts/check_lifecycle.sh).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::binary::{Process, TempDir, command, http};
use super::helpers::*;

const CHALLENGER: &str = "tests/fixtures/churn_challenger";
const MAIN: &str = "models/churn_pipeline";
const ADMIN_KEY: &str = "admin-key-1";

/// A directory holding `churn.onnx` (+ `churn.json`) copied from `stem`.
fn model_dir(name: &str, stem: &str) -> TempDir {
    let dir = TempDir::new(name);
    install(&dir.0, stem);
    dir
}

/// Replaces `churn.onnx` / `churn.json` in `dir` by `stem`'s files (the
/// metadata removed when `stem` has none), each by an atomic rename.
fn install(dir: &Path, stem: &str) {
    for ext in ["onnx", "json"] {
        let from = repo_path(&format!("{stem}.{ext}"));
        let to = dir.join(format!("churn.{ext}"));
        if from.exists() {
            let tmp = dir.join(format!(".churn.{ext}.tmp"));
            std::fs::copy(&from, &tmp).expect("copy a model file");
            std::fs::rename(&tmp, &to).expect("rename into place");
        } else {
            let _ = std::fs::remove_file(&to);
        }
    }
}

async fn spawn_on(model: PathBuf, configure: impl FnOnce(&mut churn_serve::config::Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.model_uri = model.display().to_string();
        s.admin_api_keys = vec![ADMIN_KEY.into()];
        configure(s);
    })
    .await
}

async fn reload(app: &TestApp, key: Option<&str>) -> reqwest::Response {
    let request = app.client.post(app.url("/admin/model/reload"));
    let request = match key {
        Some(k) => request.bearer_auth(k),
        None => request,
    };
    request.send().await.expect("reload answers")
}

/// `(model_version, churn_probability)` of the first golden customer.
async fn first_golden(app: &TestApp) -> (String, f64) {
    let row = &golden(MAIN_GOLDEN)[0];
    let body = app.predict_ok(&row.customer).await;
    (
        body["model_version"].as_str().unwrap().to_owned(),
        body["churn_probability"].as_f64().unwrap(),
    )
}

fn golden_probability(stem: &str) -> f64 {
    let file = if stem == MAIN {
        MAIN_GOLDEN.to_owned()
    } else {
        format!("{stem}.golden.jsonl")
    };
    golden(&file)[0].probability
}

fn assert_answers(answer: (String, f64), version: &str, stem: &str) {
    assert_eq!(answer.0, version);
    let expected = golden_probability(stem);
    assert!(
        (answer.1 - expected).abs() < PARITY_TOLERANCE,
        "{answer:?} vs {expected}"
    );
}

#[tokio::test]
async fn a_changed_model_file_is_swapped_in_on_reload_and_every_route_names_it() {
    let dir = model_dir("swap", MAIN);
    let app = spawn_on(dir.0.join("churn.onnx"), |_| {}).await;
    assert_answers(first_golden(&app).await, "1.0.0", MAIN);

    install(&dir.0, CHALLENGER);
    let response = reload(&app, Some(ADMIN_KEY)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["result"].as_str(), body["model_version"].as_str()),
        (Some("swapped"), Some("2.0.0"))
    );

    assert_answers(first_golden(&app).await, "2.0.0", CHALLENGER);
    let health: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["model_version"], "2.0.0");
    let v2: Value = app.get("/v2/models/churn_pipeline").await.json().await.unwrap();
    assert_eq!(v2["versions"], json!(["2.0.0"]));
    let model: Value = app.get("/api/v1/model").await.json().await.unwrap();
    assert_eq!(model["version"], "2.0.0");
    assert_eq!(
        model["source"]["resolved"],
        dir.0.join("churn.onnx").display().to_string()
    );
    let metrics = app.metrics().await;
    let info: Vec<_> = metrics
        .series("churn_model_info")
        .into_iter()
        .map(|(l, _)| l["version"].clone())
        .collect();
    assert_eq!(info, ["2.0.0"], "churn_model_info names the serving model only");
    assert_eq!(
        metrics.value("churn_model_reload_total", &[("trigger", "api"), ("result", "success")]),
        1.0
    );

    let again: Value = reload(&app, Some(ADMIN_KEY)).await.json().await.unwrap();
    assert_eq!(again["result"], "unchanged", "the same bytes are not loaded twice");
}

#[tokio::test]
async fn a_candidate_that_fails_a_check_is_discarded_and_the_serving_model_stays() {
    let dir = model_dir("reject", MAIN);
    let app = spawn_on(dir.0.join("churn.onnx"), |_| {}).await;

    install(&dir.0, "tests/fixtures/wrong_inputs");
    let body = error_body(reload(&app, Some(ADMIN_KEY)).await, 422).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("do not match the churn features"),
        "{body}"
    );
    assert_answers(first_golden(&app).await, "1.0.0", MAIN);

    // The challenger's bytes with metadata whose golden rows are not its own.
    install(&dir.0, CHALLENGER);
    let mut metadata: Value = serde_json::from_slice(&std::fs::read(dir.0.join("churn.json")).unwrap()).unwrap();
    metadata["golden"][0]["churn_probability"] = json!(0.999);
    std::fs::write(dir.0.join("churn.json"), metadata.to_string()).unwrap();
    let body = error_body(reload(&app, Some(ADMIN_KEY)).await, 422).await;
    assert!(body["detail"].as_str().unwrap().contains("self-check"), "{body}");
    assert_answers(first_golden(&app).await, "1.0.0", MAIN);

    let model: Value = app.get("/api/v1/model").await.json().await.unwrap();
    let failure = &model["last_reload_failure"];
    assert_eq!(failure["trigger"], "api");
    assert!(failure["error"].as_str().unwrap().contains("golden row 0"), "{failure}");
    let failed = app
        .metrics()
        .await
        .value("churn_model_reload_total", &[("trigger", "api"), ("result", "failed")]);
    assert_eq!(failed, 2.0);
}

#[tokio::test]
async fn the_reload_route_needs_an_admin_key_and_does_not_exist_without_admin_keys() {
    let dir = model_dir("admin", MAIN);
    let app = spawn_on(dir.0.join("churn.onnx"), |s| s.api_keys = vec!["user-key".into()]).await;
    assert_eq!(reload(&app, None).await.status(), 401);
    assert_eq!(
        reload(&app, Some("user-key")).await.status(),
        401,
        "an API key is not an admin key"
    );
    assert_eq!(reload(&app, Some(ADMIN_KEY)).await.status(), 200);

    let open = spawn_app_with(|s| s.model_uri = dir.0.join("churn.onnx").display().to_string()).await;
    assert_eq!(reload(&open, Some(ADMIN_KEY)).await.status(), 404);
}

#[tokio::test]
async fn polling_swaps_in_a_changed_file_and_model_name_stays_what_clients_use() {
    let dir = model_dir("poll", MAIN);
    let app = spawn_on(dir.0.join("churn.onnx"), |s| {
        s.model_poll_secs = 1;
        s.model_name = "churn".into();
    })
    .await;
    assert_eq!(app.get("/v2/models/churn").await.status(), 200);
    assert_eq!(app.get("/v2/models/churn_pipeline").await.status(), 404);
    install(&dir.0, CHALLENGER);
    eventually(TIMEOUT, "the poll swaps the model", || async {
        (first_golden(&app).await.0 == "2.0.0").then_some(())
    })
    .await;
    let v2: Value = app.get("/v2/models/churn").await.json().await.unwrap();
    assert_eq!(
        (v2["name"].as_str(), v2["versions"][0].as_str()),
        (Some("churn"), Some("2.0.0"))
    );
    let model: Value = app.get("/api/v1/model").await.json().await.unwrap();
    assert_eq!(
        (model["name"].as_str(), model["poll_secs"].as_u64()),
        (Some("churn"), Some(1))
    );
}

// ---------------------------------------------------------------- http(s)

/// A file server with ETags (the sha256 of the body) that counts the full
/// bodies it sends per path.
#[derive(Clone, Default)]
struct Files {
    bodies: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    sent: Arc<Mutex<HashMap<String, usize>>>,
    not_modified: Arc<AtomicUsize>,
}

impl Files {
    fn put(&self, name: &str, stem: &str, ext: &str) {
        let bytes = std::fs::read(repo_path(&format!("{stem}.{ext}"))).unwrap();
        self.bodies.lock().unwrap().insert(name.into(), bytes);
    }

    fn sent(&self, name: &str) -> usize {
        self.sent.lock().unwrap().get(name).copied().unwrap_or(0)
    }

    async fn serve(self) -> String {
        async fn file(State(files): State<Files>, UrlPath(name): UrlPath<String>, headers: HeaderMap) -> Response {
            let Some(body) = files.bodies.lock().unwrap().get(&name).cloned() else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let etag = format!("\"{}\"", churn_serve::model::sha256_hex(&body));
            if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
                files.not_modified.fetch_add(1, Ordering::SeqCst);
                return StatusCode::NOT_MODIFIED.into_response();
            }
            *files.sent.lock().unwrap().entry(name).or_default() += 1;
            ([(header::ETAG, etag)], body).into_response()
        }
        let router = axum::Router::new()
            .route("/m/{name}", axum::routing::get(file))
            .with_state(self);
        format!("{}/m", serve_on_loopback(router).await)
    }

    /// The shipped model and its metadata as `churn.onnx` / `churn.json`,
    /// served; with the base URL.
    async fn serving_the_shipped_model() -> (Files, String) {
        let files = Files::default();
        files.put("churn.onnx", MAIN, "onnx");
        files.put("churn.json", MAIN, "json");
        let base = files.clone().serve().await;
        (files, base)
    }
}

/// Serves `router` on an ephemeral 127.0.0.1 port for the rest of the
/// test; its `http://host:port`.
async fn serve_on_loopback(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn sha256_of(stem: &str) -> String {
    churn_serve::model::sha256_hex(&std::fs::read(repo_path(&format!("{stem}.onnx"))).unwrap())
}

#[tokio::test]
async fn an_http_model_is_served_only_with_its_pinned_sha256() {
    let (_files, base) = Files::serving_the_shipped_model().await;
    let uri = format!("{base}/churn.onnx");

    let mut settings = test_settings();
    settings.model_uri = uri.clone();
    settings.model_sha256 = "0".repeat(64);
    let err = try_spawn_app(settings)
        .await
        .err()
        .expect("a wrong pin stops startup")
        .to_string();
    assert!(err.contains(&"0".repeat(64)) && err.contains(&sha256_of(MAIN)), "{err}");

    let app = spawn_app_with(|s| {
        s.model_uri = uri;
        s.model_sha256 = sha256_of(MAIN);
    })
    .await;
    assert_answers(first_golden(&app).await, "1.0.0", MAIN);
}

#[tokio::test]
async fn an_http_source_is_polled_with_its_etag_and_a_change_against_the_pin_is_refused() {
    let (files, base) = Files::serving_the_shipped_model().await;
    let app = spawn_app_with(|s| {
        s.model_uri = format!("{base}/churn.onnx");
        s.model_sha256 = sha256_of(MAIN);
        s.model_poll_secs = 1;
    })
    .await;
    eventually(TIMEOUT, "two polls answered 304", || async {
        (files.not_modified.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    assert_eq!(
        files.sent("churn.onnx"),
        1,
        "an unchanged model is not downloaded again"
    );

    files.put("churn.onnx", CHALLENGER, "onnx");
    let failure = eventually(TIMEOUT, "the changed file is refused", || async {
        let model: Value = app.get("/api/v1/model").await.json().await.ok()?;
        model["last_reload_failure"]["error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(
        failure.contains("sha256 mismatch") && failure.contains(&sha256_of(CHALLENGER)),
        "{failure}"
    );
    assert_answers(first_golden(&app).await, "1.0.0", MAIN);
}

// ------------------------------------------------------------------ SIGHUP

#[test]
fn sighup_reloads_the_model_in_the_running_binary() {
    let dir = model_dir("sighup", MAIN);
    let mut cmd = command();
    cmd.env("MODEL_URI", dir.0.join("churn.onnx"));
    let server = Process::start(cmd);
    let body = golden(MAIN_GOLDEN)[0].customer.clone();
    assert_eq!(
        http(server.port(), "POST", "/api/v1/predict", Some(&body)).1["model_version"],
        "1.0.0"
    );
    install(&dir.0, CHALLENGER);
    server.signal("HUP");
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let (status, answer) = http(server.port(), "POST", "/api/v1/predict", Some(&body));
        assert_eq!(status, 200, "{answer}");
        if answer["model_version"] == "2.0.0" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no swap after SIGHUP: {}",
            server.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------ MLflow, faked
// The real tracking server runs in the lifecycle stage; this fake checks
// what that stage cannot: credentials, and a pinned version.

/// The registry's REST API and artifact proxy for model `churn`, version 1
/// (the shipped model) and 2 (the challenger), `champion` on `alias`; only
/// `Bearer t0k` or basic `user:pw` get in.
#[derive(Clone)]
struct Registry {
    alias: Arc<Mutex<String>>,
    refused: Arc<AtomicUsize>,
}

impl Registry {
    async fn serve(self) -> String {
        use axum::extract::Query;
        use axum::routing::get;
        type Params = Query<HashMap<String, String>>;
        fn version_body(v: &str) -> Response {
            axum::Json(json!({"model_version": {"name": "churn", "version": v, "status": "READY"}})).into_response()
        }
        let stem = |v: &str| if v == "1" { MAIN } else { CHALLENGER };
        let router = axum::Router::new()
            .route(
                "/api/2.0/mlflow/registered-models/alias",
                get(|State(r): State<Registry>| async move { version_body(&r.alias.lock().unwrap()) }),
            )
            .route(
                "/api/2.0/mlflow/model-versions/get",
                get(|Query(q): Params| async move { version_body(&q["version"]) }),
            )
            .route(
                "/api/2.0/mlflow/model-versions/get-download-uri",
                get(|Query(q): Params| async move {
                    axum::Json(
                        json!({"artifact_uri": format!("mlflow-artifacts:/0/run{}/artifacts/model", q["version"])}),
                    )
                }),
            )
            .route(
                "/api/2.0/mlflow-artifacts/artifacts",
                get(move |Query(q): Params| async move {
                    let v = if q["path"].contains("run1") { "1" } else { "2" };
                    let file = |ext: &str| format!("{}.{ext}", stem(v).rsplit('/').next().unwrap());
                    axum::Json(json!({"files": [
                        {"path": file("json"), "is_dir": false},
                        {"path": file("onnx"), "is_dir": false},
                        {"path": "MLmodel", "is_dir": false},
                    ]}))
                }),
            )
            .route(
                "/api/2.0/mlflow-artifacts/artifacts/{*path}",
                get(move |UrlPath(path): UrlPath<String>| async move {
                    let v = if path.contains("run1") { "1" } else { "2" };
                    let ext = path.rsplit('.').next().unwrap().to_owned();
                    std::fs::read(repo_path(&format!("{}.{ext}", stem(v)))).unwrap()
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                Registry::authenticate,
            ))
            .with_state(self);
        serve_on_loopback(router).await
    }

    async fn authenticate(
        State(r): State<Registry>,
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> Response {
        // "user:pw" in base64.
        let allowed = ["Bearer t0k", "Basic dXNlcjpwdw=="];
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if presented.is_some_and(|p| allowed.contains(&p)) {
            return next.run(request).await;
        }
        r.refused.fetch_add(1, Ordering::SeqCst);
        let body = json!({"error_code": "UNAUTHENTICATED", "message": "You are not authenticated."});
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }
}

fn registry() -> Registry {
    Registry {
        alias: Arc::new(Mutex::new("1".into())),
        refused: Arc::default(),
    }
}

#[tokio::test]
async fn the_registry_is_asked_with_mlflows_credentials_and_its_refusal_is_the_startup_error() {
    let registry = registry();
    let tracking = registry.clone().serve().await;
    let mut settings = test_settings();
    settings.model_uri = "models:/churn@champion".into();
    settings.mlflow_tracking_uri = tracking.clone();
    let err = try_spawn_app(settings.clone())
        .await
        .err()
        .expect("no credentials, no model")
        .to_string();
    assert!(
        err.contains("models:/churn@champion") && err.contains("401") && err.contains("not authenticated"),
        "{err}"
    );

    settings.mlflow_tracking_username = "user".into();
    settings.mlflow_tracking_password = "pw".into();
    settings.admin_api_keys = vec![ADMIN_KEY.into()];
    let app = try_spawn_app(settings).await.expect("basic auth gets in");
    let model: Value = app.get("/api/v1/model").await.json().await.unwrap();
    assert_eq!(
        (model["version"].as_str(), model["source"]["registry_version"].as_str()),
        (Some("1.0.0"), Some("1"))
    );

    *registry.alias.lock().unwrap() = "2".into();
    let body: Value = reload(&app, Some(ADMIN_KEY)).await.json().await.unwrap();
    assert_eq!(
        body,
        json!({"result": "swapped", "model_version": "2.0.0", "sha256": sha256_of(CHALLENGER), "registry_version": "2"})
    );
    assert_answers(first_golden(&app).await, "2.0.0", CHALLENGER);
    assert_eq!(
        registry.refused.load(Ordering::SeqCst),
        1,
        "only the first, credential-less start was refused"
    );
}

#[tokio::test]
async fn a_pinned_registry_version_is_served_with_a_bearer_token() {
    let registry = registry();
    let tracking = registry.clone().serve().await;
    let app = spawn_app_with(|s| {
        s.model_uri = "models:/churn/2".into();
        s.mlflow_tracking_uri = tracking;
        s.mlflow_tracking_token = "t0k".into();
    })
    .await;
    assert_answers(first_golden(&app).await, "2.0.0", CHALLENGER);
    let model: Value = app.get("/api/v1/model").await.json().await.unwrap();
    assert_eq!(model["source"]["uri"], "models:/churn/2");
    assert_eq!(
        model["source"]["resolved"],
        "mlflow-artifacts:/0/run2/artifacts/model/churn_challenger.onnx"
    );
}
