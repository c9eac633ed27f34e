//! Startup: the binary serves the shipped model and fixtures, and every
//! failure (model, runtime, configuration, port) exits 1 with one clear line.

use std::process::ExitStatus;

use churn_serve::model::ModelError;
use churn_serve::startup::StartupError;
use serde_json::json;

use super::binary::{self, Process, TempDir, http, run_to_exit};
use super::helpers::{
    CORRUPT_MODEL, MAIN_GOLDEN, MAIN_MODEL, WRONG_INPUTS_MODEL, ZIPMAP_MODEL, golden, repo_path, test_settings,
    try_spawn_app, valid_customer,
};

/// Asserts exit code 1 and exactly one `error:` line, the last one, that
/// contains every `needle`; returns that line.
fn assert_one_error_line(status: ExitStatus, stderr: &[String], needles: &[&str]) -> String {
    let all = stderr.join("\n");
    assert_eq!(status.code(), Some(1), "exit status {status}; stderr:\n{all}");
    assert!(!all.contains("panicked"), "a panic instead of an error line:\n{all}");
    let errors: Vec<&String> = stderr.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line:\n{all}");
    let line = errors[0].clone();
    assert_eq!(stderr.last(), Some(&line), "the error line is the last:\n{all}");
    assert!(line.len() > "error: ".len() + 10, "a meaningful cause: {line}");
    for needle in needles {
        assert!(line.contains(needle), "`{needle}` not in: {line}");
    }
    line
}

fn fails_with(envs: &[(&str, &str)], needles: &[&str]) -> String {
    let mut cmd = binary::command();
    cmd.envs(envs.iter().copied());
    let (status, stderr) = run_to_exit(cmd);
    assert_one_error_line(status, &stderr, needles)
}

// ------------------------------------------------------------ serving

#[test]
fn binary_logs_ready_with_port_model_version_and_sha256_then_serves() {
    let mut cmd = binary::command();
    cmd.env("CHURN_WORKERS", "2");
    let mut server = Process::spawn(cmd);
    let ready = server.wait_for_log("ready", super::helpers::TIMEOUT);
    assert_eq!(ready["model"], "churn_pipeline");
    assert_eq!(ready["model_version"], "1.0.0");
    let sha = churn_serve::model::sha256_hex(&std::fs::read(repo_path(MAIN_MODEL)).unwrap());
    assert_eq!(ready["sha256"], sha);
    let port = u16::try_from(ready["port"].as_u64().expect("a port")).unwrap();
    assert_ne!(port, 0, "the actual port, not the configured 0");

    let (status, health) = http(port, "GET", "/health", None);
    assert_eq!((status, &health["status"]), (200, &json!("healthy")));
    let row = &golden(MAIN_GOLDEN)[0];
    let (status, answer) = http(port, "POST", "/api/v1/predict", Some(&row.customer));
    assert_eq!(status, 200, "{answer}");
    let p = answer["churn_probability"].as_f64().unwrap();
    assert!((p - row.probability).abs() <= 1e-5);
}

#[test]
fn binary_serves_a_snake_case_zipmap_model_without_metadata_as_version_unknown() {
    let mut cmd = binary::command();
    cmd.env("MODEL_PATH", ZIPMAP_MODEL);
    let server = Process::start(cmd);
    let (status, health) = http(server.port(), "GET", "/health", None);
    assert_eq!(status, 200);
    assert_eq!(health["model_version"], "unknown");
    let (status, answer) = http(server.port(), "POST", "/api/v1/predict", Some(&valid_customer()));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model_version"], "unknown");
}

#[test]
fn environment_overrides_the_config_file_which_overrides_defaults() {
    let dir = TempDir::new("layered-config");
    let config = dir.write(
        "churn.toml",
        "threshold = 0.99\nrisk_medium = 0.01\nrisk_high = 0.9\nmax_batch_size = 2\n",
    );
    let mut cmd = binary::command();
    cmd.arg("--config").arg(&config).env("CHURN_THRESHOLD", "0.01");
    let server = Process::start(cmd);
    let row = &golden(MAIN_GOLDEN)[0];
    assert!(row.probability < 0.3 && row.probability > 0.01);
    let (status, answer) = http(server.port(), "POST", "/api/v1/predict", Some(&row.customer));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["prediction"], "churn", "CHURN_THRESHOLD=0.01 wins: {answer}");
    assert_eq!(
        answer["risk_level"], "MEDIUM",
        "the file's risk_medium applies: {answer}"
    );
    let three = json!({"customers": [valid_customer(), valid_customer(), valid_customer()]});
    let (status, _) = http(server.port(), "POST", "/api/v1/predict/batch", Some(&three));
    assert_eq!(status, 422, "the file's max_batch_size applies");
}

#[test]
fn config_file_can_be_named_by_churn_config() {
    let dir = TempDir::new("churn-config-env");
    let config = dir.write("c.toml", "threshold = 0.0\n");
    let mut cmd = binary::command();
    cmd.env("CHURN_CONFIG", &config);
    let server = Process::start(cmd);
    let (_, answer) = http(server.port(), "POST", "/api/v1/predict", Some(&valid_customer()));
    assert_eq!(answer["prediction"], "churn", "threshold 0 makes everyone churn");
}

#[test]
fn healthcheck_subcommand_exits_0_against_a_healthy_server_and_1_without_one() {
    let server = Process::start(binary::command());
    let port = server.port().to_string();
    let mut probe = binary::command();
    probe.arg("healthcheck").env("PORT", &port);
    let (status, stderr) = run_to_exit(probe);
    assert_eq!(status.code(), Some(0), "{stderr:?}");
    drop(server);

    let mut probe = binary::command();
    probe.arg("healthcheck").arg("--timeout").arg("2").env("PORT", &port);
    let (status, stderr) = run_to_exit(probe);
    assert_one_error_line(status, &stderr, &[&port]);
}

// ------------------------------------------------------- model failures

#[test]
fn missing_model_file_exits_1_naming_the_path() {
    fails_with(
        &[("MODEL_PATH", "models/does_not_exist.onnx")],
        &["cannot read model file", "models/does_not_exist.onnx"],
    );
}

#[test]
fn corrupt_model_file_exits_1_naming_an_invalid_model() {
    fails_with(&[("MODEL_PATH", CORRUPT_MODEL)], &["invalid ONNX model"]);
}

#[test]
fn model_with_the_wrong_inputs_exits_1_naming_the_input_problem() {
    fails_with(
        &[("MODEL_PATH", WRONG_INPUTS_MODEL)],
        &["model inputs do not match the churn features"],
    );
}

#[test]
fn model_path_that_is_a_directory_exits_1() {
    fails_with(&[("MODEL_PATH", "models")], &["cannot read model file", "models"]);
}

#[test]
fn metadata_that_does_not_describe_the_model_exits_1() {
    let dir = TempDir::new("bad-metadata");
    let wrong_sha = dir.write(
        "meta.json",
        &json!({"name": "churn_pipeline", "version": "9", "sha256": "0".repeat(64)}).to_string(),
    );
    let path = wrong_sha.to_string_lossy().into_owned();
    fails_with(&[("CHURN_METADATA_PATH", &path)], &["invalid model metadata", "sha256"]);
    let garbage = dir.write("garbage.json", "{not json");
    let path = garbage.to_string_lossy().into_owned();
    fails_with(&[("CHURN_METADATA_PATH", &path)], &["invalid model metadata"]);
}

#[test]
fn a_configured_metadata_path_that_does_not_exist_exits_1_naming_it() {
    fails_with(
        &[("CHURN_METADATA_PATH", "models/churn_pipelin.json")],
        &["models/churn_pipelin.json", "no such file"],
    );
}

#[test]
fn host_is_read_from_the_environment_and_a_host_name_there_exits_1() {
    let mut cmd = binary::command();
    // (The test command binds with CHURN_HOST, which would win over HOST.)
    cmd.env_remove("CHURN_HOST").env("HOST", "my-laptop");
    let (status, stderr) = run_to_exit(cmd);
    assert_one_error_line(status, &stderr, &["HOST", "IP address"]);
}

// ----------------------------------------------------- runtime failures

#[test]
fn missing_onnx_runtime_library_exits_1_naming_the_library() {
    fails_with(
        &[("ORT_DYLIB_PATH", "/nonexistent")],
        &["ONNX Runtime library not found", "/nonexistent"],
    );
}

#[test]
fn missing_onnx_runtime_library_given_by_flag_exits_1() {
    let mut cmd = binary::command();
    cmd.arg("--ort-dylib-path").arg("/nonexistent/libonnxruntime.so");
    let (status, stderr) = run_to_exit(cmd);
    assert_one_error_line(status, &stderr, &["/nonexistent/libonnxruntime.so"]);
}

#[test]
fn a_file_that_is_not_the_onnx_runtime_library_exits_1() {
    let not_a_library = repo_path("models/churn_pipeline.json");
    let path = not_a_library.to_string_lossy().into_owned();
    fails_with(&[("ORT_DYLIB_PATH", &path)], &["churn_pipeline.json"]);
}

// ------------------------------------------------------ config failures

#[test]
fn threshold_outside_0_to_1_exits_1_naming_the_key() {
    fails_with(&[("CHURN_THRESHOLD", "2")], &["threshold", "2"]);
}

#[test]
fn risk_bands_out_of_order_exit_1_naming_the_key() {
    fails_with(
        &[("CHURN_RISK_MEDIUM", "0.8"), ("CHURN_RISK_HIGH", "0.5")],
        &["risk_high"],
    );
}

#[test]
fn non_numeric_port_exits_1_naming_the_key() {
    fails_with(&[("PORT", "eighty")], &["PORT"]);
}

#[test]
fn zero_max_batch_size_exits_1_naming_the_key() {
    fails_with(&[("CHURN_MAX_BATCH_SIZE", "0")], &["max_batch_size"]);
}

#[test]
fn zero_max_body_bytes_exits_1_naming_the_key() {
    fails_with(&[("CHURN_MAX_BODY_BYTES", "0")], &["max_body_bytes"]);
}

#[test]
fn unknown_log_format_exits_1_naming_the_key() {
    fails_with(&[("LOG_FORMAT", "xml")], &["LOG_FORMAT"]);
}

#[test]
fn invalid_log_level_exits_1_naming_the_key() {
    fails_with(&[("LOG_LEVEL", "info,[[[")], &["log_level"]);
}

#[test]
fn unknown_key_in_the_config_file_exits_1_naming_it() {
    let dir = TempDir::new("unknown-key");
    let config = dir.write("c.toml", "treshold = 0.4\n");
    let mut cmd = binary::command();
    cmd.arg("--config").arg(&config);
    let (status, stderr) = run_to_exit(cmd);
    assert_one_error_line(status, &stderr, &["treshold"]);
}

#[test]
fn malformed_config_file_exits_1() {
    let dir = TempDir::new("malformed");
    let config = dir.write("c.toml", "threshold = = 0.4\n[[[\n");
    let mut cmd = binary::command();
    cmd.arg("--config").arg(&config);
    let (status, stderr) = run_to_exit(cmd);
    assert_one_error_line(status, &stderr, &["invalid configuration"]);
}

#[test]
fn missing_config_file_exits_1_naming_it() {
    let mut cmd = binary::command();
    cmd.arg("--config").arg("/nonexistent/churn.toml");
    let (status, stderr) = run_to_exit(cmd);
    assert_one_error_line(status, &stderr, &["/nonexistent/churn.toml", "does not exist"]);
}

#[test]
fn port_already_in_use_exits_1_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    fails_with(&[("PORT", &port)], &["cannot listen on", &port]);
}

#[test]
fn foreign_platform_variables_do_not_break_startup() {
    let mut cmd = binary::command();
    cmd.env("CHURN_SERVE_PORT", "tcp://10.0.0.1:80")
        .env("CHURN_SERVE_SERVICE_HOST", "10.0.0.1")
        .env("HOST", "my-laptop");
    let server = Process::start(cmd);
    assert_eq!(http(server.port(), "GET", "/health", None).0, 200);
}

// -------------------------------------------------------------- in-process

#[tokio::test]
async fn build_fails_with_a_read_error_for_a_missing_model() {
    let mut settings = test_settings();
    settings.model_path = repo_path("models/nope.onnx");
    let err = try_spawn_app(settings).await.err().expect("build fails");
    assert!(matches!(err, StartupError::Model(ModelError::Source(_))), "{err}");
    assert!(err.to_string().starts_with("cannot read model file"), "{err}");
}

#[tokio::test]
async fn build_fails_with_an_inputs_error_for_the_wrong_inputs_model() {
    let mut settings = test_settings();
    settings.model_path = repo_path(WRONG_INPUTS_MODEL);
    let err = try_spawn_app(settings).await.err().expect("build fails");
    assert!(matches!(err, StartupError::Model(ModelError::Inputs(_))), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
}

#[tokio::test]
async fn build_fails_with_an_invalid_model_error_for_a_corrupt_file() {
    let mut settings = test_settings();
    settings.model_path = repo_path(CORRUPT_MODEL);
    let err = try_spawn_app(settings).await.err().expect("build fails");
    assert!(matches!(err, StartupError::Model(ModelError::Invalid(_))), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
}
